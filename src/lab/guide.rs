//! The classic two-node guide as data: the commands the demo and the benchmark type on node1,
//! and the faults they inject. Pure: the callers run these lines in the lab.

use std::net::Ipv4Addr;

/// Commands that show the ring and the cluster once the stacks run.
pub fn status_commands() -> Vec<Vec<String>> {
    lines(&[
        &["ha-cfgtool", "-s"],
        &["ha-cfgtool", "members"],
        &["ha-crm", "status"],
    ])
}

/// Commands that configure the guide's service: no fencing, no quorum policy for two nodes,
/// stickiness (a node that comes back does not take the service back), the VIP, the list of
/// LSB scripts, the web server behind its init script and the group that keeps them
/// together.
pub fn service_commands(vip: Ipv4Addr) -> Vec<Vec<String>> {
    let ip = format!("ip={vip}");
    lines(&[
        &["ha-crm", "configure", "property", "stonith-enabled=false"],
        &["ha-crm", "configure", "property", "no-quorum-policy=ignore"],
        &[
            "ha-crm",
            "configure",
            "rsc_defaults",
            "resource-stickiness=100",
        ],
        &[
            "ha-crm",
            "configure",
            "primitive",
            "ClusterIP",
            "ocf:heartbeat:IPaddr2",
            "params",
            &ip,
            "cidr_netmask=24",
            "op",
            "monitor",
            "interval=2s",
        ],
        &["ha-crm", "ra", "list", "lsb"],
        &[
            "ha-crm",
            "configure",
            "primitive",
            "website",
            "lsb:gohttpd",
            "op",
            "monitor",
            "interval=2s",
        ],
        &[
            "ha-crm",
            "configure",
            "group",
            "web",
            "ClusterIP",
            "website",
        ],
    ])
}

fn lines(lines: &[&[&str]]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|line| line.iter().map(|w| w.to_string()).collect())
        .collect()
}

/// A way to take the service's node away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// `ha-crm node standby NODE`: an orderly move.
    Standby,
    /// `ha-lab crash NODE`: SIGKILL of the node's whole stack.
    Crash,
    /// `ha-lab cut NODE`: the node's cable pulled.
    Cut,
}

impl Fault {
    /// Every fault, in the order the demo runs them.
    pub const ALL: [Fault; 3] = [Fault::Standby, Fault::Crash, Fault::Cut];

    /// Its name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Standby => "standby",
            Fault::Crash => "crash",
            Fault::Cut => "cut",
        }
    }

    /// How a user would inject it on `node`.
    pub fn command(self, node: &str) -> String {
        match self {
            Fault::Standby => format!("ha-crm node standby {node}"),
            Fault::Crash => format!("ha-lab crash {node}"),
            Fault::Cut => format!("ha-lab cut {node}"),
        }
    }

    /// How a user would undo it.
    pub fn undo_command(self, node: &str) -> String {
        match self {
            Fault::Standby => format!("ha-crm node online {node}"),
            Fault::Crash => format!("ha-lab start {node}"),
            Fault::Cut => format!("ha-lab heal {node}"),
        }
    }
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(text: &str) -> Result<Fault, String> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == text)
            .ok_or_else(|| format!("unknown fault {text:?} (expected standby, crash or cut)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_uses_the_lab_vip_and_groups_ip_before_web() {
        let commands = service_commands(Ipv4Addr::new(192, 168, 2, 100));
        let joined: Vec<String> = commands.iter().map(|c| c.join(" ")).collect();
        assert!(joined[3].contains("ip=192.168.2.100"));
        assert_eq!(
            joined.last().unwrap(),
            "ha-crm configure group web ClusterIP website"
        );
    }

    #[test]
    fn faults_round_trip_through_their_names() {
        for fault in Fault::ALL {
            assert_eq!(fault.name().parse::<Fault>().unwrap(), fault);
        }
        assert!("reboot".parse::<Fault>().is_err());
        assert_eq!(Fault::Cut.undo_command("node2"), "ha-lab heal node2");
    }
}
