//! `transport: udp` for real: two `ha-ring`s in network namespaces made by this test, cabled
//! to a bridge in a third, run the guide's corosync 1.x style configuration (bindnetaddr and
//! mcastaddr, no nodelist, node ids from the IPv4 addresses) and form one ring over
//! multicast. Needs root and `ip`; skipped with a message otherwise. Every namespace is named
//! with this process's id and removed by that name; every daemon is killed by its pid.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hakit::conf::model::nodeid_from_ipv4;

const SUBNET: &str = "10.231.7";
const MCAST_GROUP: &str = "239.255.231.7";

/// The namespaces and daemons this test made, removed (by recorded name and pid) on drop.
struct Net {
    namespaces: Vec<String>,
    daemons: Vec<Child>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in &mut self.daemons {
            let _ = child.kill();
            let _ = child.wait();
        }
        for name in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn host_can_make_namespaces() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: the multicast test makes network namespaces and needs root");
        return false;
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(out) if out.status.success() => true,
        _ => {
            eprintln!("skipped: `ip netns` is not available (install iproute2)");
            false
        }
    }
}

impl Net {
    /// A switch namespace with a bridge, and one namespace per node cabled to it with
    /// `SUBNET.<n>/24` and a default route on its link.
    fn build(nodes: u32) -> Net {
        let tag = format!("hkmc{}", std::process::id());
        let switch = format!("{tag}s");
        let mut net = Net {
            namespaces: Vec::new(),
            daemons: Vec::new(),
        };
        // Recorded before it exists, so a failure half-way still removes it.
        net.namespaces.push(switch.clone());
        ip(&["netns", "add", &switch]);
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        for n in 1..=nodes {
            let name = format!("{tag}n{n}");
            net.namespaces.push(name.clone());
            ip(&["netns", "add", &name]);
            let port = format!("port{n}");
            ip(&[
                "-n", &switch, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &name,
            ]);
            ip(&["-n", &switch, "link", "set", &port, "master", "br0", "up"]);
            let address = format!("{SUBNET}.{n}/24");
            ip(&["-n", &name, "addr", "add", &address, "dev", "eth0"]);
            ip(&["-n", &name, "link", "set", "lo", "up"]);
            ip(&["-n", &name, "link", "set", "eth0", "up"]);
            ip(&["-n", &name, "route", "add", "default", "dev", "eth0"]);
        }
        net
    }

    fn node(&self, n: u32) -> &str {
        &self.namespaces[n as usize]
    }
}

fn write_node(base: &Path, n: u32) -> PathBuf {
    let dir = base.join(format!("n{n}"));
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::create_dir_all(dir.join("run")).unwrap();
    // The classic guide's file: no nodelist, no cluster_name, ring 0 found by bindnetaddr.
    let conf = format!(
        "compatibility: whitetank\n\ntotem {{\n\tversion: 2\n\tsecauth: on\n\ttoken: 1000\n\t\
         interface {{\n\t\tringnumber: 0\n\t\tbindnetaddr: {SUBNET}.0\n\t\tmcastaddr: \
         {MCAST_GROUP}\n\t\tmcastport: 5405\n\t\tttl: 1\n\t}}\n}}\n\nlogging {{\n\tto_stderr: \
         yes\n\tto_syslog: no\n\ttimestamp: on\n}}\n"
    );
    std::fs::write(dir.join("conf/ha.conf"), conf).unwrap();
    let key_path = dir.join("conf/authkey");
    std::fs::write(
        &key_path,
        (0..256u32).map(|i| (i * 11 + 1) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o400)).unwrap();
    dir
}

fn in_namespace(namespace: &str, dir: &Path, program: &str) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", namespace, program])
        .env("HA_CONF_DIR", dir.join("conf"))
        .env("HA_RUN_DIR", dir.join("run"))
        .env("HA_STATE_DIR", dir.join("run"))
        .env_remove("HA_NODE_ID");
    command
}

fn members(namespace: &str, dir: &Path) -> Option<Vec<u64>> {
    let out = in_namespace(namespace, dir, env!("CARGO_BIN_EXE_ha-cfgtool"))
        .args(["members", "--json"])
        .output()
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        value["data"]["members"]
            .as_array()?
            .iter()
            .filter_map(|m| m["id"].as_u64())
            .collect(),
    )
}

#[test]
fn guide_style_multicast_config_forms_a_two_node_ring_across_namespaces() {
    if !host_can_make_namespaces() {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let mut net = Net::build(2);
    let dirs: Vec<PathBuf> = (1..=2).map(|n| write_node(base.path(), n)).collect();
    for n in 1..=2u32 {
        let log = std::fs::File::create(dirs[n as usize - 1].join("ring.log")).unwrap();
        // `ip netns exec` execs the daemon, so this pid is ha-ring's own.
        let child = in_namespace(
            net.node(n),
            &dirs[n as usize - 1],
            env!("CARGO_BIN_EXE_ha-ring"),
        )
        .arg("-f")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
        net.daemons.push(child);
    }
    let ids: Vec<u64> = (1..=2)
        .map(|n| {
            let address = format!("{SUBNET}.{n}").parse().unwrap();
            u64::from(nodeid_from_ipv4(address, false).unwrap())
        })
        .collect();
    let start = Instant::now();
    let logs = || {
        dirs.iter()
            .map(|d| std::fs::read_to_string(d.join("ring.log")).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n")
    };
    for n in 1..=2u32 {
        let dir = &dirs[n as usize - 1];
        loop {
            if members(net.node(n), dir).as_deref() == Some(&ids[..]) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "node {n} did not see members {ids:?}: {:?}\n{}",
                members(net.node(n), dir),
                logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let out = in_namespace(net.node(1), &dirs[0], env!("CARGO_BIN_EXE_ha-cfgtool"))
        .args(["-s", "--json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["data"]["transport"], "udp", "{status}");
    assert_eq!(status["data"]["node_id"], ids[0], "{status}");
    assert_eq!(status["data"]["encrypted"], true, "{status}");
}
