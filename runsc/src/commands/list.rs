//! `runsc list`: the containers under `--root`, as a table, JSON or ids.

use std::io::Write;
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use serde::Serialize;

use crate::cli::{GlobalOpts, ListArgs, ListFormat};
use crate::state::{OciState, Root, StateError};

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    #[serde(flatten)]
    pub state: OciState,
    pub owner: String,
}

pub fn main(global: &GlobalOpts, args: &ListArgs) -> anyhow::Result<i32> {
    let entries = collect(&Root::new(&global.root))?;
    let text = if args.quiet {
        entries.iter().map(|e| format!("{}\n", e.state.id)).collect()
    } else {
        match args.format {
            ListFormat::Table => table(&entries),
            ListFormat::Json => {
                let mut json = serde_json::to_string(&entries).context("encoding the list")?;
                json.push('\n');
                json
            }
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing the list")?;
    Ok(0)
}

/// Every container with a readable state, sorted by id.
pub fn collect(root: &Root) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for id in root.ids()? {
        let dir = match root.open(&id) {
            Ok(dir) => dir,
            Err(StateError::NotExist(_)) => continue, // deleted meanwhile
            Err(e) => return Err(e.into()),
        };
        let state = match dir.load() {
            Ok(state) => state,
            Err(e) => {
                tracing::debug!("skipping {id}: {e}");
                continue;
            }
        };
        let owner = std::fs::metadata(&dir.path)
            .map(|m| owner_name(m.uid()))
            .unwrap_or_default();
        entries.push(Entry {
            state: state.oci(dir.status(&state)),
            owner,
        });
    }
    Ok(entries)
}

fn owner_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("#{uid}"),
    }
}

/// runc's columns, each at least 12 wide with 3 spaces between.
fn table(entries: &[Entry]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for e in entries {
        rows.push([
            e.state.id.clone(),
            e.state.pid.to_string(),
            e.state.status.to_string(),
            e.state.bundle.display().to_string(),
            e.state.created.clone(),
            e.owner.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max((cell.chars().count() + 3).max(12));
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ContainerState, Status};

    fn saved(root: &Root, id: &str, pid: i32, start_time: u64) {
        let dir = root.create(id).unwrap();
        dir.save(&ContainerState {
            id: id.into(),
            bundle: format!("/bundles/{id}").into(),
            rootfs: format!("/bundles/{id}/rootfs").into(),
            pid,
            start_time,
            created: "2026-01-01T00:00:00.000000000Z".into(),
            annotations: Default::default(),
        })
        .unwrap();
    }

    #[test]
    fn lists_states_sorted_and_skips_half_created() {
        let tmp = tempfile::tempdir().unwrap();
        let root = Root::new(tmp.path().join("root"));
        assert!(collect(&root).unwrap().is_empty());

        let me = std::process::id() as i32;
        let start = crate::state::proc_info(me).unwrap().start_time;
        saved(&root, "b-running", me, start);
        saved(&root, "a-stopped", me, start + 1);
        root.create("c-half").unwrap();

        let entries = collect(&root).unwrap();
        let got: Vec<_> = entries
            .iter()
            .map(|e| (e.state.id.as_str(), e.state.status, e.state.pid))
            .collect();
        assert_eq!(
            got,
            [("a-stopped", Status::Stopped, 0), ("b-running", Status::Running, me)]
        );
        assert!(!entries[0].owner.is_empty());

        let json = serde_json::to_value(&entries).unwrap();
        assert_eq!(json[1]["id"], "b-running");
        assert_eq!(json[1]["status"], "running");
        assert!(json[1]["owner"].is_string());
        assert!(json[1]["ociVersion"].is_string());

        let text = table(&entries);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID          PID         STATUS"), "{text}");
        assert!(lines[2].starts_with("b-running   "), "{text}");
        assert!(lines[2].contains("/bundles/b-running"));
    }
}
