//! `ha-crm`: arguments and behaviour.

use clap::{Parser, Subcommand};

use super::crm_simulate::{ExplainArgs, SimulateArgs, run_explain, run_simulate};
use super::{CliResult, not_implemented};

/// Cluster resource manager shell: configuration, status, resources, nodes.
#[derive(Debug, Parser)]
#[command(name = "ha-crm", version, about)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `ha-crm` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what the cluster would do with a CIB: status, transition summary, actions.
    Simulate(SimulateArgs),
    /// Explain where a resource runs (or why it is stopped): every score term per node.
    Explain(ExplainArgs),
}

/// Runs `ha-crm` with parsed arguments.
pub fn run(args: &Args) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    match &args.command {
        Some(Command::Simulate(sim)) => run_simulate(sim, args.json, &mut stdout),
        Some(Command::Explain(explain)) => run_explain(explain, args.json, &mut stdout),
        None => Err(not_implemented("ha-crm")),
    }
}
