//! Command-line behaviour of every hakit binary through the real executables: flags, text
//! and JSON output, stderr lines and exit codes.

mod cfgtool;
mod crm;
mod golden;
mod keygen;

use assert_cmd::Command;

/// The built executable of binary target `name`. Cargo builds every binary of the package
/// before integration tests, all into one directory.
pub(crate) fn bin_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_BIN_EXE_ha-keygen")).with_file_name(name)
}

/// A command for binary `name` with the `HA_*` variables cleared, so the caller's
/// environment never leaks into a test.
pub(crate) fn cmd(name: &str) -> Command {
    let mut cmd = Command::new(bin_path(name));
    for var in ["HA_CONF_DIR", "HA_STATE_DIR", "HA_RUN_DIR", "HA_NODE_ID"] {
        cmd.env_remove(var);
    }
    // Agents' meta-data cache: the tests' own, not the user's.
    cmd.env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    cmd
}

/// Every binary, from the library's one list.
fn binaries() -> Vec<&'static str> {
    hakit::cli::all_commands()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Parses stdout as exactly one JSON document.
pub(crate) fn json_of(output: &[u8]) -> serde_json::Value {
    let text = std::str::from_utf8(output).expect("stdout is UTF-8");
    assert_eq!(text.lines().count(), 1, "one JSON line expected: {text:?}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON {text:?}: {e}"))
}

pub(crate) fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn every_binary_has_help_and_version() {
    for name in binaries() {
        let out = cmd(name).arg("--help").assert().success();
        let help = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        assert!(help.contains("Usage:"), "{name} --help: {help}");
        cmd(name)
            .arg("--version")
            .assert()
            .success()
            .stdout(format!("{name} {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn every_binary_rejects_unknown_flags_with_exit_2() {
    for name in binaries() {
        cmd(name)
            .arg("--no-such-flag")
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--no-such-flag"));
    }
}
