//! `RingConfig`: everything the ring core needs to know about the cluster, already validated.
//!
//! Built by the shell from `ha.conf` (see `RingConfig::from_conf`) or directly by tests. No I/O.

use std::fmt;
use std::net::SocketAddr;

use serde::Serialize;

use super::quorum::QuorumConfig;

/// A node's id in the cluster (corosync's `nodeid`). Zero is never a valid id.
pub type NodeId = u32;

/// Upper bound on configured or discovered nodes; joins and commit tokens stay bounded.
pub const MAX_NODES: usize = 128;
/// Bytes of a datagram that are not message data: IPv4 and UDP headers (28), our header
/// (28), HMAC (32), GCM tag (16) and the ordered-message header of a resent message (86).
pub const FRAME_OVERHEAD: usize = 190;
/// Bytes of a datagram around its message body: IPv4 and UDP headers (28), our header (28),
/// HMAC (32) and GCM tag (16).
pub const DATAGRAM_FRAMING: usize = 104;
/// Largest fragment: a maximal UDP datagram less the overhead.
pub const MAX_FRAGMENT_BYTES: usize = super::wire::MAX_DATAGRAM + 28 - FRAME_OVERHEAD;

/// One node of the nodelist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingNode {
    /// Node id.
    pub id: NodeId,
    /// Display name (`name:` or the address).
    pub name: String,
    /// Where its ring traffic goes (`ring0_addr` and the port).
    pub addr: SocketAddr,
    /// Votes this node contributes to quorum (`quorum_votes`, default 1).
    pub votes: u32,
}

/// How datagrams reach the other nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Transport {
    /// Unicast to every node's address (`transport: udpu`).
    Udpu,
    /// Multicast to a group; unknown nodes are discovered as they appear (`transport: udp`).
    Udp {
        /// Multicast group and port.
        group: SocketAddr,
    },
}

/// Validated ring settings. Durations are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingConfig {
    /// `cluster_name`: datagrams from another cluster are dropped.
    pub cluster_name: String,
    /// This node's id.
    pub local_id: NodeId,
    /// The nodelist (with udp transport it may hold only this node).
    pub nodes: Vec<RingNode>,
    /// Transport.
    pub transport: Transport,
    /// Token timeout: a ring without a token for this long is declared broken.
    pub token_ms: u64,
    /// Resend the token when no sign of the successor having it arrives within this time.
    pub token_retransmit_ms: u64,
    /// How long the representative keeps an idle token before passing it on.
    pub hold_ms: u64,
    /// Interval between join messages while gathering.
    pub join_ms: u64,
    /// Consensus timeout: nodes that have not agreed by then are left out.
    pub consensus_ms: u64,
    /// Interval between merge-detect beacons sent to non-members.
    pub merge_ms: u64,
    /// Most messages one node sends per token visit.
    pub max_messages: u32,
    /// Most messages outstanding on the ring (flow control window).
    pub window_size: u32,
    /// Largest piece of a message in one datagram (`netmtu` less the headers); larger
    /// messages are fragmented, smaller ones share datagrams up to `netmtu`.
    pub fragment_bytes: usize,
    /// Encrypt datagrams with AES-256-GCM in addition to the HMAC.
    pub encrypt: bool,
    /// Vote rules.
    pub quorum: QuorumConfig,
    /// Boot identifier; must grow across restarts of this node (the shell uses wall-clock
    /// microseconds). Peers reject datagrams from older incarnations as replays.
    pub incarnation: u64,
}

