//! `ha-crm`: see `hakit::cli::crm`.

use clap::Parser;
use hakit::cli::{self, crm};

fn main() -> std::process::ExitCode {
    let args = crm::Args::parse();
    cli::run_and_exit("ha-crm", args.wants_json(), || crm::run(&args))
}
