//! Golden outputs of representative commands: exit status, stdout and stderr, with the
//! temp directory shown as `[TMP]`. `HAKIT_UPDATE=1 cargo test --test cli golden` rewrites
//! the expectations in tests/cli/golden/; review the diff like code.

use std::path::{Path, PathBuf};

use crate::cmd;

struct Case {
    name: &'static str,
    binary: &'static str,
    args: &'static [&'static str],
    stdin: Vec<u8>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// 256 bytes that are the same on every run, so their fingerprint is too.
fn fixed_key() -> Vec<u8> {
    (0..=255u8).collect()
}

fn cases() -> Vec<Case> {
    let case = |name, binary, args| Case {
        name,
        binary,
        args,
        stdin: Vec::new(),
    };
    vec![
        case(
            "cfgtool-show-example",
            "ha-cfgtool",
            &[
                "config",
                "show",
                "examples/ha.conf.example",
                "--node-id",
                "1",
            ],
        ),
        case(
            "cfgtool-show-example-json",
            "ha-cfgtool",
            &[
                "--json",
                "config",
                "show",
                "examples/ha.conf.example",
                "--node-id",
                "1",
            ],
        ),
        case(
            "cfgtool-check-guide",
            "ha-cfgtool",
            &[
                "config",
                "check",
                "tests/fixtures/conf/guide-corosync1.conf",
            ],
        ),
        case(
            "cfgtool-check-debian-json",
            "ha-cfgtool",
            &[
                "config",
                "check",
                "--json",
                "tests/fixtures/conf/debian-corosync3.conf",
            ],
        ),
        case(
            "cfgtool-check-missing-default",
            "ha-cfgtool",
            &["config", "check"],
        ),
        Case {
            name: "keygen-fingerprint-stdin",
            binary: "ha-keygen",
            args: &["--fingerprint", "-k", "-", "--json"],
            stdin: fixed_key(),
        },
        Case {
            name: "keygen-import-then-refuse",
            binary: "ha-keygen",
            args: &["--import"],
            stdin: fixed_key(),
        },
    ]
}

fn render(case: &Case, conf_dir: &Path) -> String {
    let out = cmd(case.binary)
        .current_dir(root())
        .env("HA_CONF_DIR", conf_dir)
        .args(case.args)
        .write_stdin(case.stdin.clone())
        .output()
        .unwrap();
    let mut text = format!(
        "$ {} {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        case.binary,
        case.args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text = text.replace(&conf_dir.display().to_string(), "[TMP]");
    text
}

#[test]
fn golden_outputs_match() {
    let update = std::env::var_os("HAKIT_UPDATE").is_some_and(|v| v == "1");
    let mut differing = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        let mut actual = render(&case, dir.path());
        if case.name == "keygen-import-then-refuse" {
            // The second import finds the first one's key.
            actual.push_str(&render(&case, dir.path()));
        }
        let path = root()
            .join("tests/cli/golden")
            .join(format!("{}.txt", case.name));
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected == actual {
            continue;
        }
        if update {
            std::fs::write(&path, &actual).unwrap();
        } else {
            eprintln!("--- {} expected\n{expected}--- actual\n{actual}", case.name);
            differing.push(case.name);
        }
    }
    assert!(
        differing.is_empty(),
        "golden outputs differ: {differing:?}; review, then HAKIT_UPDATE=1 cargo test --test cli golden"
    );
}
