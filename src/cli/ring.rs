//! `ha-ring`: arguments and behaviour.

use clap::Parser;

use super::{CliResult, not_implemented};

/// Cluster membership, ordered messaging and quorum daemon.
#[derive(Debug, Parser)]
#[command(name = "ha-ring", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs `ha-ring` with parsed arguments.
pub fn run(_args: &Args) -> CliResult {
    Err(not_implemented("ha-ring"))
}
