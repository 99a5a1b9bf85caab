//! `ha-keygen`: arguments and behaviour.

use clap::Parser;

use super::{CliResult, not_implemented};

/// Generate, import, export and fingerprint the cluster authkey.
#[derive(Debug, Parser)]
#[command(name = "ha-keygen", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Runs `ha-keygen` with parsed arguments.
pub fn run(_args: &Args) -> CliResult {
    Err(not_implemented("ha-keygen"))
}
