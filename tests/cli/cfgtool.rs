//! `ha-cfgtool config`: check, show, export and import through the real binary.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use predicates::str::contains;

use crate::{cmd, json_of};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn cfgtool(conf_dir: &Path) -> assert_cmd::Command {
    let mut c = cmd("ha-cfgtool");
    c.env("HA_CONF_DIR", conf_dir);
    c
}

/// A configuration directory holding the shipped example and a fresh key.
fn node_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        fixture("examples/ha.conf.example"),
        dir.path().join("ha.conf"),
    )
    .unwrap();
    cmd("ha-keygen")
        .env("HA_CONF_DIR", dir.path())
        .assert()
        .success();
    dir
}

#[test]
fn check_accepts_the_guide_file_and_prints_its_warnings() {
    let file = fixture("tests/fixtures/conf/guide-corosync1.conf");
    cfgtool(Path::new("/nonexistent"))
        .args(["config", "check"])
        .arg(&file)
        .assert()
        .success()
        .stdout(format!(
            "{}: ok (0 nodes, transport udp, 7 warnings)\n",
            file.display()
        ))
        .stderr(contains(format!(
            "ha-cfgtool: warning: {}:8:2: totem.threads: accepted, not used by hakit\n",
            file.display()
        )));
}

#[test]
fn check_reads_the_conf_dir_by_default_and_reports_json() {
    let dir = node_dir();
    let out = cfgtool(dir.path())
        .args(["--json", "config", "check"])
        .assert()
        .success();
    let report = json_of(&out.get_output().stdout);
    assert_eq!(report["ok"], true);
    assert_eq!(report["data"]["nodes"], 2);
    assert_eq!(report["data"]["transport"], "udpu");
    assert_eq!(report["data"]["warnings"], serde_json::json!([]));
    assert_eq!(
        report["data"]["file"],
        dir.path().join("ha.conf").display().to_string()
    );
}

#[test]
fn check_prints_every_error_with_file_line_column_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.conf");
    fs::write(
        &file,
        "totem {\n  token: soon\n}\nnodelist {\n  node {\n    ring0_addr: 10.0.0.1\n  }\n  \
         node {\n    ring0_addr: 10.0.0.1\n  }\n}\n",
    )
    .unwrap();
    let f = file.display();
    cfgtool(dir.path())
        .args(["config", "check"])
        .arg(&file)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "ha-cfgtool: error: {f}:2:10: totem.token: expected an integer from 50 to 600000, \
             got \"soon\"\n\
             ha-cfgtool: error: {f}:9:17: nodelist.node.ring0_addr: address 10.0.0.1 given \
             twice (first at line 6)\n"
        ));
    let out = cfgtool(dir.path())
        .args(["config", "check", "--json"])
        .arg(&file)
        .assert()
        .code(1);
    let envelope = json_of(&out.get_output().stdout);
    assert_eq!(envelope["ok"], false);
    assert_eq!(envelope["error"]["kind"], "failed");
    let message = envelope["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{f}:2:10: totem.token:")),
        "{message}"
    );
    assert!(message.ends_with("(and 1 more errors)"), "{message}");
}

#[test]
fn check_of_a_missing_file_fails_naming_it() {
    cfgtool(Path::new("/nonexistent-ha"))
        .args(["config", "check"])
        .assert()
        .code(1)
        .stderr(
            "ha-cfgtool: error: cannot read /nonexistent-ha/ha.conf: No such file or directory \
             (os error 2)\n",
        );
}

