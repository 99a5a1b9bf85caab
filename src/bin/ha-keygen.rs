//! `ha-keygen`: see `hakit::cli::keygen`.

use clap::Parser;
use hakit::cli::{self, keygen};

fn main() -> std::process::ExitCode {
    let args = keygen::Args::parse();
    cli::run_and_exit("ha-keygen", args.json, || keygen::run(&args))
}
