//! The configuration parser against real-world files and every error path.

use std::net::IpAddr;
use std::path::Path;

use hakit::conf::model::{Cipher, Encryption, Transport};
use hakit::conf::{self, HaConf};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conf")
        .join(name)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn guide_corosync1_file_parses_with_notes_for_unused_parts() {
    let loaded = conf::load(&fixture("guide-corosync1.conf")).unwrap();
    let c = &loaded.conf;
    assert_eq!(c.totem.transport, Transport::Udp);
    assert_eq!(c.totem.secauth, Some(false));
    assert_eq!(c.totem.encryption(), Encryption::None);
    let ring0 = c.ring0_interface().unwrap();
    assert_eq!(ring0.bindnetaddr, Some(ip("192.168.2.0")));
    assert_eq!(ring0.mcastaddr, Some(ip("226.94.1.1")));
    assert_eq!((ring0.mcastport, ring0.ttl), (5405, 1));
    assert!(c.nodes.is_empty());
    assert_eq!(c.services[0].name, "pacemaker");
    assert_eq!(c.services[0].ver, Some(0));
    assert!(c.logging.to_logfile && c.logging.timestamp && !c.logging.to_stderr);
    assert_eq!(
        c.logging.logfile.as_deref(),
        Some(Path::new("/var/log/cluster/corosync.log"))
    );
    assert_eq!(c.totem.token_ms, 1000);
    assert_eq!(c.totem.consensus_ms, 1200);
    let warned: Vec<String> = loaded
        .warnings
        .iter()
        .map(|w| format!("{}:{}", w.line, w.key))
        .collect();
    for expected in [
        "3:compatibility",
        "8:totem.threads",
        "19:logging.fileline",
        "26:logging.logger_subsys",
        "32:amf",
        "36:service",
        "42:aisexec",
    ] {
        assert!(
            warned.contains(&expected.to_string()),
            "{expected} missing from {warned:?}"
        );
    }
    assert!(loaded.warnings[0].file.ends_with("guide-corosync1.conf"));
}

#[test]
fn debian_corosync3_example_parses() {
    let loaded = conf::load(&fixture("debian-corosync3.conf")).unwrap();
    let c = &loaded.conf;
    assert_eq!(c.totem.cluster_name, "debian");
    assert_eq!(c.totem.crypto_cipher, Some(Cipher::None));
    assert_eq!(c.totem.transport, Transport::Udpu);
    assert_eq!(c.nodes.len(), 1);
    let n = &c.nodes[0];
    assert_eq!(
        (n.nodeid, n.name.as_deref(), n.ring0_addr),
        (1, Some("node1"), ip("127.0.0.1"))
    );
    assert_eq!(c.quorum.provider.as_deref(), Some("corosync_votequorum"));
    assert_eq!(c.expected_votes(), 1);
    assert!(c.logging.to_logfile && c.logging.to_syslog && !c.logging.debug);
    let keys: Vec<&str> = loaded.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["logging.fileline", "logging.logger_subsys"]);
}

#[test]
fn shipped_example_is_a_valid_secure_two_node_cluster() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ha.conf.example");
    let loaded = conf::load(&path).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = &loaded.conf;
    assert_eq!(c.totem.encryption(), Encryption::Aes256);
    assert!(!c.totem.allows_missing_key());
    let addrs: Vec<IpAddr> = c.nodes.iter().map(|n| n.ring0_addr).collect();
    assert_eq!(addrs, [ip("192.168.2.101"), ip("192.168.2.102")]);
    assert!(c.quorum.two_node && c.quorum.wait_for_all);
    assert_eq!(c.expected_votes(), 2);
}

#[test]
fn rendering_the_effective_config_parses_back_to_the_same_value() {
    for name in ["guide-corosync1.conf", "debian-corosync3.conf"] {
        let c = conf::load(&fixture(name)).unwrap().conf;
        let again: HaConf = conf::parse_str(&c.to_conf_text(), "rendered").unwrap().conf;
        assert_eq!(again.totem, c.totem, "{name}");
        assert_eq!(again.nodes, c.nodes, "{name}");
        assert_eq!(again.quorum, c.quorum, "{name}");
        assert_eq!(again.logging, c.logging, "{name}");
    }
}

