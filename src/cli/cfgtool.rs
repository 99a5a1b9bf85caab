//! `ha-cfgtool`: arguments and behaviour.

use clap::Parser;

use super::{CliResult, not_implemented};

/// Ring status, members, quorum and cluster configuration checks.
#[derive(Debug, Parser)]
#[command(name = "ha-cfgtool", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs `ha-cfgtool` with parsed arguments.
pub fn run(_args: &Args) -> CliResult {
    Err(not_implemented("ha-cfgtool"))
}
