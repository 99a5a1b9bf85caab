//! The ring core: a Totem-style single-ring protocol as a pure state machine.
//!
//! Operational: a token circulates through the members in id order; only its holder assigns
//! sequence numbers, so every member delivers in the same order. The token's `aru` tells
//! what everybody has (messages below it are freed) and its `rtr` list asks for
//! retransmissions. Losing the token for `token_ms` starts the membership protocol:
//! gather (join messages until every live node announces the same sets), commit (a commit
//! token goes round twice, collecting each member's previous ring and progress) and
//! recovery (members that come from the same previous ring resend its messages in the new
//! ring until all have all of them, then every one delivers the same prefix and installs
//! the new view at the same point of the stream).
//!
//! No sockets, clocks, threads or environment here: `handle` is told the time.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use super::auth::{Auth, AuthKey};
use super::config::{MAX_NODES, NodeId, RingConfig, Transport};
use super::group::{
    ClientId, GroupEvent, GroupMsg, Groups, MAX_GROUP_NAME, MAX_GROUPS_PER_CLIENT, Member,
};
use super::quorum::{self, QuorumState};
use super::timer::{Timer, Timers};
use super::wire::{
    Commit, CommitEntry, DropReason, Fragment, Join, MAX_DATAGRAM, MCASTS_OVERHEAD, Mcast,
    McastBody, Message, RingId, Token,
};
use crate::rng::Rng;

/// Largest application message (bytes before fragmentation).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Bound on bytes queued for sending; past it `GroupSend` fails with `QueueFull`.
pub const MAX_QUEUED_BYTES: usize = 64 << 20;
/// Buffers kept for reuse (a broadcast needs one per other member).
const SPARE_DATAGRAMS: usize = 8;
/// Bound on sequence numbers requested in one token.
const MAX_RTR: usize = 256;
/// Messages further than this past our all-received point are dropped (resent later).
const MAX_AHEAD: u64 = 1 << 16;
/// After a token loss, a member whose join has not been heard within this many join
/// intervals is failed without waiting for the consensus timeout. A live member answers
/// the first join within a round trip; the extra intervals cover lost joins.
pub const SUSPECT_JOIN_INTERVALS: u64 = 2;
/// Token visits in a row with a message missing and our all-received point not moving
/// before we give up on receiving it (Totem's fail-to-receive): the retransmissions asked
/// for cannot reach us, and staying would hold the whole ring's window shut.
pub const FAIL_TO_RECEIVE_VISITS: u32 = 100;

/// What the shell hands the core.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram from the ring socket.
    Datagram {
        /// Source address.
        from: SocketAddr,
        /// Payload.
        bytes: &'a [u8],
    },
    /// A deadline passed (extra ticks are harmless).
    Tick,
    /// A local request.
    Request(Request),
}

/// Local requests (from control-socket clients or the shell).
#[derive(Debug, Clone)]
pub enum Request {
    /// Join a process group.
    GroupJoin {
        /// Client.
        client: ClientId,
        /// Group name.
        group: String,
    },
    /// Leave a process group.
    GroupLeave {
        /// Client.
        client: ClientId,
        /// Group name.
        group: String,
    },
    /// Send to a group (the client must have joined it).
    GroupSend {
        /// Client.
        client: ClientId,
        /// Group name.
        group: String,
        /// Payload, up to `MAX_MESSAGE` bytes.
        data: Vec<u8>,
    },
    /// A client disconnected: it leaves all its groups.
    ClientGone {
        /// Client.
        client: ClientId,
    },
    /// Replace the configuration (same local id); a changed nodelist reforms the ring.
    Reload(Box<RingConfig>),
    /// Leave the ring cleanly and stop.
    Shutdown,
}

/// Why a request was refused. Nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestError {
    /// The client is not in that group.
    NotJoined,
    /// The client is already in that group.
    AlreadyJoined,
    /// Empty or longer than 128 bytes.
    BadGroupName,
    /// Message over 1 MiB.
    TooLarge,
    /// Send queue is full; retry later.
    QueueFull,
    /// Client is in too many groups.
    TooManyGroups,
    /// The new configuration is invalid or changes the local node id.
    BadConfig(String),
    /// The node is shutting down.
    Stopped,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::NotJoined => write!(f, "not a member of that group"),
            RequestError::AlreadyJoined => write!(f, "already a member of that group"),
            RequestError::BadGroupName => {
                write!(f, "group name must be 1..={MAX_GROUP_NAME} bytes")
            }
            RequestError::TooLarge => write!(f, "message larger than {MAX_MESSAGE} bytes"),
            RequestError::QueueFull => write!(f, "send queue full"),
            RequestError::TooManyGroups => write!(f, "client is in too many groups"),
            RequestError::BadConfig(why) => write!(f, "configuration refused: {why}"),
            RequestError::Stopped => write!(f, "ring is shutting down"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Why the membership protocol started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "node", rename_all = "snake_case")]
pub enum GatherReason {
    /// Node start.
    Boot,
    /// No token within `token_ms`.
    TokenLoss,
    /// A join from another node.
    JoinFrom(NodeId),
    /// A beacon from another ring.
    Merge(NodeId),
    /// A member announced it leaves.
    Leave(NodeId),
    /// A member restarted (new incarnation).
    Restarted(NodeId),
    /// The nodelist changed.
    Reload,
    /// Messages the ring has did not reach us for many token visits (one-way cut): we
    /// leave and form our own ring, and merge back when the traffic flows again.
    FailedToReceive,
}

/// Something that happened, for logs, subscribers and tests. JSON tagged by `type`, e.g.
/// `{"type":"view","ring":{"seq":4,"rep":1,"incarnation":7},"members":[1,2,3],"joined":[3],"left":[],"transitional":[1,2]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RingEvent {
    /// Membership protocol started.
    Gather {
        /// Why.
        reason: GatherReason,
    },
    /// A new ring was installed.
    View {
        /// Its id.
        ring: RingId,
        /// Members, sorted.
        members: Vec<NodeId>,
        /// Members not in the previous view.
        joined: Vec<NodeId>,
        /// Previous members not in this view.
        left: Vec<NodeId>,
        /// Members that came from our previous ring with us.
        transitional: Vec<NodeId>,
    },
    /// Quorum changed.
    Quorum(QuorumState),
    /// One ordered message was delivered (ring order); only with
    /// [`Node::set_delivery_trace`].
    Delivered {
        /// Ring it was ordered in.
        ring: RingId,
        /// Its sequence there.
        seq: u64,
        /// Sender.
        origin: NodeId,
        /// FNV-1a of the fragment bytes.
        digest: u64,
    },
    /// A datagram was dropped (the shell rate-limits logging these).
    Dropped {
        /// Why.
        reason: DropReason,
        /// Source address.
        from: SocketAddr,
    },
    /// The node left the ring after `Shutdown`; the shell may exit.
    Stopped,
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a datagram.
    Send {
        /// Destination.
        to: SocketAddr,
        /// Bytes.
        bytes: Vec<u8>,
    },
    /// Report an event.
    Event(RingEvent),
    /// Deliver to a local client.
    Group {
        /// Client.
        client: ClientId,
        /// Event.
        event: GroupEvent,
    },
    /// Answer to the request just handled.
    Reply(Result<(), RequestError>),
}

/// Drop and traffic counters. Every field is always present in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Datagrams handed to the core.
    pub datagrams_in: u64,
    /// Datagrams the core asked to send.
    pub datagrams_out: u64,
    /// Dropped: too short.
    pub dropped_truncated: u64,
    /// Dropped: too long.
    pub dropped_oversized: u64,
    /// Dropped: bad structure.
    pub dropped_malformed: u64,
    /// Dropped: unknown wire version.
    pub dropped_version: u64,
    /// Dropped: another cluster name.
    pub dropped_foreign_cluster: u64,
    /// Dropped: sender not in the nodelist.
    pub dropped_unknown_node: u64,
    /// Dropped: authentication failed.
    pub dropped_bad_mac: u64,
    /// Dropped: replayed.
    pub dropped_replay: u64,
    /// Dropped: authentic but stale (old ring, duplicate).
    pub dropped_stale: u64,
    /// Requests sent to the representative to pass on an idle token (see `hold_ms`).
    pub token_requests: u64,
    /// Messages resent on request.
    pub retransmits: u64,
    /// Tokens resent.
    pub token_retransmits: u64,
    /// Times the membership protocol started.
    pub gathers: u64,
    /// Rings installed.
    pub views: u64,
    /// Ordered messages delivered.
    pub delivered: u64,
}

