//! `ha-ring`: see `hakit::cli::ring`.

use clap::Parser;
use hakit::cli::{self, ring};

fn main() -> std::process::ExitCode {
    let args = ring::Args::parse();
    cli::run_and_exit("ha-ring", args.json, || ring::run(&args))
}