#[test]
fn show_json_has_every_default_and_the_local_node() {
    let dir = node_dir();
    let out = cfgtool(dir.path())
        .args(["config", "show", "--json", "--node-id", "2"])
        .assert()
        .success();
    let data = &json_of(&out.get_output().stdout)["data"];
    let totem = &data["config"]["totem"];
    assert_eq!(totem["token_ms"], 1000);
    assert_eq!(totem["consensus_ms"], 1200);
    assert_eq!(totem["join_ms"], 50);
    assert_eq!(totem["token_retransmits_before_loss_const"], 4);
    assert_eq!(totem["cluster_name"], "demo");
    assert_eq!(totem["interfaces"][0]["mcastport"], 5405);
    assert_eq!(data["encryption"], "aes256");
    assert_eq!(data["expected_votes"], 2);
    assert_eq!(data["config"]["quorum"]["wait_for_all"], true);
    assert_eq!(
        data["local_node"],
        serde_json::json!({"nodeid": 2, "name": "node2", "address": "192.168.2.102"})
    );
    assert_eq!(data["local_node_error"], serde_json::Value::Null);

    // HA_NODE_ID does the same as --node-id; an unknown id is reported, not fatal.
    let out = cfgtool(dir.path())
        .env("HA_NODE_ID", "7")
        .args(["config", "show", "--json"])
        .assert()
        .success();
    let data = &json_of(&out.get_output().stdout)["data"];
    assert_eq!(data["local_node"], serde_json::Value::Null);
    assert_eq!(data["local_node_error"], "node id 7 is not in the nodelist");
}

