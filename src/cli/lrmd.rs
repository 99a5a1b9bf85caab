//! `ha-lrmd`: arguments and behaviour.

use clap::Parser;

use super::{CliResult, not_implemented};

/// Local resource-agent executor: OCF, LSB, systemd and built-in agents.
#[derive(Debug, Parser)]
#[command(name = "ha-lrmd", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs `ha-lrmd` with parsed arguments.
pub fn run(_args: &Args) -> CliResult {
    Err(not_implemented("ha-lrmd"))
}
