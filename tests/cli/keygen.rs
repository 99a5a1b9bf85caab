//! `ha-keygen`: modes, atomicity, refusal, import/export, fingerprints, sizes, bad paths.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use predicates::str::contains;

use crate::{cmd, is_root, json_of};

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn keygen(conf_dir: &Path) -> assert_cmd::Command {
    let mut c = cmd("ha-keygen");
    c.env("HA_CONF_DIR", conf_dir);
    c
}

#[test]
fn default_key_is_256_random_bytes_mode_0400_in_the_conf_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = keygen(dir.path()).assert().success();
    let key = dir.path().join("authkey");
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.starts_with(&format!("wrote {} (256 bytes, SHA256:", key.display())));
    let bytes = fs::read(&key).unwrap();
    assert_eq!(bytes.len(), 256);
    assert_eq!(mode_of(&key), 0o400);
    assert!(bytes.iter().any(|&b| b != bytes[0]), "key is not constant");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp files left"
    );
}

#[test]
fn sizes_at_the_limits_work_and_outside_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for size in [128usize, 4096] {
        let path = dir.path().join(format!("k{size}"));
        keygen(dir.path())
            .args(["--size", &size.to_string(), "-k"])
            .arg(&path)
            .assert()
            .success();
        assert_eq!(fs::read(&path).unwrap().len(), size);
    }
    for bad in ["127", "4097", "0", "big", "-5"] {
        keygen(dir.path())
            .arg(format!("--size={bad}"))
            .assert()
            .code(2)
            .stderr(contains("--size"));
    }
    assert!(!dir.path().join("authkey").exists());
}

#[test]
fn existing_key_is_kept_without_force_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authkey");
    keygen(dir.path()).assert().success();
    let first = fs::read(&key).unwrap();
    keygen(dir.path()).assert().code(1).stderr(format!(
        "ha-keygen: error: key file {} already exists; not replaced\n\
             ha-keygen: hint: use --force to replace it (every node needs the same key)\n",
        key.display()
    ));
    assert_eq!(
        fs::read(&key).unwrap(),
        first,
        "refused run left the key as it was"
    );
    keygen(dir.path()).arg("--force").assert().success();
    assert_ne!(fs::read(&key).unwrap(), first);
    assert_eq!(mode_of(&key), 0o400);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn export_to_stdout_then_import_gives_the_same_key_and_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let raw = keygen(dir.path()).args(["-k", "-"]).output().unwrap();
    assert!(raw.status.success());
    assert_eq!(raw.stdout.len(), 256);
    assert!(!dir.path().join("authkey").exists(), "-k - writes no file");

    let node2 = tempfile::tempdir().unwrap();
    let out = keygen(node2.path())
        .args(["--import", "--json"])
        .write_stdin(raw.stdout.clone())
        .assert()
        .success();
    let report = json_of(&out.get_output().stdout);
    assert_eq!(report["ok"], true);
    assert_eq!(report["data"]["bytes"], 256);
    let installed = node2.path().join("authkey");
    assert_eq!(report["data"]["path"], installed.display().to_string());
    assert_eq!(fs::read(&installed).unwrap(), raw.stdout);
    assert_eq!(mode_of(&installed), 0o400);

    // The same bytes give the same fingerprint, from the file and from stdin.
    let from_file = keygen(node2.path()).arg("--fingerprint").output().unwrap();
    let from_stdin = keygen(node2.path())
        .args(["--fingerprint", "-k", "-"])
        .write_stdin(raw.stdout)
        .output()
        .unwrap();
    assert_eq!(from_file.stdout, from_stdin.stdout);
    let fingerprint = String::from_utf8(from_file.stdout).unwrap();
    assert_eq!(fingerprint.trim_end(), report["data"]["fingerprint"]);
    assert!(fingerprint.starts_with("SHA256:") && fingerprint.trim_end().len() == 7 + 64);
}

#[test]
fn different_keys_have_different_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    let print = |name: &str| {
        let path = dir.path().join(name);
        keygen(dir.path()).arg("-k").arg(&path).assert().success();
        let out = keygen(dir.path())
            .args(["--json", "--fingerprint", "-k"])
            .arg(&path)
            .output()
            .unwrap();
        json_of(&out.stdout)["data"]["fingerprint"].clone()
    };
    assert_ne!(print("a"), print("b"));
}

#[test]
fn import_refuses_bad_sizes_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for size in [0usize, 127, 4097] {
        keygen(dir.path())
            .arg("--import")
            .write_stdin(vec![1u8; size])
            .assert()
            .code(1)
            .stderr(contains(format!(
                "key is {size} bytes; expected 128 to 4096"
            )));
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn fingerprint_refuses_a_key_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authkey");
    fs::write(&key, [9u8; 256]).unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    keygen(dir.path())
        .arg("--fingerprint")
        .assert()
        .code(1)
        .stderr(contains("has mode 0644; expected no group or other access"));
}

#[test]
fn missing_directory_fails_with_a_hint_and_json_envelope() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("missing/authkey");
    let out = keygen(dir.path())
        .arg("--json")
        .arg("-k")
        .arg(&target)
        .assert()
        .code(1)
        .stderr(contains(format!(
            "ha-keygen: error: cannot write key {}",
            target.display()
        )))
        .stderr(contains("ha-keygen: hint: create the directory"));
    let envelope = json_of(&out.get_output().stdout);
    assert_eq!(envelope["ok"], false);
    assert_eq!(envelope["error"]["kind"], "failed");
    assert!(!target.exists());
}

#[test]
fn unwritable_directory_fails_and_leaves_nothing() {
    if !is_root() {
        eprintln!("skipped: needs root to run ha-keygen as nobody");
        return;
    }
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ha-keygen"))
        .env("HA_CONF_DIR", dir.path())
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn json_with_raw_stdout_key_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path())
        .args(["-k", "-", "--json"])
        .assert()
        .code(2)
        .stdout(contains("\"kind\":\"usage\""));
}

/// A key under its final name is complete and private whenever the writer dies: kill
/// ha-keygen at many points during a 4096-byte write and check what is left each time.
#[test]
fn killed_midway_never_leaves_a_partial_or_readable_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("authkey");
    for round in 0..40u64 {
        let _ = fs::remove_file(&key);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ha-keygen"))
            .env("HA_CONF_DIR", dir.path())
            .args(["--size", "4096"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kill over the process's whole life (start-up takes ~1 ms).
        std::thread::sleep(Duration::from_micros(round * 50));
        let _ = child.kill();
        child.wait().unwrap();
        for entry in fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(
                mode_of(&path),
                0o400,
                "{} readable by others",
                path.display()
            );
            if path == key {
                assert_eq!(
                    fs::read(&key).unwrap().len(),
                    4096,
                    "partial key in round {round}"
                );
            } else {
                // A temp file from the killed run; a later run does not trip over it.
                fs::remove_file(&path).unwrap();
            }
        }
    }
}