const NODES2: &str = "nodelist {\n node {\n  nodeid: 1\n  name: a\n  ring0_addr: 10.0.0.1\n }\n \
     node {\n  nodeid: 2\n  name: b\n  ring0_addr: 10.0.0.2\n }\n}\n";

/// Each bad input with the `line:column`, key and message fragment its first error must have.
#[test]
fn every_error_names_file_line_column_key_and_expectation() {
    let cases: &[(&str, String, &str, &str, &str)] = &[
        ("stray brace", "}\n".into(), "1:1", "}", "no open section"),
        (
            "unclosed section",
            "\ntotem {\n version: 2\n".into(),
            "2:1",
            "totem",
            "not closed",
        ),
        (
            "no colon",
            "totem {\n  version 2\n}\n".into(),
            "2:3",
            "version",
            "expected `key: value`",
        ),
        (
            "bad section name",
            "to tem {\n}\n".into(),
            "1:1",
            "to",
            "section name",
        ),
        (
            "bad version",
            format!("totem {{\n version: 3\n}}\n{NODES2}"),
            "2:11",
            "totem.version",
            "expected 2",
        ),
        (
            "token not a number",
            format!("totem {{\n token: fast\n}}\n{NODES2}"),
            "2:9",
            "totem.token",
            "expected an integer from 50 to 600000, got \"fast\"",
        ),
        (
            "token too small",
            format!("totem {{\n token: 5\n}}\n{NODES2}"),
            "2:9",
            "totem.token",
            "from 50",
        ),
        (
            "consensus not above token",
            format!("totem {{\n token: 3000\n consensus: 2000\n}}\n{NODES2}"),
            "3:13",
            "totem.consensus",
            "more than token",
        ),
        (
            "join out of range",
            format!("totem {{\n join: 0\n}}\n{NODES2}"),
            "2:8",
            "totem.join",
            "from 10",
        ),
        (
            "bad bool",
            format!("totem {{\n secauth: maybe\n}}\n{NODES2}"),
            "2:11",
            "totem.secauth",
            "on/off",
        ),
        (
            "unsupported cipher",
            format!("totem {{\n crypto_cipher: aes128\n}}\n{NODES2}"),
            "2:17",
            "totem.crypto_cipher",
            "none or aes256",
        ),
        (
            "secauth on with cipher none",
            format!("totem {{\n secauth: on\n crypto_cipher: none\n}}\n{NODES2}"),
            "3:17",
            "totem.crypto_cipher",
            "secauth is on",
        ),
        (
            "bad transport",
            format!("totem {{\n transport: tcp\n}}\n{NODES2}"),
            "2:13",
            "totem.transport",
            "udp or udpu",
        ),
        (
            "udpu without nodelist",
            "totem {\n transport: udpu\n}\n".into(),
            "1:1",
            "totem.transport",
            "expected a nodelist",
        ),
        (
            "udp without interface",
            "totem {\n version: 2\n}\n".into(),
            "1:1",
            "totem.interface",
            "expected an interface",
        ),
        (
            "udp without mcastaddr",
            "totem {\n interface {\n  bindnetaddr: 10.0.0.0\n }\n}\n".into(),
            "2:2",
            "totem.interface.mcastaddr",
            "expected a mcastaddr",
        ),
        (
            "mcastaddr not multicast",
            "totem {\n interface {\n  bindnetaddr: 10.0.0.0\n  mcastaddr: 10.1.1.1\n }\n}\n".into(),
            "4:14",
            "totem.interface.mcastaddr",
            "multicast",
        ),
        (
            "bad bindnetaddr",
            "totem {\n interface {\n  bindnetaddr: 10.0.0\n  mcastaddr: 239.1.1.1\n }\n}\n".into(),
            "3:16",
            "totem.interface.bindnetaddr",
            "IPv4 or IPv6",
        ),
        (
            "port zero",
            format!("totem {{\n interface {{\n  mcastport: 0\n }}\n}}\n{NODES2}"),
            "3:14",
            "totem.interface.mcastport",
            "from 1 to 65535",
        ),
        (
            "ring given twice",
            format!(
                "totem {{\n interface {{\n  ringnumber: 0\n }}\n interface {{\n  \
                 ringnumber: 0\n }}\n}}\n{NODES2}"
            ),
            "5:2",
            "totem.interface.ringnumber",
            "given twice (first at line 2)",
        ),
        (
            "key given twice",
            format!("totem {{\n token: 1000\n token: 2000\n}}\n{NODES2}"),
            "3:2",
            "totem.token",
            "given twice (first at line 2)",
        ),
        (
            "section given twice",
            format!("totem {{\n}}\ntotem {{\n}}\n{NODES2}"),
            "3:1",
            "totem",
            "section given twice (first at line 1)",
        ),
        (
            "duplicate node id",
            "nodelist {\n node {\n  nodeid: 1\n  ring0_addr: 10.0.0.1\n }\n node {\n  \
             nodeid: 1\n  ring0_addr: 10.0.0.2\n }\n}\n"
                .into(),
            "7:11",
            "nodelist.node.nodeid",
            "node id 1 given twice (first at line 3)",
        ),
        (
            "duplicate node name",
            "nodelist {\n node {\n  name: a\n  ring0_addr: 10.0.0.1\n }\n node {\n  \
             name: a\n  ring0_addr: 10.0.0.2\n }\n}\n"
                .into(),
            "7:9",
            "nodelist.node.name",
            "given twice (first at line 3)",
        ),
        (
            "duplicate address",
            "nodelist {\n node {\n  ring0_addr: 10.0.0.1\n }\n node {\n  \
             ring0_addr: 10.0.0.1\n  nodeid: 7\n }\n}\n"
                .into(),
            "6:15",
            "nodelist.node.ring0_addr",
            "address 10.0.0.1 given twice",
        ),
        (
            "host name as address",
            "nodelist {\n node {\n  ring0_addr: node1.example\n }\n}\n".into(),
            "3:15",
            "nodelist.node.ring0_addr",
            "host names are not resolved",
        ),
        (
            "node without address",
            "nodelist {\n node {\n  nodeid: 1\n }\n}\n".into(),
            "2:2",
            "nodelist.node.ring0_addr",
            "expected a ring0_addr",
        ),
        (
            "ipv6 node without id",
            "nodelist {\n node {\n  ring0_addr: fd00::1\n }\n}\n".into(),
            "2:2",
            "nodelist.node.nodeid",
            "IPv6",
        ),
        (
            "node id zero",
            "nodelist {\n node {\n  nodeid: 0\n  ring0_addr: 10.0.0.1\n }\n}\n".into(),
            "3:11",
            "nodelist.node.nodeid",
            "from 1",
        ),
        (
            "empty nodelist",
            "nodelist {\n}\n".into(),
            "1:1",
            "nodelist",
            "at least one node",
        ),
        (
            "two_node with three nodes",
            "nodelist {\n node {\n  ring0_addr: 10.0.0.1\n }\n node {\n  ring0_addr: \
             10.0.0.2\n }\n node {\n  ring0_addr: 10.0.0.3\n }\n}\nquorum {\n  provider: \
             corosync_votequorum\n  two_node: 1\n}\n"
                .into(),
            "14:13",
            "quorum.two_node",
            "exactly two nodes",
        ),
        (
            "unknown quorum provider",
            format!("quorum {{\n provider: corosync_quorumd\n}}\n{NODES2}"),
            "2:12",
            "quorum.provider",
            "corosync_votequorum",
        ),
        (
            "logfile not absolute",
            format!("logging {{\n logfile: ha.log\n}}\n{NODES2}"),
            "2:11",
            "logging.logfile",
            "absolute path",
        ),
        (
            "to_logfile without logfile",
            format!("logging {{\n to_logfile: yes\n}}\n{NODES2}"),
            "2:14",
            "logging.to_logfile",
            "expected a logfile",
        ),
        (
            "cluster name with blanks",
            format!("totem {{\n cluster_name: my cluster\n}}\n{NODES2}"),
            "2:16",
            "totem.cluster_name",
            "without blanks",
        ),
        (
            "unknown hash",
            format!("totem {{\n crypto_hash: crc32\n}}\n{NODES2}"),
            "2:15",
            "totem.crypto_hash",
            "sha256",
        ),
        (
            "relative keyfile",
            format!("totem {{\n keyfile: authkey\n}}\n{NODES2}"),
            "2:11",
            "totem.keyfile",
            "absolute path",
        ),
        (
            "consensus out of range",
            format!("totem {{\n consensus: 9999999\n}}\n{NODES2}"),
            "2:13",
            "totem.consensus",
            "from 60 to 1200000",
        ),
        (
            "retransmits out of range",
            format!("totem {{\n token_retransmits_before_loss_const: 0\n}}\n{NODES2}"),
            "2:39",
            "totem.token_retransmits_before_loss_const",
            "from 1 to 100",
        ),
        (
            "ring number out of range",
            format!("totem {{\n interface {{\n  ringnumber: 8\n }}\n}}\n{NODES2}"),
            "3:15",
            "totem.interface.ringnumber",
            "from 0 to 7",
        ),
        (
            "ttl out of range",
            format!("totem {{\n interface {{\n  ttl: 300\n }}\n}}\n{NODES2}"),
            "3:8",
            "totem.interface.ttl",
            "from 1 to 255",
        ),
        (
            "udp without bindnetaddr",
            "totem {\n interface {\n  mcastaddr: 239.1.1.1\n }\n}\n".into(),
            "2:2",
            "totem.interface.bindnetaddr",
            "expected a bindnetaddr",
        ),
        (
            "address families differ",
            "totem {\n interface {\n  bindnetaddr: 10.0.0.0\n  mcastaddr: ff02::1\n }\n}\n".into(),
            "2:2",
            "totem.interface.mcastaddr",
            "same address family",
        ),
        (
            "node name with blanks",
            "nodelist {\n node {\n  name: my node\n  ring0_addr: 10.0.0.1\n }\n}\n".into(),
            "3:9",
            "nodelist.node.name",
            "without blanks",
        ),
        (
            "multicast node address",
            "nodelist {\n node {\n  ring0_addr: 239.1.1.1\n }\n}\n".into(),
            "3:15",
            "nodelist.node.ring0_addr",
            "unicast",
        ),
        (
            "too many votes",
            "nodelist {\n node {\n  ring0_addr: 10.0.0.1\n  quorum_votes: 1000\n }\n}\n".into(),
            "4:17",
            "nodelist.node.quorum_votes",
            "from 0 to 255",
        ),
        (
            "expected_votes zero",
            format!("quorum {{\n expected_votes: 0\n}}\n{NODES2}"),
            "2:18",
            "quorum.expected_votes",
            "from 1",
        ),
        (
            "two_node without nodelist needs expected_votes 2",
            "totem {\n interface {\n  bindnetaddr: 10.0.0.0\n  mcastaddr: 239.1.1.1\n }\n}\n\
             quorum {\n two_node: 1\n expected_votes: 3\n}\n"
                .into(),
            "8:12",
            "quorum.two_node",
            "expected_votes: 2 for two_node without a nodelist",
        ),
        (
            "bad debug level",
            format!("logging {{\n debug: loud\n}}\n{NODES2}"),
            "2:9",
            "logging.debug",
            "on, off or trace",
        ),
        (
            "bad timestamp",
            format!("logging {{\n timestamp: sometimes\n}}\n{NODES2}"),
            "2:13",
            "logging.timestamp",
            "on, off or hires",
        ),
        (
            "service without name",
            format!("service {{\n ver: 0\n}}\n{NODES2}"),
            "1:1",
            "service.name",
            "expected a service name",
        ),
        (
            "bad service version",
            format!("service {{\n name: pacemaker\n ver: one\n}}\n{NODES2}"),
            "3:7",
            "service.ver",
            "version number",
        ),
        (
            "empty value",
            format!("totem {{\n cluster_name:\n}}\n{NODES2}"),
            "2:15",
            "totem.cluster_name",
            "got nothing",
        ),
    ];
    for (what, text, at, key, fragment) in cases {
        let rejected = match conf::parse_str(text, "ha.conf") {
            Ok(loaded) => panic!("{what}: accepted: {:?}", loaded.conf),
            Err(rejected) => rejected,
        };
        let first = &rejected.errors[0];
        let line = first.to_string();
        assert!(
            line.starts_with(&format!("ha.conf:{at}: {key}: ")),
            "{what}: got {line:?}"
        );
        assert!(line.contains(fragment), "{what}: got {line:?}");
    }
}

