//! `ha-crm`: arguments and behaviour.

use clap::Parser;

use super::{CliResult, not_implemented};

/// Cluster resource manager shell: configuration, status, resources, nodes.
#[derive(Debug, Parser)]
#[command(name = "ha-crm", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs `ha-crm` with parsed arguments.
pub fn run(_args: &Args) -> CliResult {
    Err(not_implemented("ha-crm"))
}
