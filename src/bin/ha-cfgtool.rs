//! `ha-cfgtool`: see `hakit::cli::cfgtool`.

use clap::Parser;
use hakit::cli::{self, cfgtool};
use hakit::paths::Paths;

fn main() -> std::process::ExitCode {
    let args = cfgtool::Args::parse();
    let paths = Paths::from_env();
    cli::run_and_exit("ha-cfgtool", args.json, || {
        let mut io = cfgtool::Stdio {
            stdin: &mut std::io::stdin().lock(),
            stdout: &mut std::io::stdout().lock(),
            stderr: &mut std::io::stderr().lock(),
        };
        cfgtool::run(&args, &paths, &mut io)
    })
}