#[test]
fn all_errors_are_collected_in_file_order() {
    let text = format!("totem {{\n token: x\n join: y\n}}\n{NODES2}");
    let rejected = conf::parse_str(&text, "f").unwrap_err();
    let lines: Vec<usize> = rejected.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3]);
}

#[test]
fn unknown_keys_and_sections_are_warnings_not_errors() {
    let text = format!("totem {{\n frobnicate: 1\n}}\nextras {{\n}}\n{NODES2}");
    let loaded = conf::parse_str(&text, "f").unwrap();
    let lines: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(
        lines,
        [
            "f:2:2: totem.frobnicate: unknown key, ignored",
            "f:4:1: extras: unknown section, ignored"
        ]
    );
}

#[test]
fn defaults_are_filled_in() {
    let c = conf::parse_str(NODES2, "f").unwrap().conf;
    let t = &c.totem;
    assert_eq!(
        (t.version, t.cluster_name.as_str(), t.transport),
        (2, "hakit", Transport::Udpu)
    );
    assert_eq!((t.token_ms, t.consensus_ms, t.join_ms), (1000, 1200, 50));
    assert_eq!(t.token_retransmits_before_loss_const, 4);
    assert_eq!(t.encryption(), Encryption::WhenKeyExists);
    assert_eq!(c.port(), 5405);
    assert!(!c.quorum.two_node && !c.quorum.wait_for_all);
    assert!(c.logging.to_stderr && c.logging.to_syslog && !c.logging.to_logfile);
    assert_eq!(c.nodes[1].quorum_votes, 1);
}

