//! `runsc state`: print a container's OCI state as JSON.

use std::io::Write;

use anyhow::Context;

use crate::cli::{GlobalOpts, IdArgs};
use crate::state::Root;

pub fn main(global: &GlobalOpts, args: &IdArgs) -> anyhow::Result<i32> {
    let dir = Root::new(&global.root).open(&args.id)?;
    let state = dir.load()?;
    let oci = state.oci(dir.status(&state));
    let mut json = serde_json::to_string_pretty(&oci).context("encoding the state")?;
    json.push('\n');
    std::io::stdout()
        .lock()
        .write_all(json.as_bytes())
        .context("writing the state")?;
    Ok(0)
}
