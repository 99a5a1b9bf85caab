//! The lab's shape as plain data: its name, members, addresses, namespace and interface names,
//! and the exact `ip` command lines that build, cut, heal and partition it. Pure: no I/O in
//! here, so every plan is unit-tested.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use super::LabError;

/// Largest lab: 32 nodes keeps addresses in .101-.132 and the plan small.
pub const MAX_NODES: u8 = 32;
/// Longest lab name, so namespace names stay short and readable.
pub const MAX_NAME_LEN: usize = 32;
/// The bridge every port starts on, inside the switch namespace.
pub const MAIN_BRIDGE: &str = "br0";
/// Interface name of a node's or the client's link, inside its own namespace.
pub const LINK_NAME: &str = "eth0";
/// Host part of the virtual IP reserved for the cluster's service.
pub const VIP_HOST: u8 = 100;
/// Host part of the client's address.
pub const CLIENT_HOST: u8 = 200;

/// A validated lab name: lowercase letters, digits and `-`, starting with a letter or digit.
/// Every namespace of the lab is named `<name>-...`, so two labs with different names never
/// collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabName(String);

impl LabName {
    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LabName {
    type Err = LabError;
    fn from_str(name: &str) -> Result<LabName, LabError> {
        let valid_chars = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let valid_start = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if valid_chars && valid_start && name.len() <= MAX_NAME_LEN {
            Ok(LabName(name.to_string()))
        } else {
            Err(LabError::BadName(name.to_string()))
        }
    }
}

impl fmt::Display for LabName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One endpoint of the lab network: a cluster node (1-based) or the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Member {
    /// Cluster node `n` (1..=32).
    Node(u8),
    /// The client that plays the service's user.
    Client,
}

impl Member {
    /// The name used on the command line, in ha.conf and as the switch port: `node3`, `client`.
    pub fn name(self) -> String {
        match self {
            Member::Node(n) => format!("node{n}"),
            Member::Client => "client".to_string(),
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Member {
    type Err = LabError;
    /// Accepts `node3`, `3` and `client`.
    fn from_str(text: &str) -> Result<Member, LabError> {
        if text == "client" {
            return Ok(Member::Client);
        }
        let digits = text.strip_prefix("node").unwrap_or(text);
        match digits.parse::<u8>() {
            Ok(n) if (1..=MAX_NODES).contains(&n) && !digits.starts_with('0') => {
                Ok(Member::Node(n))
            }
            _ => Err(LabError::BadMember(text.to_string())),
        }
    }
}

/// Everything derived from a lab's name, size and subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The lab's name, prefix of all its namespaces.
    pub name: LabName,
    /// Number of cluster nodes (1..=32).
    pub nodes: u8,
    /// First three octets of the lab's /24, e.g. `[192, 168, 2]`.
    pub subnet: [u8; 3],
}

/// The lab's default /24, the classic guide's network.
pub const DEFAULT_SUBNET: [u8; 3] = [192, 168, 2];

impl Topology {
    /// Checks the size and builds the topology.
    pub fn new(name: LabName, nodes: u8, subnet: [u8; 3]) -> Result<Topology, LabError> {
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(LabError::BadSize(nodes));
        }
        Ok(Topology {
            name,
            nodes,
            subnet,
        })
    }

    /// All members: the nodes in order, then the client.
    pub fn members(&self) -> Vec<Member> {
        let mut all: Vec<Member> = (1..=self.nodes).map(Member::Node).collect();
        all.push(Member::Client);
        all
    }

    /// Fails unless `member` exists in this lab.
    pub fn check(&self, member: Member) -> Result<Member, LabError> {
        match member {
            Member::Node(n) if n > self.nodes => Err(LabError::NoSuchNode {
                node: n,
                nodes: self.nodes,
            }),
            _ => Ok(member),
        }
    }

    fn host(&self, host: u8) -> Ipv4Addr {
        let [a, b, c] = self.subnet;
        Ipv4Addr::new(a, b, c, host)
    }

    /// A member's address: node n is .(100+n), the client .200.
    pub fn address(&self, member: Member) -> Ipv4Addr {
        match member {
            Member::Node(n) => self.host(VIP_HOST + n),
            Member::Client => self.host(CLIENT_HOST),
        }
    }

    /// The address reserved for the cluster's virtual IP (.100).
    pub fn vip(&self) -> Ipv4Addr {
        self.host(VIP_HOST)
    }

    /// Name of the namespace holding the bridge.
    pub fn switch_namespace(&self) -> String {
        format!("{}-sw", self.name)
    }

    /// Name of a member's network namespace.
    pub fn namespace(&self, member: Member) -> String {
        format!("{}-{}", self.name, member.name())
    }

    /// Every namespace of the lab, switch first.
    pub fn namespaces(&self) -> Vec<String> {
        let mut all = vec![self.switch_namespace()];
        all.extend(self.members().into_iter().map(|m| self.namespace(m)));
        all
    }

    /// The switch-side end of a member's veth pair (same as the member's name, at most 15
    /// bytes as the kernel requires).
    pub fn port(&self, member: Member) -> String {
        member.name()
    }

    fn in_switch(&self, args: &[&str]) -> Vec<String> {
        let mut line = vec!["-n".to_string(), self.switch_namespace()];
        line.extend(args.iter().map(|s| s.to_string()));
        line
    }

    fn in_member(&self, member: Member, args: &[&str]) -> Vec<String> {
        let mut line = vec!["-n".to_string(), self.namespace(member)];
        line.extend(args.iter().map(|s| s.to_string()));
        line
    }

    /// The `ip` argument lists that build the switch (run first, in order).
    pub fn switch_plan(&self) -> Vec<Vec<String>> {
        vec![
            vec!["netns".into(), "add".into(), self.switch_namespace()],
            self.in_switch(&["link", "set", "lo", "up"]),
            // STP off and no forward delay: ports forward the moment they come up.
            self.in_switch(&[
                "link",
                "add",
                MAIN_BRIDGE,
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            ]),
            self.in_switch(&["link", "set", MAIN_BRIDGE, "up"]),
        ]
    }

    /// The `ip` argument lists that add one member: its namespace, a veth pair created directly
    /// across the two namespaces (so nothing ever appears in the root namespace), its address.
    pub fn member_plan(&self, member: Member) -> Vec<Vec<String>> {
        let namespace = self.namespace(member);
        let port = self.port(member);
        let address = format!("{}/24", self.address(member));
        vec![
            vec!["netns".into(), "add".into(), namespace.clone()],
            self.in_member(member, &["link", "set", "lo", "up"]),
            self.in_switch(&[
                "link", "add", &port, "type", "veth", "peer", "name", LINK_NAME, "netns",
                &namespace,
            ]),
            self.in_switch(&["link", "set", &port, "master", MAIN_BRIDGE]),
            self.in_switch(&["link", "set", &port, "up"]),
            self.in_member(member, &["addr", "add", &address, "dev", LINK_NAME]),
            self.in_member(member, &["link", "set", LINK_NAME, "up"]),
        ]
    }

    /// Pulls a member's cable: the switch port goes down, so the member's link loses carrier
    /// while its own configuration stays as it was.
    pub fn cut_plan(&self, member: Member) -> Vec<Vec<String>> {
        vec![self.in_switch(&["link", "set", &self.port(member), "down"])]
    }

    /// Resets a member's own link as at boot: every address flushed, its own put back.
    pub fn boot_plan(&self, member: Member) -> Vec<Vec<String>> {
        let address = format!("{}/24", self.address(member));
        vec![
            self.in_member(member, &["addr", "flush", "dev", LINK_NAME]),
            self.in_member(member, &["addr", "add", &address, "dev", LINK_NAME]),
            self.in_member(member, &["link", "set", LINK_NAME, "up"]),
        ]
    }

    /// Plugs a member's cable back in.
    pub fn heal_plan(&self, member: Member) -> Vec<Vec<String>> {
        vec![self.in_switch(&["link", "set", &self.port(member), "up"])]
    }

    /// Splits the switch (which must be whole: see [`Topology::unpartition_plan`]): group 1 stays on `br0`, group k on bridge `br<k-1>` created for it.
    /// Members named in no group (the client unless named) stay with group 1. Each port is
    /// moved with `ip link set PORT master BRIDGE`, plain iproute2, no filtering rules.
    pub fn partition_plan(&self, groups: &[Vec<Member>]) -> Result<Vec<Vec<String>>, LabError> {
        let mut seen = Vec::new();
        for member in groups.iter().flatten() {
            self.check(*member)?;
            if seen.contains(member) {
                return Err(LabError::BadPartition(format!("{member} is named twice")));
            }
            seen.push(*member);
        }
        if groups.len() < 2 || groups.iter().any(|g| g.is_empty()) {
            return Err(LabError::BadPartition(
                "give at least two non-empty groups, e.g. `1,2 3`".to_string(),
            ));
        }
        let mut plan = Vec::new();
        for (index, group) in groups.iter().enumerate().skip(1) {
            let bridge = format!("br{index}");
            plan.push(self.in_switch(&[
                "link",
                "add",
                &bridge,
                "type",
                "bridge",
                "stp_state",
                "0",
                "forward_delay",
                "0",
            ]));
            plan.push(self.in_switch(&["link", "set", &bridge, "up"]));
            for member in group {
                plan.push(self.in_switch(&["link", "set", &self.port(*member), "master", &bridge]));
            }
        }
        Ok(plan)
    }

    /// Puts every port back on `br0` and deletes the `extra_bridges` partition bridges
    /// (`br1`..). Link states (cuts) are left alone.
    pub fn unpartition_plan(&self, extra_bridges: usize) -> Vec<Vec<String>> {
        let mut plan: Vec<Vec<String>> = Vec::new();
        if extra_bridges == 0 {
            return plan;
        }
        for member in self.members() {
            plan.push(self.in_switch(&["link", "set", &self.port(member), "master", MAIN_BRIDGE]));
        }
        for index in 1..=extra_bridges {
            plan.push(self.in_switch(&["link", "del", &format!("br{index}")]));
        }
        plan
    }

    /// The cluster configuration the lab writes on node1 before syncing it, in ha.conf
    /// (corosync.conf) syntax: udpu transport, one nodelist entry per node.
    pub fn render_config(&self) -> String {
        let mut text = format!(
            "# Written by ha-lab for lab {name}: {nodes} node(s) on {net}.0/24.\n\
             totem {{\n    version: 2\n    cluster_name: {name}\n    transport: udpu\n    \
             crypto_cipher: aes256\n    crypto_hash: sha256\n}}\n\nnodelist {{\n",
            name = self.name,
            nodes = self.nodes,
            net = self.subnet.map(|o| o.to_string()).join("."),
        );
        for n in 1..=self.nodes {
            let member = Member::Node(n);
            text.push_str(&format!(
                "    node {{\n        ring0_addr: {}\n        name: {}\n        nodeid: {n}\n    }}\n",
                self.address(member),
                member.name()
            ));
        }
        text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
        if self.nodes == 2 {
            text.push_str("    two_node: 1\n");
        }
        text.push_str("}\n\nlogging {\n    to_stderr: yes\n    timestamp: on\n}\n");
        // ha-ring starts and supervises the executor and the controller for this service.
        text.push_str("\nservice {\n    name: pacemaker\n    ver: 0\n}\n");
        text
    }
}

/// Parses the groups of `ha-lab partition A,B C`: one argument per group, members separated by
/// commas.
pub fn parse_groups(args: &[String]) -> Result<Vec<Vec<Member>>, LabError> {
    args.iter()
        .map(|group| {
            group
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::parse)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(nodes: u8) -> Topology {
        Topology::new("t1".parse().unwrap(), nodes, DEFAULT_SUBNET).unwrap()
    }

    fn joined(plan: &[Vec<String>]) -> Vec<String> {
        plan.iter().map(|line| line.join(" ")).collect()
    }

    #[test]
    fn names_are_validated() {
        assert!("hakit".parse::<LabName>().is_ok());
        assert!("t-123".parse::<LabName>().is_ok());
        for bad in ["", "-x", "Upper", "a b", "a/b", &"x".repeat(33)] {
            assert!(bad.parse::<LabName>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn members_parse_by_number_or_name() {
        assert_eq!("node2".parse::<Member>().unwrap(), Member::Node(2));
        assert_eq!("7".parse::<Member>().unwrap(), Member::Node(7));
        assert_eq!("client".parse::<Member>().unwrap(), Member::Client);
        for bad in ["node0", "33", "node", "nodeX", "02", "server"] {
            assert!(bad.parse::<Member>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes_outside_one_to_thirty_two_are_refused() {
        let name: LabName = "t".parse().unwrap();
        assert!(Topology::new(name.clone(), 0, DEFAULT_SUBNET).is_err());
        assert!(Topology::new(name.clone(), 33, DEFAULT_SUBNET).is_err());
        assert!(Topology::new(name, 32, DEFAULT_SUBNET).is_ok());
    }

    #[test]
    fn addresses_follow_the_guide() {
        let lab = lab(3);
        assert_eq!(lab.address(Member::Node(1)).to_string(), "192.168.2.101");
        assert_eq!(lab.address(Member::Node(3)).to_string(), "192.168.2.103");
        assert_eq!(lab.address(Member::Client).to_string(), "192.168.2.200");
        assert_eq!(lab.vip().to_string(), "192.168.2.100");
        assert_eq!(
            lab.namespaces(),
            ["t1-sw", "t1-node1", "t1-node2", "t1-node3", "t1-client"]
        );
    }

    #[test]
    fn member_plan_creates_the_veth_across_namespaces_only() {
        let plan = joined(&lab(2).member_plan(Member::Node(2)));
        assert_eq!(
            plan,
            [
                "netns add t1-node2",
                "-n t1-node2 link set lo up",
                "-n t1-sw link add node2 type veth peer name eth0 netns t1-node2",
                "-n t1-sw link set node2 master br0",
                "-n t1-sw link set node2 up",
                "-n t1-node2 addr add 192.168.2.102/24 dev eth0",
                "-n t1-node2 link set eth0 up",
            ]
        );
        // Every link command names a namespace: nothing lands in the root namespace.
        for line in lab(2)
            .switch_plan()
            .iter()
            .chain(&lab(2).member_plan(Member::Client))
        {
            assert!(line[0] == "-n" || line[0] == "netns", "{line:?}");
        }
    }

    #[test]
    fn boot_resets_the_link_to_the_own_address() {
        let plan = joined(&lab(2).boot_plan(Member::Node(1)));
        assert_eq!(
            plan,
            [
                "-n t1-node1 addr flush dev eth0",
                "-n t1-node1 addr add 192.168.2.101/24 dev eth0",
                "-n t1-node1 link set eth0 up",
            ]
        );
    }

    #[test]
    fn partition_moves_later_groups_to_their_own_bridges() {
        let lab = lab(3);
        let groups = parse_groups(&["1,2".to_string(), "3".to_string()]).unwrap();
        let plan = joined(&lab.partition_plan(&groups).unwrap());
        assert_eq!(
            plan,
            [
                "-n t1-sw link add br1 type bridge stp_state 0 forward_delay 0",
                "-n t1-sw link set br1 up",
                "-n t1-sw link set node3 master br1",
            ]
        );
    }

    #[test]
    fn bad_partitions_are_refused() {
        let lab = lab(2);
        let bad = [vec!["1,2"], vec!["1", "1"], vec!["1", "5"], vec!["1", ""]];
        for args in bad {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let result = parse_groups(&args).and_then(|g| lab.partition_plan(&g));
            assert!(result.is_err(), "{args:?} accepted");
        }
    }

    #[test]
    fn unpartition_returns_every_port_and_removes_extra_bridges() {
        let plan = joined(&lab(1).unpartition_plan(1));
        assert_eq!(
            plan,
            [
                "-n t1-sw link set node1 master br0",
                "-n t1-sw link set client master br0",
                "-n t1-sw link del br1",
            ]
        );
        assert!(lab(1).unpartition_plan(0).is_empty());
    }

    #[test]
    fn config_lists_every_node_and_two_node_only_for_two() {
        let two = lab(2).render_config();
        assert!(two.contains("transport: udpu"));
        assert!(two.contains("cluster_name: t1"));
        assert!(two.contains("ring0_addr: 192.168.2.102\n        name: node2\n        nodeid: 2"));
        assert!(two.contains("two_node: 1"));
        assert!(!lab(3).render_config().contains("two_node"));
    }
}
