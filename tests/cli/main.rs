//! Command-line behaviour of every hakit binary through the real executables: flags, text
//! and JSON output, stderr lines and exit codes.

mod cfgtool;
mod keygen;

use assert_cmd::Command;

/// Every binary target, as built by cargo for this test.
pub(crate) const BINARIES: &[(&str, &str)] = &[
    ("ha-keygen", env!("CARGO_BIN_EXE_ha-keygen")),
    ("ha-ring", env!("CARGO_BIN_EXE_ha-ring")),
    ("ha-cfgtool", env!("CARGO_BIN_EXE_ha-cfgtool")),
    ("ha-crm", env!("CARGO_BIN_EXE_ha-crm")),
    ("ha-lrmd", env!("CARGO_BIN_EXE_ha-lrmd")),
];

/// A command for binary `name` with the `HA_*` variables cleared, so the caller's
/// environment never leaks into a test.
pub(crate) fn cmd(name: &str) -> Command {
    let path = BINARIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("no binary {name}"));
    let mut cmd = Command::new(path);
    for var in ["HA_CONF_DIR", "HA_STATE_DIR", "HA_RUN_DIR", "HA_NODE_ID"] {
        cmd.env_remove(var);
    }
    cmd
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
    for (name, _) in BINARIES {
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
    for (name, _) in BINARIES {
        cmd(name)
            .arg("--no-such-flag")
            .assert()
            .code(2)
            .stderr(predicates::str::contains("--no-such-flag"));
    }
}
