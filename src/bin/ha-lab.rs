//! `ha-lab`: see `hakit::cli::lab`.

use clap::Parser;
use hakit::cli::{self, lab};

fn main() -> std::process::ExitCode {
    let args = lab::Args::parse();
    cli::run_and_exit("ha-lab", args.json, || lab::run(&args))
}