/// A member in `RingStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStatus {
    /// Node id.
    pub id: NodeId,
    /// Name from the nodelist (the address for discovered nodes).
    pub name: String,
    /// Ring address, `null` when unknown.
    pub addr: Option<String>,
    /// Quorum votes.
    pub votes: u32,
    /// How long it has been a member without interruption.
    pub member_for_ms: u64,
}

/// A read-only snapshot of the node. JSON example (abridged):
/// `{"node_id":1,"cluster_name":"hacluster","phase":"operational","ring":{"seq":3,"rep":1,"incarnation":5},
///   "members":[{"id":1,"name":"n1","addr":"127.0.0.1:5405","votes":1,"member_for_ms":1200}],
///   "quorum":{...},"counters":{...},"queued_messages":0,"groups":{"g":[{"node":1,"client":16}]}}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RingStatus {
    /// Local node id.
    pub node_id: NodeId,
    /// Cluster name.
    pub cluster_name: String,
    /// `gather`, `commit`, `recovery`, `operational` or `stopped`.
    pub phase: &'static str,
    /// Installed ring, `null` before the first.
    pub ring: Option<RingId>,
    /// Members of the installed ring.
    pub members: Vec<MemberStatus>,
    /// Quorum.
    pub quorum: QuorumState,
    /// `udpu` or `udp`.
    pub transport: &'static str,
    /// Datagrams are encrypted.
    pub encrypted: bool,
    /// Token timeout.
    pub token_ms: u64,
    /// Counters.
    pub counters: Counters,
    /// Fragments waiting for the token.
    pub queued_messages: usize,
    /// Process groups and their members.
    pub groups: BTreeMap<String, Vec<Member>>,
}

struct View {
    ring: RingId,
    members: Vec<NodeId>,
    incarnations: BTreeMap<NodeId, u64>,
}

struct JoinSeen {
    proc_set: BTreeSet<NodeId>,
    fail_set: BTreeSet<NodeId>,
    at: Instant,
}

struct Gather {
    proc_set: BTreeSet<NodeId>,
    fail_set: BTreeSet<NodeId>,
    /// Joins heard in this gather round.
    joins: BTreeMap<NodeId, JoinSeen>,
    period_start: Instant,
    /// Members of the ring whose token was lost: failed early unless their join comes.
    suspects: BTreeSet<NodeId>,
}

struct CommitWait {
    ring: RingId,
    members: Vec<NodeId>,
    last_token_seq: u64,
}

/// Messages of one ring as seen by this member.
struct RingState {
    ring: RingId,
    members: Vec<NodeId>,
    store: BTreeMap<u64, (NodeId, McastBody)>,
    my_aru: u64,
    high: u64,
    delivered: u64,
    last_token_seq: u64,
    previous_aru: u64,
    /// Our all-received point at the previous token visit, and how many visits in a row it
    /// stayed below the token's sequence without moving.
    aru_at_last_visit: u64,
    stuck_visits: u32,
}

impl RingState {
    fn new(ring: RingId, members: Vec<NodeId>) -> RingState {
        RingState {
            ring,
            members,
            store: BTreeMap::new(),
            my_aru: 0,
            high: 0,
            delivered: 0,
            last_token_seq: 0,
            previous_aru: 0,
            aru_at_last_visit: 0,
            stuck_visits: 0,
        }
    }

    /// Whether `seq` is new to us.
    fn wants(&self, seq: u64) -> bool {
        seq > self.my_aru && !self.store.contains_key(&seq)
    }

    fn insert(&mut self, seq: u64, origin: NodeId, body: McastBody) -> bool {
        if !self.wants(seq) {
            return false;
        }
        self.store.insert(seq, (origin, body));
        self.high = self.high.max(seq);
        while self.store.contains_key(&(self.my_aru + 1)) {
            self.my_aru += 1;
        }
        true
    }
}

struct Recovery {
    ring: RingState,
    queue: VecDeque<McastBody>,
    entries: Vec<CommitEntry>,
    commit_seq: u64,
    token_started: bool,
}

/// The installed ring's messages, kept while the next ring forms.
struct OldRing {
    ring: RingId,
    delivered: u64,
    store: BTreeMap<u64, (NodeId, Fragment)>,
}

enum Phase {
    Gather(Gather),
    Commit(CommitWait),
    Recovery(Box<Recovery>),
    Operational(Box<RingState>),
    Stopped,
}

struct Partial {
    msg_id: u64,
    next_index: u32,
    count: u32,
    data: Vec<u8>,
}

/// One node's ring protocol state. Calling contract: `now` never decreases between calls;
/// after every `handle`, call `next_deadline` and tick the node at (or after) it.
pub struct Node {
    config: RingConfig,
    auth: Auth,
    rng: Rng,
    now: Instant,
    phase: Phase,
    timers: Timers,
    ring_seq_max: u64,
    view: Option<View>,
    old: Option<OldRing>,
    queue: VecDeque<Fragment>,
    queued_bytes: usize,
    next_msg_id: u64,
    partial: HashMap<NodeId, Partial>,
    groups: Groups,
    seen_all: bool,
    quorum: QuorumState,
    counters: Counters,
    learned: BTreeMap<NodeId, SocketAddr>,
    retransmit: Option<(NodeId, Message)>,
    held: Option<Token>,
    rotation_seq: u64,
    quiet_rotations: u32,
    member_since: BTreeMap<NodeId, Instant>,
    out: Vec<Output>,
    /// Buffers handed back by the shell (`recycle`), reused for the next datagrams and
    /// deliveries: datagram-sized blocks are above the C allocator's fast per-thread cache.
    spare_datagrams: Vec<Vec<u8>>,
    /// Report every delivered fragment (`RingEvent::Delivered`); off in the daemon.
    trace_deliveries: bool,
}

impl Node {
    /// A node that starts gathering at `now`. `config` must have passed `validate`.
    pub fn new(config: RingConfig, key: AuthKey, seed: u64, now: Instant) -> Node {
        let auth = Auth::new(
            &key,
            &config.cluster_name,
            config.local_id,
            config.incarnation,
            config.encrypt,
        );
        let quorum = quorum::evaluate(&config.quorum, nodelist_votes(&config), 0, false);
        let mut node = Node {
            auth,
            rng: Rng::new(seed ^ u64::from(config.local_id)),
            now,
            phase: Phase::Stopped,
            timers: Timers::default(),
            ring_seq_max: 0,
            view: None,
            old: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            next_msg_id: 1,
            partial: HashMap::new(),
            groups: Groups::default(),
            seen_all: false,
            quorum,
            counters: Counters::default(),
            learned: BTreeMap::new(),
            retransmit: None,
            held: None,
            rotation_seq: 0,
            quiet_rotations: 0,
            member_since: BTreeMap::new(),
            out: Vec::new(),
            spare_datagrams: Vec::new(),
            trace_deliveries: false,
            config,
        };
        node.enter_gather(GatherReason::Boot);
        node
    }

