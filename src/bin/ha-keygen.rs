//! `ha-keygen`: see `hakit::cli::keygen`.

use clap::Parser;
use hakit::cli::{self, keygen};
use hakit::paths::Paths;

fn main() -> std::process::ExitCode {
    let args = keygen::Args::parse();
    let paths = Paths::from_env();
    cli::run_and_exit("ha-keygen", args.json, || {
        keygen::run(
            &args,
            &paths,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
        )
    })
}
