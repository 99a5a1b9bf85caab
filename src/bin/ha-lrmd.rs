//! `ha-lrmd`: see `hakit::cli::lrmd`.

use std::process::ExitCode;

use clap::Parser;
use hakit::cli::{self, lrmd};

fn main() -> ExitCode {
    let args = lrmd::Args::parse();
    let mut verdict = lrmd::Verdict::Success;
    let code = cli::run_and_exit("ha-lrmd", args.json, || {
        verdict = lrmd::run(&args)?;
        Ok(())
    });
    match verdict {
        // The result (with the failure) is already printed; only the status remains.
        lrmd::Verdict::Failed if code == ExitCode::SUCCESS => ExitCode::from(1),
        lrmd::Verdict::Failed | lrmd::Verdict::Success => code,
    }
}