#[test]
fn node_ids_are_derived_from_ipv4_when_missing() {
    let text = "totem {\n clear_node_high_bit: yes\n}\nnodelist {\n node {\n  ring0_addr: \
                192.168.2.101\n }\n}\n";
    let c = conf::parse_str(text, "f").unwrap().conf;
    assert_eq!(c.nodes[0].nodeid, 0x40A8_0265);
    assert!(c.nodes[0].nodeid_from_address);
}

#[test]
fn effective_config_serializes_with_ms_durations() {
    let c = conf::parse_str(NODES2, "f").unwrap().conf;
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["totem"]["token_ms"], 1000);
    assert_eq!(json["totem"]["transport"], "udpu");
    assert_eq!(json["nodes"][1]["ring0_addr"], "10.0.0.2");
    assert_eq!(json["totem"]["secauth"], serde_json::Value::Null);
    assert_eq!(json["quorum"]["two_node"], false);
}

#[test]
fn oversized_or_binary_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'#'; 2 * 1024 * 1024]).unwrap();
    assert!(conf::load(&big).unwrap_err().to_string().contains("larger"));
    let bin = dir.path().join("bin");
    std::fs::write(&bin, [0xff, 0xfe, 0]).unwrap();
    assert!(conf::load(&bin).unwrap_err().to_string().contains("UTF-8"));
    let missing = dir.path().join("missing");
    assert!(
        conf::load(&missing)
            .unwrap_err()
            .to_string()
            .starts_with("cannot read")
    );
}
