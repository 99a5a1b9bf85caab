//! `ha-cfgtool`: see `hakit::cli::cfgtool`.

use clap::Parser;
use hakit::cli::{self, cfgtool};

fn main() -> std::process::ExitCode {
    let args = cfgtool::Args::parse();
    cli::run_and_exit("ha-cfgtool", args.json, || cfgtool::run(&args))
}
