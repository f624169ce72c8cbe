//! One module per subcommand; `launch` is the part `create` and `run` share.

pub mod container_wait;
pub mod create;
pub mod delete;
pub mod do_cmd;
pub mod events;
pub mod exec;
pub mod features;
pub mod install;
pub mod kill;
pub mod launch;
pub mod list;
pub mod pause;
pub mod ps;
pub mod run;
pub mod spec;
pub mod start;
pub mod state;
pub mod update;