#[test]
fn show_text_is_a_valid_configuration() {
    let dir = node_dir();
    let out = cfgtool(dir.path())
        .args(["config", "show", "--node-id", "1"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("# local node: 1 (node1, 192.168.2.101)"),
        "{text}"
    );
    let rendered = dir.path().join("rendered.conf");
    fs::write(&rendered, &text).unwrap();
    cfgtool(dir.path())
        .args(["config", "check"])
        .arg(&rendered)
        .assert()
        .success()
        .stdout(contains("ok (2 nodes, transport udpu, 0 warnings)"));
}

#[test]
fn export_with_key_then_import_installs_both_on_a_new_node() {
    let node1 = node_dir();
    let bundle = cfgtool(node1.path())
        .args(["config", "export", "--with-key"])
        .output()
        .unwrap();
    assert!(bundle.status.success());
    let parsed = json_of(&bundle.stdout);
    assert_eq!(parsed["format"], "hakit-config-bundle");

    let root = tempfile::tempdir().unwrap();
    let node2 = root.path().join("etc-ha"); // created by import
    let out = cfgtool(&node2)
        .args(["config", "import", "--json"])
        .write_stdin(bundle.stdout.clone())
        .assert()
        .success();
    let report = json_of(&out.get_output().stdout)["data"].clone();
    assert_eq!(report["config"], "installed");
    assert_eq!(report["key"], "installed");
    assert_eq!(report["backup"], serde_json::Value::Null);
    assert_eq!(
        fs::read(node2.join("ha.conf")).unwrap(),
        fs::read(node1.path().join("ha.conf")).unwrap()
    );
    assert_eq!(
        fs::read(node2.join("authkey")).unwrap(),
        fs::read(node1.path().join("authkey")).unwrap()
    );
    let mode = fs::metadata(node2.join("authkey"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o400);

    // Importing the same bundle again changes nothing.
    cfgtool(&node2)
        .args(["config", "import"])
        .write_stdin(bundle.stdout)
        .assert()
        .success()
        .stdout(contains("unchanged"));
    assert!(!node2.join("ha.conf.bak").exists());
}

#[test]
fn import_keeps_a_backup_of_the_replaced_config() {
    let node1 = node_dir();
    let bundle = cfgtool(node1.path())
        .args(["config", "export"])
        .output()
        .unwrap();
    let node2 = tempfile::tempdir().unwrap();
    let old = fs::read_to_string(fixture("tests/fixtures/conf/debian-corosync3.conf")).unwrap();
    fs::write(node2.path().join("ha.conf"), &old).unwrap();
    cfgtool(node2.path())
        .args(["config", "import"])
        .write_stdin(bundle.stdout)
        .assert()
        .success()
        .stdout(contains("previous saved as"))
        .stdout(contains("no authkey in the bundle"));
    assert_eq!(
        fs::read_to_string(node2.path().join("ha.conf.bak")).unwrap(),
        old
    );
    assert!(!node2.path().join("authkey").exists());
}

#[test]
fn import_refuses_a_different_key_without_force_and_changes_nothing() {
    let node1 = node_dir();
    let node2 = node_dir();
    let before_conf = fs::read(node2.path().join("ha.conf")).unwrap();
    let before_key = fs::read(node2.path().join("authkey")).unwrap();
    // Make node1's config differ so a wrongly applied import would show.
    let conf1 = node1.path().join("ha.conf");
    let changed = fs::read_to_string(&conf1)
        .unwrap()
        .replace("cluster_name: demo", "cluster_name: other");
    fs::write(&conf1, changed).unwrap();
    let bundle = cfgtool(node1.path())
        .args(["config", "export", "--with-key"])
        .output()
        .unwrap();
    cfgtool(node2.path())
        .args(["config", "import"])
        .write_stdin(bundle.stdout.clone())
        .assert()
        .code(1)
        .stderr(contains("differs from the bundle's key; nothing installed"))
        .stderr(contains("hint: use --force"));
    assert_eq!(fs::read(node2.path().join("ha.conf")).unwrap(), before_conf);
    assert_eq!(fs::read(node2.path().join("authkey")).unwrap(), before_key);

    cfgtool(node2.path())
        .args(["config", "import", "--force"])
        .write_stdin(bundle.stdout)
        .assert()
        .success();
    assert_eq!(
        fs::read(node2.path().join("authkey")).unwrap(),
        fs::read(node1.path().join("authkey")).unwrap()
    );
    assert!(
        fs::read_to_string(node2.path().join("ha.conf"))
            .unwrap()
            .contains("cluster_name: other")
    );
}

#[test]
fn import_rejects_garbage_tampering_and_invalid_configs() {
    let node1 = node_dir();
    let bundle = cfgtool(node1.path())
        .args(["config", "export", "--with-key"])
        .output()
        .unwrap();
    let good: serde_json::Value = serde_json::from_slice(&bundle.stdout).unwrap();

    let mut tampered = good.clone();
    tampered["config"] = "totem {\n}\n".into();
    let mut invalid = good.clone();
    let bad_text = good["config"]
        .as_str()
        .unwrap()
        .replace("token: 1000", "token: 1");
    invalid["config"] = bad_text.clone().into();
    invalid["config_sha256"] = hakit::conf::authkey::hex(&{
        use sha2::Digest;
        sha2::Sha256::digest(bad_text.as_bytes())
    })
    .into();
    let mut short_key = good.clone();
    short_key["authkey_hex"] = "00ff".into();

    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("garbage", b"hello".to_vec(), "not a configuration bundle"),
        (
            "tampered",
            tampered.to_string().into_bytes(),
            "does not match its checksum",
        ),
        (
            "invalid",
            invalid.to_string().into_bytes(),
            "totem.token: expected an integer from 50",
        ),
        (
            "short key",
            short_key.to_string().into_bytes(),
            "key is 2 bytes",
        ),
    ];
    for (what, input, message) in cases {
        let node2 = tempfile::tempdir().unwrap();
        cfgtool(node2.path())
            .args(["config", "import"])
            .write_stdin(input)
            .assert()
            .code(1)
            .stderr(contains(message));
        assert_eq!(
            fs::read_dir(node2.path()).unwrap().count(),
            0,
            "{what}: something was installed"
        );
    }
}

#[test]
fn export_refuses_an_invalid_config_or_a_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("ha.conf"), "totem {\n").unwrap();
    cfgtool(dir.path())
        .args(["config", "export"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("ha.conf:1:1: totem: section is not closed"));
    fs::copy(
        fixture("examples/ha.conf.example"),
        dir.path().join("ha.conf"),
    )
    .unwrap();
    cfgtool(dir.path())
        .args(["config", "export", "--with-key"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(contains("cannot read key"));
}

#[test]
fn sync_without_a_running_ring_exits_3_and_with_a_broken_config_exits_1() {
    let dir = node_dir();
    let run = tempfile::tempdir().unwrap();
    cfgtool(dir.path())
        .env("HA_RUN_DIR", run.path())
        .args(["sync", "--json"])
        .assert()
        .code(3)
        .stdout(contains("\"kind\":\"unreachable\""))
        .stderr(contains("ha-cfgtool: error: cannot reach ha-ring"));
    // A broken file is refused before anything is sent, naming its line.
    fs::write(dir.path().join("ha.conf"), "totem {\n    token: soon\n}\n").unwrap();
    cfgtool(dir.path())
        .env("HA_RUN_DIR", run.path())
        .arg("sync")
        .assert()
        .code(1)
        .stderr(contains("ha.conf:2"));
}