    /// Feeds one input; returns what to send, deliver and report, in order.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) -> Vec<Output> {
        debug_assert!(now >= self.now, "time went backwards");
        self.now = self.now.max(now);
        match input {
            Input::Datagram { from, bytes } => self.on_datagram(from, bytes),
            Input::Tick => self.on_tick(),
            Input::Request(request) => self.on_request(request),
        }
        if cfg!(debug_assertions) {
            self.check_invariants();
        }
        std::mem::take(&mut self.out)
    }

    /// Hands back a buffer the node gave out (the bytes of an `Output::Send` once sent, the
    /// data of a delivered `GroupEvent::Message` once used) for reuse by later datagrams and
    /// deliveries. Optional: without it each of those is freshly allocated.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        if self.spare_datagrams.len() < SPARE_DATAGRAMS && bytes.capacity() <= MAX_DATAGRAM {
            self.spare_datagrams.push(bytes);
        }
    }

    /// Turns `RingEvent::Delivered` on or off (off by default). The simulation checks
    /// order and virtual synchrony with them; the daemon has no use for one event and one
    /// digest of every fragment.
    pub fn set_delivery_trace(&mut self, on: bool) {
        self.trace_deliveries = on;
    }

    /// Earliest time the node wants a `Tick`.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Whether the node has stopped after `Shutdown`.
    pub fn is_stopped(&self) -> bool {
        matches!(self.phase, Phase::Stopped)
    }

    /// The current quorum state.
    pub fn quorum(&self) -> QuorumState {
        self.quorum
    }

    /// The key fingerprint-independent snapshot of state and counters.
    pub fn status(&self) -> RingStatus {
        let members = self.view.as_ref().map_or_else(Vec::new, |view| {
            view.members
                .iter()
                .map(|&id| MemberStatus {
                    id,
                    name: self.config.node(id).map_or_else(
                        || {
                            self.addr_of(id)
                                .map_or(id.to_string(), |a| a.ip().to_string())
                        },
                        |n| n.name.clone(),
                    ),
                    addr: self.addr_of(id).map(|a| a.to_string()),
                    votes: self.config.votes(id),
                    member_for_ms: self.member_since.get(&id).map_or(0, |since| {
                        self.now.duration_since(*since).as_millis() as u64
                    }),
                })
                .collect()
        });
        RingStatus {
            node_id: self.config.local_id,
            cluster_name: self.config.cluster_name.clone(),
            phase: match self.phase {
                Phase::Gather(_) => "gather",
                Phase::Commit(_) => "commit",
                Phase::Recovery(_) => "recovery",
                Phase::Operational(_) => "operational",
                Phase::Stopped => "stopped",
            },
            ring: self.view.as_ref().map(|v| v.ring),
            members,
            quorum: self.quorum,
            transport: match self.config.transport {
                Transport::Udpu => "udpu",
                Transport::Udp { .. } => "udp",
            },
            encrypted: self.config.encrypt,
            token_ms: self.config.token_ms,
            counters: self.counters.clone(),
            queued_messages: self.queue.len(),
            groups: self.groups.snapshot(),
        }
    }

    fn local(&self) -> NodeId {
        self.config.local_id
    }

    // ---- input dispatch ------------------------------------------------------------

    fn on_datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.counters.datagrams_in += 1;
        if self.is_stopped() {
            return;
        }
        let udp = matches!(self.config.transport, Transport::Udp { .. });
        let config = &self.config;
        let opened = self.auth.open(bytes, |id| udp || config.node(id).is_some());
        let (header, body) = match opened {
            Ok(opened) => opened,
            Err(reason) => return self.drop_datagram(reason, from),
        };
        if header.sender == self.local() {
            return; // our own multicast looping back
        }
        if udp && self.learned.len() < MAX_NODES {
            self.learned.insert(header.sender, from);
        }
        let message = match Message::decode_owned(body) {
            Ok(message) => message,
            Err(reason) => return self.drop_datagram(reason, from),
        };
        if self.has_restarted(header.sender, header.incarnation) {
            self.enter_gather(GatherReason::Restarted(header.sender));
        }
        match message {
            Message::Join(join) => self.on_join(header.sender, join),
            Message::Commit(commit) => self.on_commit(commit),
            Message::Token(token) => self.on_token(token),
            Message::Mcast(mcast) => self.on_mcast(mcast),
            Message::Mcasts(mcasts) => {
                for mcast in mcasts {
                    self.on_mcast(mcast);
                }
            }
            Message::MergeDetect { ring } => self.on_merge_detect(header.sender, ring),
            Message::Leave { ring: _ } => self.on_leave(header.sender),
            Message::TokenWanted { ring } => self.on_token_wanted(header.sender, ring),
        }
    }

    fn drop_datagram(&mut self, reason: DropReason, from: SocketAddr) {
        let counter = match reason {
            DropReason::Truncated => &mut self.counters.dropped_truncated,
            DropReason::Oversized => &mut self.counters.dropped_oversized,
            DropReason::Malformed => &mut self.counters.dropped_malformed,
            DropReason::Version => &mut self.counters.dropped_version,
            DropReason::ForeignCluster => &mut self.counters.dropped_foreign_cluster,
            DropReason::UnknownNode => &mut self.counters.dropped_unknown_node,
            DropReason::BadMac => &mut self.counters.dropped_bad_mac,
            DropReason::Replay => &mut self.counters.dropped_replay,
            DropReason::Stale => &mut self.counters.dropped_stale,
        };
        *counter += 1;
        if reason != DropReason::Stale {
            self.out
                .push(Output::Event(RingEvent::Dropped { reason, from }));
        }
    }

    fn stale(&mut self) {
        self.counters.dropped_stale += 1;
    }

    /// A member of the installed ring speaking with a newer incarnation has restarted and
    /// lost its state: the ring must reform.
    fn has_restarted(&mut self, sender: NodeId, incarnation: u64) -> bool {
        let operational = matches!(
            self.phase,
            Phase::Operational(_) | Phase::Recovery(_) | Phase::Commit(_)
        );
        let Some(view) = self.view.as_mut() else {
            return false;
        };
        if !view.members.contains(&sender) {
            return false;
        }
        match view.incarnations.insert(sender, incarnation) {
            Some(known) if incarnation > known => operational,
            Some(known) => {
                view.incarnations.insert(sender, known);
                false
            }
            None => false,
        }
    }

    fn on_tick(&mut self) {
        for timer in self.timers.take_due(self.now) {
            match timer {
                Timer::TokenLoss => match self.phase {
                    Phase::Operational(_) | Phase::Recovery(_) | Phase::Commit(_) => {
                        self.enter_gather(GatherReason::TokenLoss)
                    }
                    Phase::Gather(_) | Phase::Stopped => {}
                },
                Timer::TokenRetransmit => {
                    if let Some((to, message)) = self.retransmit.clone() {
                        self.counters.token_retransmits += 1;
                        self.send_to(to, &message);
                        self.timers.arm(
                            Timer::TokenRetransmit,
                            self.now,
                            self.config.token_retransmit_ms,
                        );
                    }
                }
                Timer::TokenHold => {
                    if let Some(token) = self.held.take() {
                        self.process_token(token, false);
                    }
                }
                Timer::Join => {
                    if matches!(self.phase, Phase::Gather(_)) {
                        self.send_join();
                        self.timers.arm(Timer::Join, self.now, self.config.join_ms);
                    }
                }
                Timer::Suspect => self.on_suspect_timeout(),
                Timer::Consensus => self.on_consensus_timeout(),
                Timer::Merge => self.send_merge_detect(),
            }
        }
    }

    fn on_request(&mut self, request: Request) {
        let result = self.apply_request(request);
        self.out.push(Output::Reply(result));
    }

    fn apply_request(&mut self, request: Request) -> Result<(), RequestError> {
        if self.is_stopped() {
            return Err(RequestError::Stopped);
        }
        match request {
            Request::GroupJoin { client, group } => {
                check_group_name(&group)?;
                if self.groups.is_locally_joined(client, &group) {
                    return Err(RequestError::AlreadyJoined);
                }
                if self.groups.local_group_count(client) >= MAX_GROUPS_PER_CLIENT {
                    return Err(RequestError::TooManyGroups);
                }
                self.groups.request_join(client, &group);
                self.enqueue(GroupMsg::Join { group, client }.encode());
                Ok(())
            }
            Request::GroupLeave { client, group } => {
                if !self.groups.is_locally_joined(client, &group) {
                    return Err(RequestError::NotJoined);
                }
                self.groups.request_leave(client, &group);
                self.enqueue(GroupMsg::Leave { group, client }.encode());
                Ok(())
            }
            Request::GroupSend {
                client,
                group,
                data,
            } => {
                if !self.groups.is_locally_joined(client, &group) {
                    return Err(RequestError::NotJoined);
                }
                if data.len() > MAX_MESSAGE {
                    return Err(RequestError::TooLarge);
                }
                if self.queued_bytes + data.len() > MAX_QUEUED_BYTES {
                    return Err(RequestError::QueueFull);
                }
                self.enqueue(
                    GroupMsg::Data {
                        group,
                        client,
                        data,
                    }
                    .encode(),
                );
                Ok(())
            }
            Request::ClientGone { client } => {
                for group in self.groups.forget_client(client) {
                    self.enqueue(GroupMsg::Leave { group, client }.encode());
                }
                Ok(())
            }
            Request::Reload(config) => self.reload(*config),
            Request::Shutdown => {
                let ring = self.view.as_ref().map(|v| v.ring);
                // Sent twice: one lost datagram should not cost the peers a token timeout.
                for _ in 0..2 {
                    self.broadcast_all(&Message::Leave { ring });
                }
                self.phase = Phase::Stopped;
                self.timers.clear();
                self.held = None;
                self.retransmit = None;
                self.out.push(Output::Event(RingEvent::Stopped));
                Ok(())
            }
        }
    }

    fn reload(&mut self, mut config: RingConfig) -> Result<(), RequestError> {
        config
            .validate()
            .map_err(|e| RequestError::BadConfig(e.to_string()))?;
        if config.local_id != self.config.local_id
            || config.cluster_name != self.config.cluster_name
        {
            return Err(RequestError::BadConfig(
                "node id and cluster name cannot change at run time".into(),
            ));
        }
        config.incarnation = self.config.incarnation;
        let nodes_changed = config.nodes != self.config.nodes;
        self.config = config;
        self.update_quorum();
        if nodes_changed {
            self.enter_gather(GatherReason::Reload);
        }
        Ok(())
    }

    // ---- membership: gather ----------------------------------------------------------

    fn enter_gather(&mut self, reason: GatherReason) {
        self.out.push(Output::Event(RingEvent::Gather { reason }));
        self.counters.gathers += 1;
        match std::mem::replace(&mut self.phase, Phase::Stopped) {
            Phase::Operational(ring) => self.old = Some(old_ring_from(*ring)),
            Phase::Recovery(_) | Phase::Commit(_) | Phase::Gather(_) | Phase::Stopped => {}
        }
        self.held = None;
        self.retransmit = None;
        for timer in [
            Timer::TokenLoss,
            Timer::TokenHold,
            Timer::TokenRetransmit,
            Timer::Merge,
        ] {
            self.timers.cancel(timer);
        }
        let mut proc_set: BTreeSet<NodeId> = self
            .view
            .as_ref()
            .map(|v| v.members.iter().copied().collect())
            .unwrap_or_default();
        let local = self.local();
        proc_set.insert(local);
        let known: Vec<NodeId> = proc_set
            .iter()
            .copied()
            .filter(|id| self.is_known(*id))
            .collect();
        // Only a lost token makes the old members suspect: the ring broke somewhere, and
        // every live member answers our join at once (an operational one enters gather on
        // it). Other reasons (merge, restart, a join) give everybody the consensus time.
        let suspects: BTreeSet<NodeId> = if reason == GatherReason::TokenLoss {
            known.iter().copied().filter(|id| *id != local).collect()
        } else {
            BTreeSet::new()
        };
        let fail_set: BTreeSet<NodeId> = if reason == GatherReason::FailedToReceive {
            known.iter().copied().filter(|id| *id != local).collect()
        } else {
            BTreeSet::new()
        };
        self.phase = Phase::Gather(Gather {
            proc_set: known.into_iter().collect(),
            fail_set,
            joins: BTreeMap::new(),
            period_start: self.now,
            suspects,
        });
        self.send_join();
        self.timers.arm(Timer::Join, self.now, self.config.join_ms);
        self.timers
            .arm(Timer::Consensus, self.now, self.config.consensus_ms);
        if reason == GatherReason::TokenLoss {
            let wait = self.suspect_wait_ms();
            self.timers.arm(Timer::Suspect, self.now, wait);
        } else {
            self.timers.cancel(Timer::Suspect);
        }
        if reason == GatherReason::Boot {
            // Alone at start: form a singleton ring at once; joins from others merge it.
            self.check_consensus();
        }
    }

    /// Leaves the ring alone: every other node is in the fail set of our joins, so a
    /// singleton ring forms at once; merging brings the others back when traffic flows.
    fn enter_failed_to_receive(&mut self) {
        self.enter_gather(GatherReason::FailedToReceive);
        self.check_consensus();
    }

    fn is_known(&self, id: NodeId) -> bool {
        id == self.local()
            || self.config.node(id).is_some()
            || (matches!(self.config.transport, Transport::Udp { .. })
                && self.learned.contains_key(&id))
    }

    fn send_join(&mut self) {
        let Phase::Gather(gather) = &self.phase else {
            return;
        };
        let join = Join {
            ring_seq_max: self.ring_seq_max,
            old_ring: self.view.as_ref().map(|v| v.ring),
            proc_set: gather.proc_set.iter().copied().collect(),
            fail_set: gather.fail_set.iter().copied().collect(),
        };
        self.broadcast_all(&Message::Join(join));
    }

    fn on_join(&mut self, sender: NodeId, join: Join) {
        let current = match &self.phase {
            Phase::Stopped => return,
            Phase::Gather(_) => None,
            Phase::Commit(wait) => Some((wait.ring, wait.members.contains(&sender))),
            Phase::Recovery(recovery) => {
                Some((recovery.ring.ring, recovery.ring.members.contains(&sender)))
            }
            Phase::Operational(ring) => Some((ring.ring, ring.members.contains(&sender))),
        };
        if let Some((ring, is_member)) = current {
            // A member's join sent before this ring formed carries a smaller ring sequence.
            if is_member && join.ring_seq_max < ring.seq {
                return self.stale();
            }
            // It has given up on us for its current round; its next ring's beacons will
            // bring us together with fresh sets. Reacting now would only split us further.
            if join.fail_set.contains(&self.local()) {
                return self.stale();
            }
            self.enter_gather(GatherReason::JoinFrom(sender));
        }
        self.ring_seq_max = self.ring_seq_max.max(join.ring_seq_max);
        let local = self.local();
        let known: Vec<NodeId> = join
            .proc_set
            .iter()
            .chain(&join.fail_set)
            .copied()
            .filter(|id| self.is_known(*id))
            .collect();
        let Phase::Gather(gather) = &mut self.phase else {
            return;
        };
        if gather.fail_set.contains(&sender) {
            return;
        }
        if join.fail_set.contains(&local) {
            // It gave up on us this round and forms a ring without us; our next join makes
            // that ring gather again with fresh sets (merge). Failing it back instead would
            // let joins from finished rounds, still in flight, split every later round too.
            // To us it counts as silent, so the consensus (or suspect) timeout still applies.
            return self.stale();
        }
        let before = (gather.proc_set.len(), gather.fail_set.len());
        gather.proc_set.insert(sender);
        for id in &join.proc_set {
            if known.contains(id) && gather.proc_set.len() < MAX_NODES {
                gather.proc_set.insert(*id);
            }
        }
        for id in &join.fail_set {
            if *id != local && known.contains(id) {
                gather.proc_set.insert(*id);
                gather.fail_set.insert(*id);
            }
        }
        gather.joins.insert(
            sender,
            JoinSeen {
                proc_set: join.proc_set.into_iter().collect(),
                fail_set: join.fail_set.into_iter().collect(),
                at: self.now,
            },
        );
        let changed = before != (gather.proc_set.len(), gather.fail_set.len());
        if changed {
            self.send_join();
        }
        self.check_consensus();
    }

    /// How long after a token loss silent members are failed: a few join intervals, never
    /// more than the consensus timeout (which stays the bound for everything else).
    fn suspect_wait_ms(&self) -> u64 {
        (SUSPECT_JOIN_INTERVALS * self.config.join_ms).min(self.config.consensus_ms)
    }

    /// Suspects that have not sent a join since the gather began go to the fail set, so
    /// the live nodes agree without waiting for the consensus timeout. A live node failed
    /// this way (too slow to answer) forms its own ring and merges back (merge detect).
    fn on_suspect_timeout(&mut self) {
        let Phase::Gather(gather) = &mut self.phase else {
            return;
        };
        let silent: Vec<NodeId> = gather
            .suspects
            .iter()
            .copied()
            .filter(|id| gather.proc_set.contains(id) && !gather.fail_set.contains(id))
            .filter(|id| !gather.joins.contains_key(id))
            .collect();
        gather.suspects.clear();
        if silent.is_empty() {
            return;
        }
        gather.fail_set.extend(silent);
        self.send_join();
        self.check_consensus();
    }

    fn on_consensus_timeout(&mut self) {
        let local = self.local();
        let Phase::Gather(gather) = &mut self.phase else {
            return;
        };
        let laggards: Vec<NodeId> = gather
            .proc_set
            .difference(&gather.fail_set)
            .copied()
            .filter(|id| *id != local)
            .filter(|id| match gather.joins.get(id) {
                // Only silence counts: differing sets are still converging.
                Some(seen) => seen.at < gather.period_start,
                None => true,
            })
            .collect();
        gather.fail_set.extend(laggards);
        gather.period_start = self.now;
        self.timers
            .arm(Timer::Consensus, self.now, self.config.consensus_ms);
        self.send_join();
        self.check_consensus();
    }

    fn check_consensus(&mut self) {
        let local = self.local();
        let Phase::Gather(gather) = &self.phase else {
            return;
        };
        let candidates: Vec<NodeId> = gather
            .proc_set
            .difference(&gather.fail_set)
            .copied()
            .collect();
        let agreed = candidates.iter().filter(|id| **id != local).all(|id| {
            gather.joins.get(id).is_some_and(|seen| {
                seen.proc_set == gather.proc_set && seen.fail_set == gather.fail_set
            })
        });
        if !agreed || candidates.first() != Some(&local) {
            return;
        }
        let ring = RingId {
            seq: self.ring_seq_max + 1,
            rep: local,
            incarnation: self.config.incarnation,
        };
        self.ring_seq_max = ring.seq;
        self.timers.cancel(Timer::Join);
        self.timers.cancel(Timer::Consensus);
        self.timers.cancel(Timer::Suspect);
        if candidates.len() == 1 {
            return self.form_singleton(ring);
        }
        let commit = Commit {
            ring,
            members: candidates.clone(),
            entries: vec![self.commit_entry()],
            token_seq: 1,
        };
        self.phase = Phase::Commit(CommitWait {
            ring,
            members: candidates,
            last_token_seq: 1,
        });
        self.timers
            .arm(Timer::TokenLoss, self.now, self.config.token_ms);
        self.forward(Message::Commit(commit));
    }

    fn commit_entry(&self) -> CommitEntry {
        let (old_ring, old_delivered, old_high) = match &self.old {
            Some(old) => (
                Some(old.ring),
                old.delivered,
                old.store
                    .keys()
                    .next_back()
                    .copied()
                    .unwrap_or(0)
                    .max(old.delivered),
            ),
            None => (None, 0, 0),
        };
        CommitEntry {
            node: self.local(),
            old_ring,
            old_delivered,
            old_high,
        }
    }

    // ---- membership: commit and recovery ------------------------------------------------

    fn on_commit(&mut self, mut commit: Commit) {
        let local = self.local();
        match &mut self.phase {
            Phase::Gather(gather) => {
                let candidates: Vec<NodeId> = gather
                    .proc_set
                    .difference(&gather.fail_set)
                    .copied()
                    .collect();
                let fresh = self
                    .view
                    .as_ref()
                    .is_none_or(|v| commit.ring.seq > v.ring.seq);
                if candidates != commit.members
                    || commit.entries.iter().any(|e| e.node == local)
                    || !fresh
                {
                    return self.stale();
                }
                self.ring_seq_max = self.ring_seq_max.max(commit.ring.seq);
                commit.entries.push(self.commit_entry());
                commit.token_seq += 1;
                self.timers.cancel(Timer::Join);
                self.timers.cancel(Timer::Consensus);
                self.timers.cancel(Timer::Suspect);
                self.phase = Phase::Commit(CommitWait {
                    ring: commit.ring,
                    members: commit.members.clone(),
                    last_token_seq: commit.token_seq,
                });
                self.timers
                    .arm(Timer::TokenLoss, self.now, self.config.token_ms);
                self.forward(Message::Commit(commit));
            }
            Phase::Commit(wait) => {
                let complete = commit.entries.len() == wait.members.len();
                if commit.ring != wait.ring || commit.token_seq <= wait.last_token_seq || !complete
                {
                    return self.stale();
                }
                commit.token_seq += 1;
                self.enter_recovery(&commit);
                self.forward(Message::Commit(commit));
            }
            Phase::Recovery(recovery) => {
                let is_rep = recovery.ring.members.first() == Some(&local);
                if commit.ring != recovery.ring.ring
                    || !is_rep
                    || recovery.token_started
                    || commit.token_seq <= recovery.commit_seq
                {
                    return self.stale();
                }
                // Second rotation done: every member is recovering; start the ring's token.
                recovery.token_started = true;
                self.retransmit = None;
                self.timers.cancel(Timer::TokenRetransmit);
                let token = Token {
                    ring: commit.ring,
                    token_seq: commit.token_seq + 1,
                    seq: 0,
                    aru: 0,
                    aru_id: 0,
                    rtr: Vec::new(),
                    recovering: true,
                    busy: false,
                    install: false,
                    recovery_end: 0,
                };
                self.rotation_seq = 0;
                self.quiet_rotations = 0;
                self.process_token(token, false);
            }
            Phase::Operational(_) | Phase::Stopped => self.stale(),
        }
    }

    fn enter_recovery(&mut self, commit: &Commit) {
        let my_old = self.old.as_ref().map(|o| o.ring);
        let group: Vec<&CommitEntry> = commit
            .entries
            .iter()
            .filter(|e| e.old_ring.is_some() && e.old_ring == my_old)
            .collect();
        let low = group.iter().map(|e| e.old_delivered).min().unwrap_or(0);
        let high = group.iter().map(|e| e.old_high).max().unwrap_or(0);
        let mut queue = VecDeque::new();
        if let Some(old) = self.old.as_ref().filter(|_| low < high) {
            for (seq, (origin, fragment)) in old.store.range(low + 1..=high) {
                queue.push_back(McastBody::Recovered {
                    old_ring: old.ring,
                    old_seq: *seq,
                    old_origin: *origin,
                    fragment: fragment.clone(),
                });
            }
        }
        self.phase = Phase::Recovery(Box::new(Recovery {
            ring: RingState::new(commit.ring, commit.members.clone()),
            queue,
            entries: commit.entries.clone(),
            commit_seq: commit.token_seq,
            token_started: false,
        }));
        self.timers
            .arm(Timer::TokenLoss, self.now, self.config.token_ms);
    }

    fn form_singleton(&mut self, ring: RingId) {
        let local = self.local();
        self.phase = Phase::Recovery(Box::new(Recovery {
            ring: RingState::new(ring, vec![local]),
            queue: VecDeque::new(),
            entries: vec![self.commit_entry()],
            commit_seq: 0,
            token_started: true,
        }));
        self.install(0);
        let token = Token {
            ring,
            token_seq: 1,
            seq: 0,
            aru: 0,
            aru_id: 0,
            rtr: Vec::new(),
            recovering: false,
            busy: false,
            install: false,
            recovery_end: 0,
        };
        self.rotation_seq = 0;
        self.held = Some(token);
        self.timers.arm(Timer::TokenHold, self.now, 0);
        self.timers
            .arm(Timer::TokenLoss, self.now, self.config.token_ms);
    }

    // ---- ordering: token and messages ---------------------------------------------------

    fn ring_state(&mut self) -> Option<&mut RingState> {
        match &mut self.phase {
            Phase::Recovery(recovery) => Some(&mut recovery.ring),
            Phase::Operational(ring) => Some(ring),
            Phase::Gather(_) | Phase::Commit(_) | Phase::Stopped => None,
        }
    }

    fn on_token(&mut self, token: Token) {
        let Some(ring) = self.ring_state() else {
            return self.stale();
        };
        if ring.ring != token.ring || token.token_seq <= ring.last_token_seq {
            return self.stale();
        }
        self.process_token(token, true);
    }

    /// Handles a token we now hold. `may_hold` is false when a held token is released.
    fn process_token(&mut self, mut token: Token, may_hold: bool) {
        let local = self.local();
        let now = self.now;
        self.retransmit = None;
        self.timers.cancel(Timer::TokenRetransmit);
        self.timers.arm(Timer::TokenLoss, now, self.config.token_ms);
        if token.install && matches!(self.phase, Phase::Recovery(_)) {
            self.install(token.recovery_end);
        }
        let recovering = matches!(self.phase, Phase::Recovery(_));
        let Some(ring) = self.ring_state() else {
            return;
        };
        if ring.my_aru < token.seq && ring.my_aru == ring.aru_at_last_visit {
            ring.stuck_visits += 1;
        } else {
            ring.stuck_visits = 0;
        }
        ring.aru_at_last_visit = ring.my_aru;
        if ring.stuck_visits >= FAIL_TO_RECEIVE_VISITS {
            // The token is dropped: the others lose it and reform without us.
            return self.enter_failed_to_receive();
        }
        ring.last_token_seq = ring.last_token_seq.max(token.token_seq);
        let is_rep = ring.members.first() == Some(&local);
        let my_aru = ring.my_aru;
        let mut hold = false;
        if is_rep && may_hold {
            let steady = token.seq == self.rotation_seq
                && token.aru == token.seq
                && token.rtr.is_empty()
                && my_aru == token.seq;
            if recovering {
                let queue_empty = matches!(&self.phase, Phase::Recovery(r) if r.queue.is_empty());
                // Two quiet rotations: every member had every message and nobody had
                // anything left to resend (the token's aru argument needs the second one).
                self.quiet_rotations = if steady && !token.busy && queue_empty {
                    self.quiet_rotations + 1
                } else {
                    0
                };
                token.busy = false;
                if self.quiet_rotations >= 2 {
                    token.install = true;
                    token.recovering = false;
                    token.recovery_end = token.seq;
                    self.install(token.seq);
                }
            } else {
                token.install = false;
                hold = steady && self.queue.is_empty();
            }
        }
        self.service_token(&mut token);
        let Some(ring) = self.ring_state() else {
            return;
        };
        let members = ring.members.clone();
        if is_rep {
            self.rotation_seq = token.seq;
        }
        token.token_seq += 1;
        if let Some(ring) = self.ring_state() {
            ring.last_token_seq = token.token_seq;
        }
        let successor = successor_of(&members, local);
        if successor == local || hold {
            let delay = if hold || (successor == local && self.queue.is_empty()) {
                self.config.hold_ms
            } else {
                0
            };
            self.held = Some(token);
            self.timers.arm(Timer::TokenHold, now, delay);
        } else {
            self.forward(Message::Token(token));
        }
    }

    /// Retransmits what others asked for, asks for what we miss, sends new messages and
    /// updates the token's aru.
    fn service_token(&mut self, token: &mut Token) {
        let local = self.local();
        let recovering = matches!(self.phase, Phase::Recovery(_));
        let Some(ring) = self.ring_state() else {
            return;
        };
        let mut resend = Vec::new();
        let mut still_missing = Vec::new();
        for seq in token.rtr.drain(..) {
            match ring.store.get(&seq) {
                Some((origin, body)) => resend.push(Mcast {
                    ring: ring.ring,
                    seq,
                    origin: *origin,
                    body: body.clone(),
                }),
                None if seq > ring.my_aru => still_missing.push(seq),
                None => {}
            }
        }
        for seq in ring.my_aru + 1..=token.seq {
            if still_missing.len() >= MAX_RTR {
                break;
            }
            if !ring.store.contains_key(&seq) && !still_missing.contains(&seq) {
                still_missing.push(seq);
            }
        }
        token.rtr = still_missing;
        let members = ring.members.clone();
        let ring_id = ring.ring;
        self.counters.retransmits += resend.len() as u64;
        for mcast in resend {
            self.broadcast_members(&members, &Message::Mcast(mcast));
        }
        // Flow control: bounded per visit and by what is outstanding on the ring.
        let outstanding = token.seq.saturating_sub(token.aru);
        let allowed = u64::from(self.config.max_messages)
            .min(u64::from(self.config.window_size).saturating_sub(outstanding));
        // New messages share datagrams as far as `netmtu` allows.
        let budget = self.config.body_budget();
        let mut pack: Vec<Mcast> = Vec::new();
        let mut pack_bytes = MCASTS_OVERHEAD;
        let mut sent = 0;
        while sent < allowed {
            let body = if recovering {
                match &mut self.phase {
                    Phase::Recovery(r) => r.queue.pop_front(),
                    _ => None,
                }
            } else {
                self.queue.pop_front().map(|fragment| {
                    self.queued_bytes -= fragment.data.len();
                    McastBody::App(fragment)
                })
            };
            let Some(body) = body else { break };
            token.seq += 1;
            sent += 1;
            let mcast = Mcast {
                ring: ring_id,
                seq: token.seq,
                origin: local,
                body,
            };
            let len = mcast.encoded_len();
            if !pack.is_empty() && pack_bytes + len > budget {
                self.send_new(&members, &mut pack);
                pack_bytes = MCASTS_OVERHEAD;
            }
            pack_bytes += len;
            pack.push(mcast);
        }
        self.send_new(&members, &mut pack);
        let Some(ring) = self.ring_state() else {
            return;
        };
        if ring.my_aru < token.aru || token.aru_id == local || token.aru_id == 0 {
            token.aru = ring.my_aru;
            token.aru_id = if token.aru >= token.seq { 0 } else { local };
        }
        // Everything at or below the aru seen on two visits is held by every member.
        let safe = token.aru.min(ring.previous_aru).min(ring.delivered);
        ring.previous_aru = token.aru;
        let keep = ring.store.split_off(&(safe + 1));
        ring.store = keep;
        if let Phase::Recovery(r) = &self.phase {
            token.busy |= !r.queue.is_empty();
        }
        if !recovering {
            self.deliver_ready();
        }
    }

    /// Sends our new ordered messages of this token visit in one datagram (a lone one as
    /// `Mcast`) and keeps them as sent.
    fn send_new(&mut self, members: &[NodeId], pack: &mut Vec<Mcast>) {
        let message = match pack.len() {
            0 => return,
            1 => Message::Mcast(pack.pop().expect("one message")),
            _ => Message::Mcasts(std::mem::take(pack)),
        };
        self.broadcast_members(members, &message);
        match message {
            Message::Mcast(mcast) => {
                self.accept_mcast(mcast);
            }
            Message::Mcasts(mcasts) => {
                for mcast in mcasts {
                    self.accept_mcast(mcast);
                }
            }
            _ => {}
        }
    }

    fn on_mcast(&mut self, mcast: Mcast) {
        {
            let Some(ring) = self.ring_state() else {
                return self.stale();
            };
            if ring.ring != mcast.ring || mcast.seq > ring.my_aru + MAX_AHEAD {
                return self.stale();
            }
        }
        // A message numbered after the token we passed on was numbered by a later holder,
        // so our successor has that token; a message of the new ring means the commit token
        // went all the way round. (A resent old message proves nothing: it may have left
        // before our token arrived, and cancelling then would stall the ring on a lost token.)
        let passed_on = match &self.retransmit {
            Some((_, Message::Token(token))) => mcast.seq > token.seq,
            Some((_, Message::Commit(commit))) => commit.ring == mcast.ring,
            Some((
                _,
                Message::Join(_)
                | Message::Mcast(_)
                | Message::Mcasts(_)
                | Message::MergeDetect { .. }
                | Message::Leave { .. }
                | Message::TokenWanted { .. },
            ))
            | None => false,
        };
        if passed_on {
            self.retransmit = None;
            self.timers.cancel(Timer::TokenRetransmit);
        }
        if !self.accept_mcast(mcast) {
            return self.stale();
        }
        if matches!(self.phase, Phase::Operational(_)) {
            self.deliver_ready();
        }
    }

    fn accept_mcast(&mut self, mcast: Mcast) -> bool {
        let Some(ring) = self.ring_state() else {
            return false;
        };
        if !ring.wants(mcast.seq) {
            return false;
        }
        if let McastBody::Recovered {
            old_ring,
            old_seq,
            old_origin,
            fragment,
        } = &mcast.body
            && let Some(old) = self
                .old
                .as_mut()
                .filter(|o| o.ring == *old_ring && *old_seq > o.delivered)
        {
            old.store
                .entry(*old_seq)
                .or_insert_with(|| (*old_origin, fragment.clone()));
        }
        if let Some(ring) = self.ring_state() {
            ring.insert(mcast.seq, mcast.origin, mcast.body);
        }
        true
    }

    fn deliver_ready(&mut self) {
        let Phase::Operational(ring) = &mut self.phase else {
            return;
        };
        // Delivery borrows the stored fragments in place: no copy per message.
        let mut sink = DeliverySink {
            local: self.config.local_id,
            max_fragments: (MAX_MESSAGE / self.config.fragment_bytes + 2) as u32,
            trace: self.trace_deliveries,
            counters: &mut self.counters,
            out: &mut self.out,
            partial: &mut self.partial,
            groups: &mut self.groups,
            spare: &mut self.spare_datagrams,
        };
        while ring.delivered < ring.my_aru {
            ring.delivered += 1;
            let seq = ring.delivered;
            match ring.store.get(&seq) {
                Some((origin, McastBody::App(fragment))) => {
                    sink.fragment(ring.ring, seq, *origin, fragment)
                }
                Some((_, McastBody::Recovered { .. })) | None => {}
            }
        }
    }

    fn delivery_sink(&mut self) -> DeliverySink<'_> {
        DeliverySink {
            local: self.config.local_id,
            max_fragments: (MAX_MESSAGE / self.config.fragment_bytes + 2) as u32,
            trace: self.trace_deliveries,
            counters: &mut self.counters,
            out: &mut self.out,
            partial: &mut self.partial,
            groups: &mut self.groups,
            spare: &mut self.spare_datagrams,
        }
    }

    fn enqueue(&mut self, bytes: Vec<u8>) {
        let was_idle = self.queue.is_empty();
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let size = self.config.fragment_bytes;
        let count = bytes.len().div_ceil(size).max(1) as u32;
        if count == 1 {
            // The common case: the message is its own only fragment, no copy.
            self.queued_bytes += bytes.len();
            self.queue.push_back(Fragment {
                msg_id,
                index: 0,
                count,
                data: bytes,
            });
        } else {
            for index in 0..count {
                let start = index as usize * size;
                let data = bytes[start..(start + size).min(bytes.len())].to_vec();
                self.queued_bytes += data.len();
                self.queue.push_back(Fragment {
                    msg_id,
                    index,
                    count,
                    data,
                });
            }
        }
        if self.held.is_some() {
            // An idle token waits with us: let it go now.
            self.timers.arm(Timer::TokenHold, self.now, 0);
        } else if was_idle {
            self.want_token();
        }
    }

    /// Asks the representative, which may be holding an idle token for up to `hold_ms`, to
    /// pass it on now: without this a message queued elsewhere waits out the hold, once for
    /// every ordered round of a request and its answers.
    fn want_token(&mut self) {
        let local = self.local();
        let Phase::Operational(ring) = &self.phase else {
            return;
        };
        let Some(&rep) = ring.members.first() else {
            return;
        };
        if rep == local {
            return;
        }
        let message = Message::TokenWanted { ring: ring.ring };
        self.counters.token_requests += 1;
        self.send_to(rep, &message);
    }

    /// A member has messages queued: an idle token we hold goes on now.
    fn on_token_wanted(&mut self, sender: NodeId, ring: RingId) {
        let ours = matches!(&self.phase,
            Phase::Operational(current) if current.ring == ring && current.members.contains(&sender));
        if !ours {
            return self.stale();
        }
        if self.held.is_some() {
            self.timers.arm(Timer::TokenHold, self.now, 0);
        }
    }

    // ---- installing a ring ----------------------------------------------------------------

    /// Delivers the agreed prefix of the previous ring, then switches to the new ring.
    /// `recovery_end` is the last sequence used by recovery messages in the new ring.
    fn install(&mut self, recovery_end: u64) {
        let Phase::Recovery(recovery) = std::mem::replace(&mut self.phase, Phase::Stopped) else {
            unreachable!("install is only called while recovering")
        };
        let Recovery {
            ring: mut new_ring,
            entries,
            ..
        } = *recovery;
        let local = self.local();
        if let Some(old) = self.old.take() {
            let first = old.delivered + 1;
            let mut sink = self.delivery_sink();
            for (next, (seq, (origin, fragment))) in (first..).zip(old.store.range(first..)) {
                if *seq != next {
                    break; // the first gap nobody in our transitional group can fill
                }
                sink.fragment(old.ring, *seq, *origin, fragment);
            }
        }
        self.partial.clear();
        let previous = self.view.take();
        let old_ring = previous.as_ref().map(|v| v.ring);
        let members = new_ring.members.clone();
        let transitional: Vec<NodeId> = entries
            .iter()
            .filter(|e| e.old_ring.is_some() && e.old_ring == old_ring)
            .map(|e| e.node)
            .collect();
        let previous_members = previous.map(|v| v.members).unwrap_or_default();
        let joined: Vec<NodeId> = members
            .iter()
            .copied()
            .filter(|m| !previous_members.contains(m))
            .collect();
        let left: Vec<NodeId> = previous_members
            .iter()
            .copied()
            .filter(|m| !members.contains(m))
            .collect();
        // Members not coming with us lost or may have lost their group state.
        let gone: Vec<NodeId> = previous_members
            .iter()
            .copied()
            .filter(|m| *m != local && !transitional.contains(m))
            .collect();
        let mut deliveries = self.groups.finish_sync(local);
        deliveries.extend(self.groups.remove_nodes(local, &gone));
        for (client, event) in deliveries {
            self.out.push(Output::Group { client, event });
        }
        let incarnations = members
            .iter()
            .filter_map(|m| self.auth.incarnation_of(*m).map(|i| (*m, i)))
            .collect();
        self.member_since
            .retain(|m, _| members.contains(m) && !gone.contains(m));
        for m in &members {
            self.member_since.entry(*m).or_insert(self.now);
        }
        debug_assert!(
            new_ring.my_aru >= recovery_end,
            "installing without every recovery message"
        );
        new_ring.delivered = recovery_end.min(new_ring.my_aru);
        let ring_id = new_ring.ring;
        self.view = Some(View {
            ring: ring_id,
            members: members.clone(),
            incarnations,
        });
        self.phase = Phase::Operational(Box::new(new_ring));
        self.counters.views += 1;
        self.out.push(Output::Event(RingEvent::View {
            ring: ring_id,
            members: members.clone(),
            joined,
            left,
            transitional,
        }));
        let configured: BTreeSet<NodeId> = self.config.nodes.iter().map(|n| n.id).collect();
        if configured.iter().all(|id| members.contains(id)) {
            self.seen_all = true;
        }
        self.update_quorum();
        // Every member announces its memberships, none or some: group messages wait for all
        // of them (see `group::Sync`).
        self.groups.begin_sync(&members);
        let state = self.groups.local_state();
        let bytes = GroupMsg::State { entries: state }.encode();
        self.enqueue_front(bytes);
        if members.first() == Some(&local) && members.len() < self.known_nodes().len() + 1 {
            self.timers
                .arm(Timer::Merge, self.now, self.config.merge_ms);
        }
        self.deliver_ready();
    }

    fn enqueue_front(&mut self, bytes: Vec<u8>) {
        let before = self.queue.len();
        self.enqueue(bytes);
        let added: Vec<Fragment> = self.queue.drain(before..).collect();
        for fragment in added.into_iter().rev() {
            self.queue.push_front(fragment);
        }
    }

    fn update_quorum(&mut self) {
        let present = self
            .view
            .as_ref()
            .map_or(0, |v| v.members.iter().map(|m| self.config.votes(*m)).sum());
        let state = quorum::evaluate(
            &self.config.quorum,
            nodelist_votes(&self.config),
            present,
            self.seen_all,
        );
        if state != self.quorum {
            self.quorum = state;
            self.out.push(Output::Event(RingEvent::Quorum(state)));
        }
    }

    // ---- merge and leave --------------------------------------------------------------------

    fn send_merge_detect(&mut self) {
        let Phase::Operational(ring) = &self.phase else {
            return;
        };
        let (ring_id, members) = (ring.ring, ring.members.clone());
        let message = Message::MergeDetect { ring: ring_id };
        match self.config.transport {
            Transport::Udp { group } => self.send_addr(group, &message),
            Transport::Udpu => {
                let outsiders: Vec<NodeId> = self
                    .known_nodes()
                    .into_iter()
                    .filter(|id| !members.contains(id))
                    .collect();
                for id in outsiders {
                    self.send_to(id, &message);
                }
            }
        }
        self.timers
            .arm(Timer::Merge, self.now, self.config.merge_ms);
    }

    fn on_merge_detect(&mut self, sender: NodeId, ring: RingId) {
        match &self.phase {
            Phase::Operational(current)
                if current.ring != ring && !current.members.contains(&sender) =>
            {
                self.enter_gather(GatherReason::Merge(sender))
            }
            _ => self.stale(),
        }
    }

    fn on_leave(&mut self, sender: NodeId) {
        let is_member = match &self.phase {
            Phase::Stopped => return,
            Phase::Gather(gather) => gather.proc_set.contains(&sender),
            Phase::Commit(wait) => wait.members.contains(&sender),
            Phase::Recovery(r) => r.ring.members.contains(&sender),
            Phase::Operational(ring) => ring.members.contains(&sender),
        };
        if !is_member {
            return self.stale();
        }
        if !matches!(self.phase, Phase::Gather(_)) {
            self.enter_gather(GatherReason::Leave(sender));
        }
        if let Phase::Gather(gather) = &mut self.phase {
            gather.proc_set.insert(sender);
            gather.fail_set.insert(sender);
        }
        self.send_join();
        self.check_consensus();
    }

    // ---- sending ----------------------------------------------------------------------------

    fn known_nodes(&self) -> Vec<NodeId> {
        let local = self.local();
        let mut ids: BTreeSet<NodeId> = self.config.nodes.iter().map(|n| n.id).collect();
        ids.extend(self.learned.keys());
        ids.remove(&local);
        ids.into_iter().collect()
    }

    fn addr_of(&self, id: NodeId) -> Option<SocketAddr> {
        self.config
            .node(id)
            .map(|n| n.addr)
            .or_else(|| self.learned.get(&id).copied())
    }

    fn seal(&mut self, message: &Message) -> Vec<u8> {
        let buffer = self.spare_datagrams.pop().unwrap_or_default();
        self.auth
            .seal_into(buffer, message.size_hint(), |out| message.encode_into(out))
    }

    fn send_addr(&mut self, to: SocketAddr, message: &Message) {
        let bytes = self.seal(message);
        self.counters.datagrams_out += 1;
        self.out.push(Output::Send { to, bytes });
    }

    fn send_to(&mut self, id: NodeId, message: &Message) {
        if let Some(addr) = self.addr_of(id) {
            self.send_addr(addr, message);
        }
    }

    /// To every other member (udpu) or once to the group (udp).
    fn broadcast_members(&mut self, members: &[NodeId], message: &Message) {
        let local = self.local();
        match self.config.transport {
            Transport::Udp { group } => self.send_addr(group, message),
            Transport::Udpu => {
                let bytes = self.seal(message);
                let destinations: Vec<SocketAddr> = members
                    .iter()
                    .filter(|id| **id != local)
                    .filter_map(|id| self.addr_of(*id))
                    .collect();
                // Sealed once; the last destination takes the datagram itself, so a 3-node
                // ring copies it once per message rather than twice.
                let Some((last, others)) = destinations.split_last() else {
                    return;
                };
                for to in others {
                    let mut copy = self.spare_datagrams.pop().unwrap_or_default();
                    copy.clear();
                    copy.extend_from_slice(&bytes);
                    self.counters.datagrams_out += 1;
                    self.out.push(Output::Send {
                        to: *to,
                        bytes: copy,
                    });
                }
                self.counters.datagrams_out += 1;
                self.out.push(Output::Send { to: *last, bytes });
            }
        }
    }

    /// To every known node, members or not.
    fn broadcast_all(&mut self, message: &Message) {
        let nodes = self.known_nodes();
        match self.config.transport {
            Transport::Udp { group } => self.send_addr(group, message),
            Transport::Udpu => self.broadcast_members(&nodes, message),
        }
    }

    /// Sends a token or commit token to our successor and keeps it for retransmission.
    fn forward(&mut self, message: Message) {
        let members = match &message {
            Message::Commit(commit) => commit.members.clone(),
            _ => self
                .ring_state()
                .map(|r| r.members.clone())
                .unwrap_or_default(),
        };
        let successor = successor_of(&members, self.local());
        self.send_to(successor, &message);
        self.retransmit = Some((successor, message));
        let jitter = self.rng.below(1 + self.config.token_retransmit_ms / 10);
        self.timers.arm(
            Timer::TokenRetransmit,
            self.now,
            self.config.token_retransmit_ms + jitter,
        );
    }

    // ---- invariants -------------------------------------------------------------------------

    /// Small structural checks; run after every `handle` in debug builds and in simulation.
    pub fn check_invariants(&self) {
        let local = self.local();
        if let Some(view) = &self.view {
            assert!(
                view.members.contains(&local),
                "installed view without the local node"
            );
            assert!(
                view.members.windows(2).all(|w| w[0] < w[1]),
                "view members not sorted"
            );
        }
        match &self.phase {
            Phase::Gather(gather) => {
                assert!(
                    gather.proc_set.contains(&local),
                    "gathering without ourselves"
                );
                assert!(
                    !gather.fail_set.contains(&local),
                    "we consider ourselves failed"
                );
            }
            Phase::Operational(ring) => {
                assert!(ring.delivered <= ring.my_aru, "delivered past what we have");
                assert!(
                    ring.my_aru <= ring.high.max(ring.my_aru),
                    "aru above highest"
                );
                assert_eq!(
                    self.view.as_ref().map(|v| v.ring),
                    Some(ring.ring),
                    "operational ring is not the view"
                );
            }
            Phase::Recovery(r) => assert!(
                r.ring.members.contains(&local),
                "recovering a ring without us"
            ),
            Phase::Commit(wait) => assert!(
                wait.members.contains(&local),
                "committing to a ring without us"
            ),
            Phase::Stopped => {}
        }
        assert!(
            self.queued_bytes <= MAX_QUEUED_BYTES + MAX_MESSAGE * 2,
            "send queue unbounded"
        );
    }
}

