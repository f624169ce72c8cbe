//! `docs/compatibility.md`, generated from the syscall table.

use super::{Support, NAMES, TABLE};
use std::fmt::Write;

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
    let _ = writeln!(out, "| nr | syscall | support | notes |\n|---:|---|---|---|");
    out.push_str(&rows);
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
