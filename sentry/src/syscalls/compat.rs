//! `docs/compatibility.md`, generated from the syscall table and from the
//! conformance suite's sources (cases per family, expected failures per
//! platform).

use super::{Support, NAMES, TABLE};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The platforms whose expected-failure lists the suite section reports.
const PLATFORMS: &[&str] = &["ptrace", "systrap"];

/// Case names per test file (family) of the suite in `dir`: every
/// `CASE(name)` at the start of a line of `dir/*.c`.
fn suite_cases(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut families = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return families;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "c") {
            continue;
        }
        let (Some(stem), Ok(text)) = (path.file_stem(), std::fs::read_to_string(&path)) else {
            continue;
        };
        let cases = text
            .lines()
            .filter_map(|l| l.strip_prefix("CASE(")?.split(')').next())
            .map(str::to_string)
            .collect();
        families.insert(stem.to_string_lossy().into_owned(), cases);
    }
    families
}

/// `FILE:CASE` entries of an expected-failure list.
fn expected_failures(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The suite section: per family, how many cases pass on each platform.
/// CI runs the suite and fails on any case that does not behave as its
/// list says, so these counts are what the runs show.
fn suite_markdown(dir: &Path) -> String {
    let families = suite_cases(dir);
    let lists: Vec<(&str, Vec<String>)> = PLATFORMS
        .iter()
        .map(|p| (*p, dir.join(format!("xfail/runsc-{p}.txt"))))
        .filter(|(_, path)| path.exists())
        .map(|(p, path)| (p, expected_failures(&path)))
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## Conformance suite pass rate
"
    );
    let _ = writeln!(
        out,
        "Cases of `tests/syscalls/` per family (test file) that pass under runsc, from the\n\
         suite's sources and its expected-failure lists (`tests/syscalls/xfail/`). Every case\n\
         passes natively; CI runs the suite on each platform and fails on any unexpected result.\n"
    );
    let mut header = String::from("| family | cases |");
    let mut rule = String::from("|---|---:|");
    for (p, _) in &lists {
        let _ = write!(header, " {p} passing | {p} rate |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(
        out,
        "{header}
{rule}"
    );
    let mut totals = vec![0usize; lists.len()];
    let mut all = 0;
    for (family, cases) in &families {
        all += cases.len();
        let mut row = format!("| {family} | {} |", cases.len());
        for (i, (_, xfail)) in lists.iter().enumerate() {
            let failing = cases
                .iter()
                .filter(|c| xfail.contains(&format!("{family}:{c}")))
                .count();
            let passing = cases.len() - failing;
            totals[i] += passing;
            let _ = write!(row, " {passing} | {} |", percent(passing, cases.len()));
        }
        let _ = writeln!(out, "{row}");
    }
    let mut row = format!("| **all {} families** | **{all}** |", families.len());
    for t in &totals {
        let _ = write!(row, " **{t}** | **{}** |", percent(*t, all));
    }
    let _ = writeln!(out, "{row}");
    out
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "n/a".into();
    }
    format!("{:.0}%", part as f64 * 100.0 / whole as f64)
}

/// The compatibility table as Markdown.
pub fn compatibility_markdown() -> String {
    let implemented = |nr: u64| TABLE.iter().find(|e| e.nr == nr);
    let (mut full, mut partial, mut missing) = (0, 0, 0);
    let mut rows = String::new();
    for &(nr, name) in NAMES {
        let (level, note) = match implemented(nr).map(|e| e.support) {
            Some(Support::Full) => {
                full += 1;
                ("full", "")
            }
            Some(Support::Partial(note)) => {
                partial += 1;
                ("partial", note)
            }
            None => {
                missing += 1;
                ("missing", "ENOSYS")
            }
        };
        let _ = writeln!(rows, "| {nr} | {name} | {level} | {note} |");
    }
    let mut out = String::new();
    let _ = writeln!(out, "# Syscall compatibility (x86-64)\n");
    let _ = writeln!(
        out,
        "Generated from the Sentry's syscall table (`sentry/src/syscalls/table.rs`) by\n\
         `RUNSC_UPDATE_DOCS=1 cargo test -p sentry compatibility_doc`; a test fails when this file is stale.\n\
         A missing syscall returns ENOSYS and is logged once with its name.\n"
    );
    let _ = writeln!(
        out,
        "Totals: {full} full, {partial} partial, {missing} missing, of {} syscalls.\n",
        NAMES.len()
    );
    let _ = writeln!(
        out,
        "The pass rate of the conformance suite per family follows the table.\n"
    );
    let _ = writeln!(out, "| nr | syscall | support | notes |\n|---:|---|---|---|");
    out.push_str(&rows);
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/syscalls");
    let _ = writeln!(out);
    out.push_str(&suite_markdown(&suite));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_has_a_known_name_and_number() {
        for e in TABLE {
            assert_eq!(
                super::super::name_of(e.nr),
                Some(e.name),
                "syscall {} named {}",
                e.nr,
                e.name
            );
            assert!(e.args.len() <= 6, "{} has too many argument kinds", e.name);
        }
        let mut nrs: Vec<u64> = TABLE.iter().map(|e| e.nr).collect();
        nrs.sort_unstable();
        nrs.dedup();
        assert_eq!(nrs.len(), TABLE.len(), "a syscall is listed twice");
    }

    #[test]
    fn compatibility_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/compatibility.md");
        let generated = compatibility_markdown();
        if std::env::var_os("RUNSC_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &generated).expect("write docs/compatibility.md");
            return;
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == generated,
            "docs/compatibility.md is stale: run RUNSC_UPDATE_DOCS=1 cargo test -p sentry compatibility_doc"
        );
    }
}
