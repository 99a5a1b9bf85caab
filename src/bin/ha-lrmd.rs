//! `ha-lrmd`: see `hakit::cli::lrmd`.

use clap::Parser;
use hakit::cli::{self, lrmd};

fn main() -> std::process::ExitCode {
    let args = lrmd::Args::parse();
    cli::run_and_exit("ha-lrmd", args.json, || lrmd::run(&args))
}
