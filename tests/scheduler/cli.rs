//! `ha-crm simulate` and `ha-crm explain` through the real binary: output, JSON envelope,
//! what-if flags, and the error line and exit code for bad input.

use std::path::PathBuf;

use assert_cmd::Command;

fn case(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scheduler/cases")
        .join(name)
        .join("cib.xml")
}

fn crm() -> Command {
    Command::cargo_bin("ha-crm").expect("ha-crm binary")
}

#[test]
fn simulate_prints_status_and_summary() {
    let out = crm()
        .args(["simulate", "--xml"])
        .arg(case("guide-standby"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Current cluster status:"), "{text}");
    assert!(
        text.contains("Node node1: standby (with active resources)"),
        "{text}"
    );
    assert!(text.contains("Move       vip"), "{text}");
}

#[test]
fn simulate_what_if_node_down_moves_the_group() {
    let out = crm()
        .args(["--json", "simulate", "--node-down", "node1", "--xml"])
        .arg(case("guide-stickiness"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["ok"], true);
    let placements = json["data"]["placements"].as_array().unwrap();
    assert!(placements.iter().all(|p| p["node"] == "node2"), "{json}");
}

#[test]
fn explain_lists_terms_and_a_reason() {
    let out = crm()
        .args(["explain", "gohttpd", "--xml"])
        .arg(case("guide-migration-threshold"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("gohttpd runs on node2"), "{text}");
    assert!(
        text.contains("fail count 3 >= migration-threshold 3"),
        "{text}"
    );
}

#[test]
fn unknown_resource_and_bad_xml_fail_with_one_line() {
    let assert = crm()
        .args(["explain", "ghost", "--xml"])
        .arg(case("guide-standby"))
        .assert()
        .code(1);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("ha-crm: error: unknown resource \"ghost\""),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, "<cib>\n<configuration>\n<resources>\n<primitive id=\"x\"/>\n</resources></configuration></cib>\n").unwrap();
    let assert = crm().args(["simulate", "--xml"]).arg(&bad).assert().code(1);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(err.contains("bad.xml:4:"), "{err}");
}

#[test]
fn simulate_and_explain_a_clone() {
    let out = crm()
        .args(["--json", "simulate", "--xml"])
        .arg(case("clone-failure-threshold"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let placements = json["data"]["placements"].as_array().unwrap();
    let node_of = |id: &str| {
        placements
            .iter()
            .find(|p| p["resource"] == id)
            .map(|p| p["node"].clone())
    };
    assert_eq!(node_of("fs:2"), Some(serde_json::Value::Null), "{json}");
    for running in ["fs:0", "fs:1"] {
        assert!(node_of(running).is_some_and(|n| n.is_string()), "{json}");
    }
    assert_eq!(node_of("vip"), Some("node1".into()), "{json}");

    // The clone's child id names the clone.
    let out = crm()
        .args(["explain", "fs", "--xml"])
        .arg(case("clone-failure-threshold"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("fail count 1 >= migration-threshold 1"),
        "{text}"
    );
}