/// Why a `RingConfig` was refused. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The local id is not in the nodelist (udpu) or is zero.
    LocalNodeMissing(NodeId),
    /// Two nodes share an id.
    DuplicateNode(NodeId),
    /// Node id zero.
    ZeroNodeId,
    /// More than `MAX_NODES` nodes.
    TooManyNodes(usize),
    /// A timeout or size out of range.
    BadValue(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::LocalNodeMissing(id) => {
                write!(f, "local node {id} is not in the nodelist")
            }
            ConfigError::DuplicateNode(id) => write!(f, "node id {id} appears twice"),
            ConfigError::ZeroNodeId => write!(f, "node id 0 is not allowed"),
            ConfigError::TooManyNodes(n) => write!(f, "{n} nodes (at most {MAX_NODES})"),
            ConfigError::BadValue(what) => write!(f, "{what} is out of range"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl RingConfig {
    /// Largest encoded message body one datagram may carry: `netmtu` less the framing.
    pub fn body_budget(&self) -> usize {
        self.fragment_bytes + FRAME_OVERHEAD - DATAGRAM_FRAMING
    }

    /// Defaults from corosync's totem section for the given nodes: token 1000 ms,
    /// consensus 1.2 × token, join 50 ms, udpu, encryption on.
    pub fn new(cluster_name: &str, local_id: NodeId, nodes: Vec<RingNode>) -> RingConfig {
        let mut config = RingConfig {
            cluster_name: cluster_name.to_string(),
            local_id,
            nodes,
            transport: Transport::Udpu,
            token_ms: 1000,
            token_retransmit_ms: 0,
            hold_ms: 20,
            join_ms: 50,
            consensus_ms: 0,
            merge_ms: 200,
            max_messages: 256,
            window_size: 1024,
            fragment_bytes: 1500 - FRAME_OVERHEAD,
            encrypt: true,
            quorum: QuorumConfig::default(),
            incarnation: 1,
        };
        config.set_token_ms(1000);
        config
    }

    /// Sets the token timeout and the values corosync derives from it.
    pub fn set_token_ms(&mut self, token_ms: u64) {
        self.token_ms = token_ms;
        // corosync: token_retransmit = token / (retransmits_before_loss + 0.2), with 4 retries.
        self.token_retransmit_ms = (token_ms * 10 / 42).max(1);
        self.consensus_ms = token_ms * 12 / 10;
    }

    /// Checks ids, bounds and timeouts.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_id == 0 {
            return Err(ConfigError::ZeroNodeId);
        }
        if self.nodes.len() > MAX_NODES {
            return Err(ConfigError::TooManyNodes(self.nodes.len()));
        }
        let mut ids: Vec<NodeId> = self.nodes.iter().map(|n| n.id).collect();
        ids.sort_unstable();
        if ids.first() == Some(&0) {
            return Err(ConfigError::ZeroNodeId);
        }
        if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicateNode(pair[0]));
        }
        if self.transport == Transport::Udpu && !ids.contains(&self.local_id) {
            return Err(ConfigError::LocalNodeMissing(self.local_id));
        }
        if self.token_ms < 10 || self.token_ms > 600_000 {
            return Err(ConfigError::BadValue("token"));
        }
        if self.consensus_ms < self.token_ms {
            return Err(ConfigError::BadValue("consensus (must be at least token)"));
        }
        if self.join_ms == 0 || self.join_ms >= self.consensus_ms {
            return Err(ConfigError::BadValue("join"));
        }
        if self.hold_ms >= self.token_retransmit_ms {
            return Err(ConfigError::BadValue("hold"));
        }
        if !(256..=MAX_FRAGMENT_BYTES).contains(&self.fragment_bytes) {
            return Err(ConfigError::BadValue("netmtu"));
        }
        if self.max_messages == 0 || self.window_size < self.max_messages {
            return Err(ConfigError::BadValue("window_size"));
        }
        Ok(())
    }

    /// The configured entry for `id`.
    pub fn node(&self, id: NodeId) -> Option<&RingNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Votes of `id` (1 for nodes discovered over multicast).
    pub fn votes(&self, id: NodeId) -> u32 {
        self.node(id).map_or(1, |n| n.votes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: NodeId) -> RingNode {
        RingNode {
            id,
            name: format!("n{id}"),
            addr: format!("127.0.0.{id}:5405").parse().unwrap(),
            votes: 1,
        }
    }

    #[test]
    fn defaults_validate() {
        RingConfig::new("c", 1, vec![node(1), node(2)])
            .validate()
            .unwrap();
    }

    #[test]
    fn totem_timeouts_and_flow_keys_of_the_conf_are_honoured() {
        let text = "totem {\n version: 2\n cluster_name: c\n token: 2000\n consensus: 3000\n                     join: 80\n netmtu: 9000\n window_size: 500\n max_messages: 100\n}\n\
                    nodelist {\n node {\n ring0_addr: 127.0.0.1\n nodeid: 1\n }\n}\n";
        let conf = crate::conf::parse_str(text, "ha.conf").unwrap().conf;
        let ip = "127.0.0.1".parse().unwrap();
        let config = RingConfig::from_conf(&conf, 1, ip, false, 1).unwrap();
        assert_eq!(
            (config.token_ms, config.consensus_ms, config.join_ms),
            (2000, 3000, 80)
        );
        assert_eq!(config.fragment_bytes, 9000 - FRAME_OVERHEAD);
        assert_eq!((config.window_size, config.max_messages), (500, 100));
    }

    #[test]
    fn duplicate_and_missing_ids_are_refused() {
        let config = RingConfig::new("c", 1, vec![node(1), node(1)]);
        assert_eq!(config.validate(), Err(ConfigError::DuplicateNode(1)));
        let config = RingConfig::new("c", 3, vec![node(1), node(2)]);
        assert_eq!(config.validate(), Err(ConfigError::LocalNodeMissing(3)));
    }
}

