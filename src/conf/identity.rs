//! Which node of the configuration this machine is.
//!
//! With a nodelist, the local node is the one whose `ring0_addr` is one of this machine's
//! addresses, or the one named by an explicit id (`HA_NODE_ID` / `--node-id`, needed when
//! several nodes share a machine, e.g. on 127.0.0.x). Without a nodelist (`transport: udp`),
//! the local address is the one inside `bindnetaddr`'s network and the node id is derived
//! from it as corosync does ([`super::model::nodeid_from_ipv4`]). Pure: the caller lists the
//! addresses (see `hakit::sys::net::local_addresses`).

use std::net::IpAddr;

use super::model::{HaConf, nodeid_from_ipv4};

/// One address of a local interface, with its netmask when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddress {
    /// The address.
    pub address: IpAddr,
    /// The interface netmask (same family), if known.
    pub netmask: Option<IpAddr>,
}

/// This machine's place in the cluster.
///
/// JSON shape: `{"nodeid":1,"name":"node1","address":"192.168.2.101"}` (`name` may be null).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocalNode {
    /// The node id.
    pub nodeid: u32,
    /// The name from the nodelist, if any.
    pub name: Option<String>,
    /// The address ring traffic is sent from.
    pub address: IpAddr,
}

/// Why the local node could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The explicit id is not in the nodelist.
    #[error("node id {0} is not in the nodelist")]
    UnknownId(u32),
    /// No local address is a nodelist `ring0_addr`.
    #[error("none of this machine's addresses ({0}) is a ring0_addr in the nodelist")]
    NotInNodelist(String),
    /// Several nodelist entries are local.
    #[error("several nodes of the nodelist are local ({0}); name one with HA_NODE_ID")]
    Ambiguous(String),
    /// Without a nodelist, no local address is inside `bindnetaddr`'s network.
    #[error("no local address is in the network of bindnetaddr {0}")]
    NoBindAddress(IpAddr),
    /// Without a nodelist, the configuration has no ring 0 `bindnetaddr`.
    #[error("the configuration has neither a nodelist nor a ring 0 bindnetaddr")]
    NoInterface,
    /// Without a nodelist and an explicit id, the local address is IPv6.
    #[error("cannot derive a node id from {0}; set HA_NODE_ID")]
    NoDerivableId(IpAddr),
}

/// Finds the local node. `explicit` is `HA_NODE_ID`/`--node-id` when given.
pub fn local_node(
    conf: &HaConf,
    explicit: Option<u32>,
    local: &[LocalAddress],
) -> Result<LocalNode, IdentityError> {
    if !conf.nodes.is_empty() {
        if let Some(id) = explicit {
            let node = conf.node(id).ok_or(IdentityError::UnknownId(id))?;
            return Ok(LocalNode {
                nodeid: node.nodeid,
                name: node.name.clone(),
                address: node.ring0_addr,
            });
        }
        let matches: Vec<_> = conf
            .nodes
            .iter()
            .filter(|n| local.iter().any(|l| l.address == n.ring0_addr))
            .collect();
        return match matches.as_slice() {
            [node] => Ok(LocalNode {
                nodeid: node.nodeid,
                name: node.name.clone(),
                address: node.ring0_addr,
            }),
            [] => Err(IdentityError::NotInNodelist(join(
                local.iter().map(|l| l.address.to_string()),
            ))),
            several => Err(IdentityError::Ambiguous(join(
                several.iter().map(|n| n.display_name()),
            ))),
        };
    }
    let bind = conf
        .ring0_interface()
        .and_then(|i| i.bindnetaddr)
        .ok_or(IdentityError::NoInterface)?;
    let address = local
        .iter()
        .find(|l| l.address == bind || same_network(l, bind))
        .map(|l| l.address)
        .ok_or(IdentityError::NoBindAddress(bind))?;
    let nodeid = match explicit {
        Some(id) => id,
        None => nodeid_from_ipv4(address, conf.totem.clear_node_high_bit)
            .ok_or(IdentityError::NoDerivableId(address))?,
    };
    Ok(LocalNode {
        nodeid,
        name: None,
        address,
    })
}

fn same_network(local: &LocalAddress, bind: IpAddr) -> bool {
    match (local.address, local.netmask, bind) {
        (IpAddr::V4(a), Some(IpAddr::V4(m)), IpAddr::V4(b)) => {
            let m = u32::from(m);
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), Some(IpAddr::V6(m)), IpAddr::V6(b)) => {
            let m = u128::from(m);
            u128::from(a) & m == u128::from(b) & m
        }
        _ => false,
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    let list: Vec<String> = items.collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::parse_str;

    fn addr(a: &str, mask: &str) -> LocalAddress {
        LocalAddress {
            address: a.parse().unwrap(),
            netmask: Some(mask.parse().unwrap()),
        }
    }

    const TWO_NODES: &str = "totem {\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.1\n  \
        nodeid: 1\n  name: a\n }\n node {\n  ring0_addr: 10.0.0.2\n  nodeid: 2\n  name: b\n }\n}\n";

    #[test]
    fn nodelist_entry_is_found_by_local_address() {
        let conf = parse_str(TWO_NODES, "t").unwrap().conf;
        let local = [
            addr("127.0.0.1", "255.0.0.0"),
            addr("10.0.0.2", "255.255.255.0"),
        ];
        let me = local_node(&conf, None, &local).unwrap();
        assert_eq!((me.nodeid, me.name.as_deref()), (2, Some("b")));
    }

    #[test]
    fn explicit_id_wins_and_must_be_listed() {
        let conf = parse_str(TWO_NODES, "t").unwrap().conf;
        assert_eq!(local_node(&conf, Some(1), &[]).unwrap().nodeid, 1);
        assert_eq!(
            local_node(&conf, Some(9), &[]),
            Err(IdentityError::UnknownId(9))
        );
    }

    #[test]
    fn no_or_several_local_entries_are_errors() {
        let conf = parse_str(TWO_NODES, "t").unwrap().conf;
        assert!(matches!(
            local_node(&conf, None, &[addr("192.168.9.9", "255.255.255.0")]),
            Err(IdentityError::NotInNodelist(_))
        ));
        let both = [addr("10.0.0.1", "255.0.0.0"), addr("10.0.0.2", "255.0.0.0")];
        assert!(matches!(
            local_node(&conf, None, &both),
            Err(IdentityError::Ambiguous(_))
        ));
    }

    #[test]
    fn udp_without_nodelist_derives_the_id_from_the_address_in_bindnetaddr() {
        let conf = parse_str(
            "totem {\n interface {\n  bindnetaddr: 192.168.2.0\n  mcastaddr: 226.94.1.1\n }\n}\n",
            "t",
        )
        .unwrap()
        .conf;
        let local = [
            addr("127.0.0.1", "255.0.0.0"),
            addr("192.168.2.102", "255.255.255.0"),
        ];
        let me = local_node(&conf, None, &local).unwrap();
        assert_eq!(me.address.to_string(), "192.168.2.102");
        assert_eq!(me.nodeid, 0xC0A8_0266);
        assert_eq!(local_node(&conf, Some(5), &local).unwrap().nodeid, 5);
        assert!(matches!(
            local_node(&conf, None, &local[..1]),
            Err(IdentityError::NoBindAddress(_))
        ));
    }
}