/// What delivering needs of the node, borrowed apart from the ring's message store so
/// fragments are delivered where they are stored.
struct DeliverySink<'a> {
    local: NodeId,
    /// Most fragments a message may have.
    max_fragments: u32,
    /// Emit `RingEvent::Delivered` (with its digest) for every fragment.
    trace: bool,
    counters: &'a mut Counters,
    out: &'a mut Vec<Output>,
    partial: &'a mut HashMap<NodeId, Partial>,
    groups: &'a mut Groups,
    spare: &'a mut Vec<Vec<u8>>,
}

impl DeliverySink<'_> {
    fn fragment(&mut self, ring: RingId, seq: u64, origin: NodeId, fragment: &Fragment) {
        self.counters.delivered += 1;
        if self.trace {
            self.out.push(Output::Event(RingEvent::Delivered {
                ring,
                seq,
                origin,
                digest: fnv1a(&fragment.data),
            }));
        }
        if fragment.count == 1 {
            return self.message(ring, origin, &fragment.data);
        }
        if fragment.count > self.max_fragments {
            self.partial.remove(&origin);
            return;
        }
        if fragment.index == 0 {
            let mut data = Vec::with_capacity(fragment.data.len() * fragment.count as usize);
            data.extend_from_slice(&fragment.data);
            self.partial.insert(
                origin,
                Partial {
                    msg_id: fragment.msg_id,
                    next_index: 1,
                    count: fragment.count,
                    data,
                },
            );
            return;
        }
        let Some(partial) = self.partial.get_mut(&origin) else {
            return;
        };
        if partial.msg_id != fragment.msg_id
            || partial.next_index != fragment.index
            || partial.count != fragment.count
        {
            // A piece is missing (its start was cut at a ring change): drop the whole message.
            self.partial.remove(&origin);
            return;
        }
        partial.data.extend_from_slice(&fragment.data);
        partial.next_index += 1;
        if partial.next_index == partial.count {
            let partial = self.partial.remove(&origin).expect("present above");
            self.message(ring, origin, &partial.data);
        }
    }

    fn message(&mut self, ring: RingId, origin: NodeId, data: &[u8]) {
        let buffer = self.spare.pop().unwrap_or_default();
        let Ok(msg) = GroupMsg::decode_reusing(data, buffer) else {
            self.counters.dropped_malformed += 1;
            return;
        };
        for (client, event) in self.groups.apply(self.local, origin, ring, msg) {
            self.out.push(Output::Group { client, event });
        }
    }
}

fn successor_of(members: &[NodeId], local: NodeId) -> NodeId {
    let position = members.iter().position(|m| *m == local).unwrap_or(0);
    members[(position + 1) % members.len().max(1)]
}

fn old_ring_from(ring: RingState) -> OldRing {
    let store = ring
        .store
        .into_iter()
        // Delivered messages stay too: members that delivered less may need them resent.
        .filter_map(|(seq, (origin, body))| match body {
            McastBody::App(fragment) => Some((seq, (origin, fragment))),
            McastBody::Recovered { .. } => None,
        })
        .collect();
    OldRing {
        ring: ring.ring,
        delivered: ring.delivered,
        store,
    }
}

fn nodelist_votes(config: &RingConfig) -> u32 {
    config.nodes.iter().map(|n| n.votes).sum()
}

fn check_group_name(group: &str) -> Result<(), RequestError> {
    if group.is_empty() || group.len() > MAX_GROUP_NAME {
        return Err(RequestError::BadGroupName);
    }
    Ok(())
}

/// FNV-1a, 64 bit: a cheap digest for delivery traces.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}