/// Why `RingConfig::from_conf` refused a configuration. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromConfError(pub String);

impl fmt::Display for FromConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FromConfError {}

impl RingConfig {
    /// The ring settings of a parsed `ha.conf` for local node `local`, whose ring address is
    /// `local_addr`. `encrypt` is decided by the caller (it depends on whether a key exists).
    pub fn from_conf(
        conf: &crate::conf::HaConf,
        local_id: NodeId,
        local_addr: std::net::IpAddr,
        encrypt: bool,
        incarnation: u64,
    ) -> Result<RingConfig, FromConfError> {
        use crate::conf::model::Transport as ConfTransport;
        let port = conf.port();
        let mut nodes: Vec<RingNode> = conf
            .nodes
            .iter()
            .map(|n| RingNode {
                id: n.nodeid,
                name: n.display_name(),
                addr: SocketAddr::new(n.ring0_addr, port),
                votes: n.quorum_votes,
            })
            .collect();
        let transport = match conf.totem.transport {
            ConfTransport::Udpu => Transport::Udpu,
            ConfTransport::Udp => {
                let group = conf
                    .ring0_interface()
                    .and_then(|i| i.mcastaddr)
                    .ok_or_else(|| {
                        FromConfError("transport udp needs totem.interface.mcastaddr".into())
                    })?;
                Transport::Udp {
                    group: SocketAddr::new(group, port),
                }
            }
        };
        if nodes.iter().all(|n| n.id != local_id) {
            nodes.push(RingNode {
                id: local_id,
                name: local_addr.to_string(),
                addr: SocketAddr::new(local_addr, port),
                votes: 1,
            });
        }
        let mut config = RingConfig::new(&conf.totem.cluster_name, local_id, nodes);
        config.transport = transport;
        config.set_token_ms(conf.totem.token_ms);
        config.consensus_ms = conf.totem.consensus_ms.max(conf.totem.token_ms);
        config.join_ms = conf.totem.join_ms;
        let retransmits = u64::from(conf.totem.token_retransmits_before_loss_const.max(1));
        config.token_retransmit_ms = (conf.totem.token_ms * 10 / (retransmits * 10 + 2)).max(1);
        config.hold_ms = config
            .hold_ms
            .min(config.token_retransmit_ms.saturating_sub(1));
        config.fragment_bytes = (conf.totem.netmtu as usize).saturating_sub(FRAME_OVERHEAD);
        config.window_size = conf.totem.window_size;
        config.max_messages = conf.totem.max_messages;
        config.encrypt = encrypt;
        config.incarnation = incarnation;
        config.quorum = super::quorum::QuorumConfig {
            expected_votes: conf.quorum.expected_votes,
            two_node: conf.quorum.two_node,
            wait_for_all: conf.quorum.wait_for_all,
        };
        if matches!(config.transport, Transport::Udp { .. }) && conf.nodes.is_empty() {
            // Discovered nodes are not listed: expected votes come only from the config.
            config.nodes.retain(|n| n.id == local_id);
        }
        config
            .validate()
            .map_err(|e| FromConfError(e.to_string()))?;
        Ok(config)
    }
}
