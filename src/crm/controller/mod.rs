//! The controller core behind `ha-crm daemon`: a replicated CIB, the DC, and transitions.
//!
//! Every node runs one. Controllers talk only through the ring's `crm` process group, which
//! delivers every message to all members in one order and reports membership changes at the
//! same point of that order everywhere. The CIB is therefore replicated as a state machine:
//!
//! - after each membership change every member announces its configuration, version and its
//!   own executor history; when all announcements of the view are in, every member keeps the
//!   configuration with the highest `(admin_epoch, epoch, num_updates)` (ties: lowest node id)
//!   and builds the status section from the announcements, identically;
//! - a configuration change is a message applied in delivery order by everyone, accepted only
//!   if made against the current epoch, and acknowledged by every member before the client is
//!   answered;
//! - the DC is the member with the lowest node id: known to all the instant the view is,
//!   without an election round or a dead time. Only the DC runs the scheduler and sends
//!   actions; results are broadcast, so any member can take over with the same status.
//!
//! No I/O here: the shell feeds group deliveries, executor results, admin requests and ticks,
//! and carries out the outputs. `now` never decreases; call `next_deadline` after `handle`.

pub mod graph;
pub mod message;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::crm::cib::{Cib, Configuration, Node, NodeState, NvList, OpRecord, ResourceHistory};
use crate::crm::score::INFINITY;
use graph::{ActionKind, Graph, Plan, ResourceOp};
use message::{Announce, CrmMessage, NodeId, OpResult};

/// Decides what to do for a CIB at a wall-clock time (epoch seconds): the scheduler.
pub type Planner = Box<dyn FnMut(&Cib, i64) -> Result<Plan, String>>;

/// A client connection of the shell, echoed back in replies.
pub type ClientId = u64;

/// A member of the controllers' process group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Member {
    /// Ring node id.
    pub id: NodeId,
    /// Node name.
    pub name: String,
}

/// What the shell hands the core.
#[derive(Debug)]
pub enum Input {
    /// The group's membership changed; `view` increases with every change.
    View {
        /// View number.
        view: u64,
        /// Members, any order.
        members: Vec<Member>,
    },
    /// The ring's own membership (nodes, whether or not their controller runs).
    RingMembers {
        /// Node ids in the current ring.
        nodes: Vec<NodeId>,
    },
    /// The ring's quorum changed.
    Quorum {
        /// Whether this partition is quorate.
        quorate: bool,
    },
    /// A group message was delivered (own messages included).
    Delivered {
        /// Sender.
        from: NodeId,
        /// The message.
        message: CrmMessage,
    },
    /// The local executor's history at start-up (it outlives controller restarts).
    LocalHistory {
        /// Resources and their records.
        history: Vec<ResourceHistory>,
    },
    /// The local executor finished an op (or a recurring monitor's result changed).
    OpDone {
        /// Token from [`Output::Execute`].
        token: u64,
        /// Agent exit code.
        rc: i32,
        /// Execution status (0 done, 2 timed out, 7 not installed, …).
        op_status: i32,
        /// Agent's reason text, if any.
        exit_reason: Option<String>,
        /// Run time.
        exec_time_ms: u64,
        /// Wall-clock time of the result, epoch seconds.
        at: i64,
    },
    /// A request from a local client.
    Admin {
        /// Client to answer.
        client: ClientId,
        /// The request.
        request: AdminRequest,
    },
    /// Leave cleanly: have this node's resources moved away (or stopped), then report
    /// [`Output::ShutdownComplete`].
    Shutdown,
    /// Time passed; fire due timers.
    Tick,
}

/// Requests from `ha-crm` commands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRequest {
    /// Cluster status: members, DC, quorum, CIB.
    Status,
    /// Replace the configuration, made against `base_epoch`.
    Commit {
        /// Epoch the new configuration was edited from.
        base_epoch: u64,
        /// The new configuration.
        configuration: Box<Configuration>,
    },
    /// Forget a resource's failures and history.
    Cleanup {
        /// Resource id.
        rsc: String,
        /// One node, or all.
        node: Option<String>,
    },
}

/// What the core asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send to the whole group.
    Broadcast(CrmMessage),
    /// Run an op on the local executor; results come back as [`Input::OpDone`] with `token`.
    /// A recurring op (`interval_ms` > 0) reports its first result and every change.
    Execute {
        /// Correlation token.
        token: u64,
        /// The call.
        op: ResourceOp,
    },
    /// Stop a recurring op on the local executor.
    CancelRecurring {
        /// Resource id.
        rsc: String,
        /// Operation name.
        operation: String,
        /// Its interval.
        interval_ms: u64,
    },
    /// Have the local executor forget a resource's history.
    Forget {
        /// Resource id.
        rsc: String,
    },
    /// Store the CIB (configuration) durably.
    Persist(Box<Cib>),
    /// Answer a client.
    Reply {
        /// Who asked.
        client: ClientId,
        /// The answer.
        reply: AdminReply,
    },
    /// Something happened worth streaming to `ha-crm events`.
    Event(CrmEvent),
    /// After [`Input::Shutdown`]: nothing runs here any more; the shell may exit.
    ShutdownComplete,
}

/// Answers to [`AdminRequest`]s.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminReply {
    /// The cluster as this node sees it.
    Status(Box<StatusSnapshot>),
    /// The change is stored on every member; the new epoch.
    Committed {
        /// Configuration epoch after the change.
        epoch: u64,
    },
    /// Done.
    Done,
    /// Refused; nothing changed.
    Error {
        /// `not_ready`, `conflict`, `unknown_resource`.
        code: String,
        /// Explanation.
        message: String,
    },
}

/// `ha-crm status` data.
///
/// ```json
/// {"node":{"id":1,"name":"node1"},"dc":{"id":1,"name":"node1"},"quorate":true,
///  "synced":true,"members":[…],"transition":{"id":3,"pending":0},"cib":{…}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct StatusSnapshot {
    /// This node.
    pub node: Member,
    /// The DC, when one is known.
    pub dc: Option<Member>,
    /// Partition has quorum.
    pub quorate: bool,
    /// The CIB is merged for the current view.
    pub synced: bool,
    /// Current members.
    pub members: Vec<Member>,
    /// The running transition (DC only).
    pub transition: Option<TransitionInfo>,
    /// The replicated CIB.
    pub cib: Box<Cib>,
}

/// Progress of a transition.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct TransitionInfo {
    /// Transition number.
    pub id: u64,
    /// Actions not finished.
    pub pending: usize,
}

/// Streamed events (`{"type":"dc_changed",…}` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CrmEvent {
    /// Membership and merge done for a view.
    Synced {
        /// View number.
        view: u64,
        /// Members.
        members: Vec<Member>,
        /// The DC.
        dc: NodeId,
    },
    /// The merge dropped another copy's newer-looking changes.
    CibConflict {
        /// Whose configuration was kept.
        kept_from: NodeId,
        /// Version kept.
        kept: (u64, u64, u64),
        /// Node whose different configuration was dropped.
        dropped_from: NodeId,
        /// Its version.
        dropped: (u64, u64, u64),
    },
    /// The configuration changed.
    CibChanged {
        /// New epoch.
        epoch: u64,
    },
    /// The DC started a transition.
    TransitionStarted {
        /// Transition number.
        id: u64,
        /// Number of actions.
        actions: usize,
    },
    /// An action was sent.
    ActionSent {
        /// Transition number.
        transition: u64,
        /// Action key, e.g. `vip_start_0`.
        key: String,
        /// Target node.
        node: String,
    },
    /// An operation result was recorded.
    OpResult {
        /// Node.
        node: String,
        /// Resource.
        rsc: String,
        /// Operation.
        operation: String,
        /// Interval.
        interval_ms: u64,
        /// Exit code.
        rc: i32,
    },
    /// A transition ended.
    TransitionDone {
        /// Transition number.
        id: u64,
        /// Whether it was cut short by a failure or a change.
        aborted: bool,
    },
    /// The scheduler refused the CIB.
    SchedulerError {
        /// Why.
        message: String,
    },
}

/// Membership phase.
#[derive(Debug)]
enum Phase {
    /// Not in any view yet.
    Alone,
    /// Collecting the view's announcements; other messages wait in order.
    Syncing {
        view: u64,
        announces: BTreeMap<NodeId, Announce>,
        held: Vec<(NodeId, CrmMessage)>,
    },
    /// CIB merged; applying messages as they come.
    Running,
}

/// An op this node's executor is running for the cluster.
#[derive(Debug, Clone)]
struct LocalOp {
    action: Option<(u64, usize)>,
    op: ResourceOp,
}

/// A commit waiting for every member's acknowledgement.
#[derive(Debug)]
struct PendingCommit {
    client: ClientId,
    waiting: BTreeSet<NodeId>,
}

/// How long a node whose controller left the group (but not the ring) keeps its resources
/// before they are recovered elsewhere: a supervised controller restarts well within it.
const CONTROLLER_RESTART_GRACE: Duration = Duration::from_secs(10);

/// How long a quorum gain waits for the merged view before counting anyway (a node without a
/// controller can bring quorum without changing the controllers' membership).
const QUORUM_GAIN_WAIT: Duration = Duration::from_secs(3);

/// How long a quorate partition waits before recovering the resources of nodes it lost, when
/// those nodes may still be running in a minority partition that stops them by itself
/// (fencing disabled, `no-quorum-policy` stop, suicide or demote). Both sides notice the split
/// within one ring change of each other; this covers that skew and a prompt stop, so the
/// service is not active on both sides meanwhile. Only fencing guarantees it for agents whose
/// stop takes longer.
pub const LOST_NODE_STOP_GRACE: Duration = Duration::from_millis(500);

/// How often an idle DC re-runs the scheduler (failure-timeout expiry and the like).
const RECHECK_INTERVAL: Duration = Duration::from_secs(15);

/// The controller core.
pub struct Controller {
    local: Member,
    planner: Planner,
    now: Instant,
    wall: i64,
    cib: Cib,
    members: Vec<Member>,
    quorate: bool,
    /// What the ring says now; a gain takes effect with the next merged view.
    ring_quorate: bool,
    /// When a quorum gain takes effect anyway if no new view comes.
    quorum_gain_at: Option<Instant>,
    phase: Phase,
    /// What this node's executor ran: authoritative for this node.
    own_history: Vec<ResourceHistory>,
    own_attributes: NvList,
    graph: Option<Graph>,
    last_transition: u64,
    needs_schedule: bool,
    local_ops: BTreeMap<u64, LocalOp>,
    next_token: u64,
    next_request: u64,
    /// Call ids order this node's history; they keep growing across restarts.
    next_call_id: i64,
    commits: BTreeMap<u64, PendingCommit>,
    recheck_at: Option<Instant>,
    /// [`Input::Shutdown`] was received.
    shutting_down: bool,
    /// [`Output::ShutdownComplete`] was emitted.
    shutdown_reported: bool,
    /// Node ids in the ring, when known.
    ring_nodes: Option<BTreeSet<NodeId>>,
    /// Nodes still in the ring whose controller left the group, and since when.
    absent: BTreeMap<String, Instant>,
    /// While quorate, no scheduling before this: lost nodes may be stopping their resources
    /// in a minority partition ([`LOST_NODE_STOP_GRACE`]).
    lost_node_hold: Option<Instant>,
}

impl Controller {
    /// A controller for node `local`, starting from the stored CIB (configuration kept,
    /// status rebuilt from the cluster).
    pub fn new(local: Member, stored: Cib, planner: Planner, now: Instant, wall: i64) -> Self {
        let mut cib = stored;
        cib.status.nodes.clear();
        Controller {
            local,
            planner,
            now,
            wall,
            cib,
            members: Vec::new(),
            quorate: false,
            ring_quorate: false,
            quorum_gain_at: None,
            phase: Phase::Alone,
            own_history: Vec::new(),
            own_attributes: NvList::new(),
            graph: None,
            last_transition: 0,
            needs_schedule: false,
            local_ops: BTreeMap::new(),
            next_token: 1,
            next_request: 1,
            next_call_id: 1,
            commits: BTreeMap::new(),
            recheck_at: None,
            ring_nodes: None,
            shutting_down: false,
            shutdown_reported: false,
            absent: BTreeMap::new(),
            lost_node_hold: None,
        }
    }

    /// The replicated CIB as this node holds it.
    pub fn cib(&self) -> &Cib {
        &self.cib
    }

    /// The DC of the current view: the member with the lowest node id.
    pub fn dc(&self) -> Option<&Member> {
        self.members.iter().min_by_key(|m| m.id)
    }

    /// True when this node is the DC.
    pub fn is_dc(&self) -> bool {
        self.dc().is_some_and(|dc| dc.id == self.local.id)
    }

    /// True once the current view's CIB merge is done.
    pub fn is_synced(&self) -> bool {
        matches!(self.phase, Phase::Running)
    }

    /// The earliest time the core wants a [`Input::Tick`].
    pub fn next_deadline(&self) -> Option<Instant> {
        let absent_expiry = self
            .absent
            .values()
            .map(|since| *since + CONTROLLER_RESTART_GRACE)
            .chain(self.quorum_gain_at)
            .chain(self.lost_node_hold)
            .min();
        match (self.recheck_at, absent_expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Losing quorum counts at once (stopping is the safe direction). Gaining it waits for
    /// the merged view that normally follows: the ring reports quorum before the controllers
    /// of the other partition have announced what they run, and deciding in between would
    /// start resources that already run there.
    fn ring_quorum(&mut self, quorate: bool) {
        self.ring_quorate = quorate;
        if !quorate {
            self.quorum_gain_at = None;
            if self.quorate {
                self.quorate = false;
                self.needs_schedule = true;
            }
        } else if !self.quorate {
            self.quorum_gain_at = Some(self.now + QUORUM_GAIN_WAIT);
        }
    }

    fn apply_quorum(&mut self) {
        self.quorum_gain_at = None;
        if self.quorate != self.ring_quorate {
            self.quorate = self.ring_quorate;
            self.needs_schedule = true;
        }
    }

    fn ring_members(&mut self, nodes: Vec<NodeId>) {
        let nodes: BTreeSet<NodeId> = nodes.into_iter().collect();
        let gone: Vec<String> = self
            .absent
            .keys()
            .filter(|name| {
                let id = self
                    .cib
                    .status
                    .node(name)
                    .and_then(|n| n.id.parse::<NodeId>().ok());
                id.is_none_or(|id| !nodes.contains(&id))
            })
            .cloned()
            .collect();
        self.ring_nodes = Some(nodes);
        for name in gone {
            self.mark_offline(&name);
        }
    }

    /// Nodes whose controller did not come back in time are treated as lost.
    fn expire_absent(&mut self) {
        let expired: Vec<String> = self
            .absent
            .iter()
            .filter(|(_, since)| **since + CONTROLLER_RESTART_GRACE <= self.now)
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            self.mark_offline(&name);
        }
    }

    fn mark_offline(&mut self, name: &str) {
        self.absent.remove(name);
        if let Some(state) = self.cib.status.nodes.iter_mut().find(|n| n.uname == name) {
            state.in_ccm = Some("false".into());
            state.crmd = Some("offline".into());
            state.join = Some("down".into());
            self.needs_schedule = true;
        }
    }

    /// Feeds one input; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, wall: i64, input: Input) -> Vec<Output> {
        debug_assert!(now >= self.now, "time went backwards");
        self.now = now.max(self.now);
        self.wall = wall;
        let mut out = Vec::new();
        match input {
            Input::View { view, members } => self.enter_view(view, members, &mut out),
            Input::Quorum { quorate } => self.ring_quorum(quorate),
            Input::RingMembers { nodes } => self.ring_members(nodes),
            Input::Delivered { from, message } => self.deliver(from, message, &mut out),
            Input::LocalHistory { history } => {
                let newest = history.iter().flat_map(|h| &h.ops).map(|r| r.call_id).max();
                self.next_call_id = self.next_call_id.max(newest.unwrap_or(0) + 1);
                self.own_history = history;
            }
            Input::OpDone {
                token,
                rc,
                op_status,
                exit_reason,
                exec_time_ms,
                at,
            } => {
                let call_id = self.next_call_id;
                self.next_call_id += 1;
                let done = OpDone {
                    rc,
                    op_status,
                    exit_reason,
                    exec_time_ms,
                    call_id,
                    at,
                };
                self.op_done(token, done, &mut out);
            }
            Input::Admin { client, request } => self.admin(client, request, &mut out),
            Input::Shutdown => self.begin_shutdown(&mut out),
            Input::Tick => {
                self.expire_absent();
                if self.quorum_gain_at.is_some_and(|at| at <= self.now) {
                    self.apply_quorum();
                }
                if self.recheck_at.is_some_and(|at| at <= self.now) {
                    self.recheck_at = None;
                    self.needs_schedule = true;
                }
                if self.lost_node_hold.is_some_and(|at| at <= self.now) {
                    self.lost_node_hold = None;
                    self.needs_schedule = true;
                }
            }
        }
        self.maybe_schedule(&mut out);
        self.check_shutdown(&mut out);
        out
    }

    fn begin_shutdown(&mut self, out: &mut Vec<Output>) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.own_attributes
            .set("shutdown", self.wall.max(1).to_string());
        if self.is_synced() {
            out.push(Output::Broadcast(CrmMessage::Attributes {
                node: self.local.name.clone(),
                attributes: self.own_attributes.clone(),
            }));
        }
    }

    /// A leaving node is done once its executor runs nothing for the cluster and no
    /// resource is active here by its own history, or when it is alone (nobody to hand to).
    /// A leaving DC also waits until its transitions are over, as Pacemaker's DC shuts down
    /// only once idle: the starts elsewhere of what ran here are its to send, and nobody
    /// would send them until the others noticed it gone.
    fn check_shutdown(&mut self, out: &mut Vec<Output>) {
        if !self.shutting_down || self.shutdown_reported {
            return;
        }
        let busy = self.local_ops.values().any(|l| l.op.interval_ms == 0);
        let active = self.own_history.iter().any(is_history_active);
        let transitioning = self.is_dc()
            && (self.needs_schedule || self.graph.as_ref().is_some_and(|g| !g.is_finished()));
        if (!busy && !active && !transitioning) || !self.is_synced() {
            self.shutdown_reported = true;
            out.push(Output::ShutdownComplete);
        }
    }

    fn enter_view(&mut self, view: u64, members: Vec<Member>, out: &mut Vec<Output>) {
        let mut members = members;
        members.sort_by_key(|m| m.id);
        let departed: Vec<Member> = self
            .members
            .iter()
            .filter(|m| !members.contains(m))
            .cloned()
            .collect();
        self.members = members;
        // Only a strict majority can count on the lost side being without quorum; a split
        // in halves (two_node) leaves both sides quorate, and nobody stops.
        let majority = departed.len() < self.members.len();
        if majority
            && departed.iter().any(|m| self.runs_resources(&m.name))
            && self.lost_nodes_stop_by_themselves()
        {
            self.lost_node_hold = Some(self.now + LOST_NODE_STOP_GRACE);
        }
        for member in &departed {
            if let Some(graph) = &mut self.graph {
                graph.fail_node(&member.name);
            }
        }
        // Only the DC runs a transition. A node that no longer is (a node with a lower id
        // joined: after a restart, it was alone for a moment) drops its graph: what it sent
        // still runs and reports, and the DC decides again with those results.
        if !self.is_dc()
            && let Some(graph) = self.graph.take()
        {
            out.push(Output::Event(CrmEvent::TransitionDone {
                id: graph.id,
                aborted: true,
            }));
        }
        let alive: BTreeSet<NodeId> = self.members.iter().map(|m| m.id).collect();
        for commit in self.commits.values_mut() {
            commit.waiting.retain(|id| alive.contains(id));
        }
        self.finish_commits(out);
        self.phase = Phase::Syncing {
            view,
            announces: BTreeMap::new(),
            held: Vec::new(),
        };
        out.push(Output::Broadcast(CrmMessage::Announce(Announce {
            view,
            node: self.local.id,
            name: self.local.name.clone(),
            version: self.cib.version(),
            configuration: Box::new(self.cib.configuration.clone()),
            history: self.own_history.clone(),
            attributes: self.own_attributes.clone(),
        })));
    }

    fn deliver(&mut self, from: NodeId, message: CrmMessage, out: &mut Vec<Output>) {
        match &mut self.phase {
            Phase::Alone => {}
            Phase::Syncing {
                view: _,
                announces,
                held,
            } => match message {
                // Virtual synchrony: every member sees the same announcements after the same
                // membership change, so whichever arrive (even one sent just before the
                // change) are the same set everywhere. View numbers are local counters.
                CrmMessage::Announce(announce) => {
                    announces.insert(from, announce);
                    let complete = self.members.iter().all(|m| announces.contains_key(&m.id));
                    if complete {
                        self.merge(out);
                    }
                }
                other => held.push((from, other)),
            },
            Phase::Running => self.apply(from, message, out),
        }
    }

    /// Every member runs this on the same announcements, so all end with the same CIB.
    fn merge(&mut self, out: &mut Vec<Output>) {
        let Phase::Syncing {
            view,
            announces,
            held,
        } = std::mem::replace(&mut self.phase, Phase::Alone)
        else {
            return;
        };
        let winner = announces
            .values()
            .max_by(|a, b| a.version.cmp(&b.version).then(b.node.cmp(&a.node)))
            .expect("a view always includes this node's own announcement");
        for other in announces.values() {
            if other.node != winner.node && other.configuration != winner.configuration {
                out.push(Output::Event(CrmEvent::CibConflict {
                    kept_from: winner.node,
                    kept: winner.version,
                    dropped_from: other.node,
                    dropped: other.version,
                }));
            }
        }
        let changed =
            self.cib.configuration != *winner.configuration || self.cib.version() != winner.version;
        self.cib.configuration = (*winner.configuration).clone();
        (self.cib.admin_epoch, self.cib.epoch, self.cib.num_updates) = winner.version;
        let mut added_node = false;
        for member in &self.members {
            if self.cib.configuration.find_node(&member.name).is_none() {
                self.cib.configuration.nodes.push(Node {
                    id: member.id.to_string(),
                    uname: member.name.clone(),
                    ..Node::default()
                });
                added_node = true;
            }
        }
        if added_node {
            self.cib.bump_epoch();
        }
        self.rebuild_status(&announces);
        if changed || added_node {
            out.push(Output::Persist(Box::new(self.cib.clone())));
        }
        self.phase = Phase::Running;
        self.apply_quorum();
        self.needs_schedule = true;
        if let Some(dc) = self.dc() {
            out.push(Output::Event(CrmEvent::Synced {
                view,
                members: self.members.clone(),
                dc: dc.id,
            }));
        }
        for (from, message) in held {
            self.apply(from, message, out);
        }
    }

    fn rebuild_status(&mut self, announces: &BTreeMap<NodeId, Announce>) {
        let mut states: Vec<NodeState> = Vec::new();
        for announce in announces.values() {
            states.push(NodeState {
                id: announce.node.to_string(),
                uname: announce.name.clone(),
                in_ccm: Some("true".into()),
                crmd: Some("online".into()),
                join: Some("member".into()),
                expected: Some("member".into()),
                transient_attributes: announce.attributes.clone(),
                transient_utilization: NvList::new(),
                resources: announce.history.clone(),
            });
        }
        // A node still in the ring whose controller left is restarting it: keep its state
        // (its executor still runs its resources) for a grace period instead of moving them.
        // Nodes that left keep their last known history, marked offline: the scheduler
        // decides from it (fencing, or with fencing disabled, treating them as stopped).
        for old in std::mem::take(&mut self.cib.status.nodes) {
            let in_ring = old
                .id
                .parse::<NodeId>()
                .ok()
                .is_some_and(|id| self.ring_nodes.as_ref().is_some_and(|r| r.contains(&id)));
            let was_online = old.crmd.as_deref() == Some("online");
            if states.iter().all(|s| s.uname != old.uname) {
                if in_ring && was_online {
                    self.absent.entry(old.uname.clone()).or_insert(self.now);
                    states.push(old);
                    continue;
                }
                self.absent.remove(&old.uname);
                states.push(NodeState {
                    in_ccm: Some("false".into()),
                    crmd: Some("offline".into()),
                    join: Some("down".into()),
                    ..old
                });
            }
        }
        for announce in announces.values() {
            self.absent.remove(&announce.name);
        }
        states.sort_by(|a, b| a.uname.cmp(&b.uname));
        self.cib.status.nodes = states;
    }

    fn apply(&mut self, from: NodeId, message: CrmMessage, out: &mut Vec<Output>) {
        match message {
            CrmMessage::Announce(_) => {}
            CrmMessage::Update {
                origin,
                request,
                base_epoch,
                configuration,
            } => {
                if base_epoch != self.cib.epoch {
                    if origin == self.local.id {
                        self.reject_commit(request, base_epoch, out);
                    }
                    return;
                }
                self.cib.configuration = *configuration;
                self.cib.bump_epoch();
                self.needs_schedule = true;
                out.push(Output::Persist(Box::new(self.cib.clone())));
                out.push(Output::Event(CrmEvent::CibChanged {
                    epoch: self.cib.epoch,
                }));
                out.push(Output::Broadcast(CrmMessage::Applied {
                    origin,
                    request,
                    by: self.local.id,
                }));
            }
            CrmMessage::Applied {
                origin,
                request,
                by,
            } => {
                if origin == self.local.id {
                    if let Some(commit) = self.commits.get_mut(&request) {
                        commit.waiting.remove(&by);
                    }
                    self.finish_commits(out);
                }
            }
            CrmMessage::Execute {
                transition,
                action,
                op,
            } => {
                if op.node == self.local.name {
                    self.execute_locally(Some((transition, action)), *op, out);
                }
            }
            CrmMessage::Result(result) => self.record_result(from, *result, out),
            CrmMessage::Cleanup { rsc, node } => self.cleanup(&rsc, node.as_deref(), out),
            CrmMessage::Attributes { node, attributes } => {
                if let Some(state) = self.cib.status.nodes.iter_mut().find(|n| n.uname == node) {
                    state.transient_attributes = attributes;
                    self.cib.bump_num_updates();
                    self.needs_schedule = true;
                }
            }
        }
    }

    fn reject_commit(&mut self, request: u64, base_epoch: u64, out: &mut Vec<Output>) {
        if let Some(commit) = self.commits.remove(&request) {
            let message = format!(
                "the configuration changed meanwhile (edited at epoch {base_epoch}, now {}); \
                 nothing was committed",
                self.cib.epoch
            );
            out.push(Output::Reply {
                client: commit.client,
                reply: AdminReply::Error {
                    code: "conflict".into(),
                    message,
                },
            });
        }
    }

    fn finish_commits(&mut self, out: &mut Vec<Output>) {
        let done: Vec<u64> = self
            .commits
            .iter()
            .filter(|(_, c)| c.waiting.is_empty())
            .map(|(r, _)| *r)
            .collect();
        for request in done {
            let commit = self
                .commits
                .remove(&request)
                .expect("key taken from the map");
            out.push(Output::Reply {
                client: commit.client,
                reply: AdminReply::Committed {
                    epoch: self.cib.epoch,
                },
            });
        }
    }

    fn execute_locally(
        &mut self,
        action: Option<(u64, usize)>,
        op: ResourceOp,
        out: &mut Vec<Output>,
    ) {
        if op.operation == "stop" {
            // The executor must not keep monitoring what is being stopped.
            let recurring: Vec<(u64, LocalOp)> = self
                .local_ops
                .iter()
                .filter(|(_, l)| l.op.rsc == op.rsc && l.op.interval_ms > 0)
                .map(|(t, l)| (*t, l.clone()))
                .collect();
            for (token, local) in recurring {
                self.local_ops.remove(&token);
                out.push(Output::CancelRecurring {
                    rsc: local.op.rsc,
                    operation: local.op.operation,
                    interval_ms: local.op.interval_ms,
                });
            }
        }
        if op.operation == "cancel" {
            self.cancel_locally(action, op, out);
            return;
        }
        let token = self.next_token;
        self.next_token += 1;
        self.local_ops.insert(
            token,
            LocalOp {
                action,
                op: op.clone(),
            },
        );
        out.push(Output::Execute { token, op });
    }

    /// Cancelling needs no agent call: stop the executor's recurring op and report at once.
    fn cancel_locally(
        &mut self,
        action: Option<(u64, usize)>,
        op: ResourceOp,
        out: &mut Vec<Output>,
    ) {
        self.local_ops.retain(|_, l| {
            !(l.op.rsc == op.rsc && l.op.interval_ms == op.interval_ms && l.op.interval_ms > 0)
        });
        out.push(Output::CancelRecurring {
            rsc: op.rsc.clone(),
            operation: "monitor".into(),
            interval_ms: op.interval_ms,
        });
        let record = OpRecord {
            id: record_id(&op),
            operation: op.operation.clone(),
            interval_ms: op.interval_ms,
            transition_key: Some(transition_key(&op, action)),
            on_node: Some(op.node.clone()),
            ..OpRecord::default()
        };
        upsert_record(&mut self.own_history, &op, record.clone());
        out.push(Output::Broadcast(CrmMessage::Result(Box::new(OpResult {
            node: self.local.name.clone(),
            action,
            rsc: op.rsc,
            class: op.class,
            provider: op.provider,
            kind: op.kind,
            record,
            attributes: self.own_attributes.clone(),
        }))));
    }

    fn op_done(&mut self, token: u64, done: OpDone, out: &mut Vec<Output>) {
        let Some(local) = self.local_ops.get_mut(&token) else {
            return;
        };
        let action = local.action.take();
        let op = local.op.clone();
        if op.interval_ms == 0 {
            self.local_ops.remove(&token);
        }
        let record = done.record(&op, action);
        let failed = is_failure(&op, &record);
        if failed {
            self.count_failure(&op, &record);
        }
        upsert_record(&mut self.own_history, &op, record.clone());
        out.push(Output::Broadcast(CrmMessage::Result(Box::new(OpResult {
            node: self.local.name.clone(),
            action,
            rsc: op.rsc.clone(),
            class: op.class.clone(),
            provider: op.provider.clone(),
            kind: op.kind.clone(),
            record,
            attributes: self.own_attributes.clone(),
        }))));
    }

    /// Pacemaker's fail counts: one per resource, operation and interval on each node; a
    /// failed start counts as INFINITY unless `start-failure-is-fatal` is false.
    fn count_failure(&mut self, op: &ResourceOp, record: &OpRecord) {
        let suffix = format!("{}#{}_{}", op.rsc, op.operation, op.interval_ms);
        let count_name = format!("fail-count-{suffix}");
        let current: i64 = self
            .own_attributes
            .get(&count_name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let fatal_start = op.operation == "start"
            && !matches!(
                self.cib.configuration.properties.get("start-failure-is-fatal"),
                Some(v) if is_false(v)
            );
        let next = if fatal_start {
            INFINITY
        } else {
            (current + 1).min(INFINITY)
        };
        self.own_attributes.set(count_name, next.to_string());
        let at = record.last_rc_change.unwrap_or(self.wall);
        self.own_attributes
            .set(format!("last-failure-{suffix}"), at.to_string());
    }

    fn record_result(&mut self, _from: NodeId, result: OpResult, out: &mut Vec<Output>) {
        let failed_unexpectedly;
        {
            let Some(state) = self
                .cib
                .status
                .nodes
                .iter_mut()
                .find(|n| n.uname == result.node)
            else {
                return;
            };
            state.transient_attributes = result.attributes.clone();
            let op = ResourceOp {
                rsc: result.rsc.clone(),
                class: result.class.clone(),
                provider: result.provider.clone(),
                kind: result.kind.clone(),
                operation: result.record.operation.clone(),
                interval_ms: result.record.interval_ms,
                node: result.node.clone(),
                params: NvList::new(),
                meta: NvList::new(),
                timeout_ms: 0,
            };
            failed_unexpectedly = is_failure(&op, &result.record);
            upsert_record(&mut state.resources, &op, result.record.clone());
        }
        self.cib.bump_num_updates();
        out.push(Output::Event(CrmEvent::OpResult {
            node: result.node.clone(),
            rsc: result.rsc.clone(),
            operation: result.record.operation.clone(),
            interval_ms: result.record.interval_ms,
            rc: result.record.rc_code,
        }));
        let mut graph_done = false;
        let mut foreign = false;
        if let Some((transition, index)) = result.action {
            // The action of this DC's graph, or one another DC sent (transition numbers are
            // each DC's own, so the op must match too): that one is news to decide on.
            let ours = self.graph.as_ref().and_then(|graph| {
                match graph.plan.actions.get(index).map(|a| &a.kind) {
                    Some(ActionKind::Resource(op))
                        if graph.id == transition
                            && op.rsc == result.rsc
                            && op.node == result.node
                            && op.operation == result.record.operation
                            && op.interval_ms == result.record.interval_ms =>
                    {
                        Some(op.is_expected(result.record.rc_code) && result.record.op_status == 0)
                    }
                    _ => None,
                }
            });
            match (ours, &mut self.graph) {
                (Some(expected), Some(graph)) => {
                    graph.complete(index, expected);
                    graph_done = true;
                }
                _ => foreign = true,
            }
        }
        if failed_unexpectedly || (foreign && self.is_dc()) {
            self.needs_schedule = true;
        }
        if graph_done {
            self.advance_graph(out);
        }
    }

    fn cleanup(&mut self, rsc: &str, node: Option<&str>, out: &mut Vec<Output>) {
        let prefix_count = format!("fail-count-{rsc}#");
        let prefix_last = format!("last-failure-{rsc}#");
        let clear = |attributes: &mut NvList| {
            let names: Vec<String> = attributes
                .iter()
                .filter(|(n, _)| n.starts_with(&prefix_count) || n.starts_with(&prefix_last))
                .map(|(n, _)| n.to_string())
                .collect();
            for name in names {
                attributes.remove(&name);
            }
        };
        for state in &mut self.cib.status.nodes {
            if node.is_none_or(|n| n == state.uname) {
                state.resources.retain(|h| h.id != rsc);
                clear(&mut state.transient_attributes);
            }
        }
        if node.is_none_or(|n| n == self.local.name) {
            self.own_history.retain(|h| h.id != rsc);
            clear(&mut self.own_attributes);
            out.push(Output::Forget {
                rsc: rsc.to_string(),
            });
        }
        self.cib.bump_num_updates();
        self.needs_schedule = true;
    }

    fn admin(&mut self, client: ClientId, request: AdminRequest, out: &mut Vec<Output>) {
        match request {
            AdminRequest::Status => {
                let reply = AdminReply::Status(Box::new(self.snapshot()));
                out.push(Output::Reply { client, reply });
            }
            AdminRequest::Commit {
                base_epoch,
                configuration,
            } => {
                if !self.is_synced() {
                    out.push(not_ready(client));
                    return;
                }
                let request = self.next_request;
                self.next_request += 1;
                let waiting = self.members.iter().map(|m| m.id).collect();
                self.commits
                    .insert(request, PendingCommit { client, waiting });
                out.push(Output::Broadcast(CrmMessage::Update {
                    origin: self.local.id,
                    request,
                    base_epoch,
                    configuration,
                }));
            }
            AdminRequest::Cleanup { rsc, node } => {
                if !self.is_synced() {
                    out.push(not_ready(client));
                    return;
                }
                out.push(Output::Broadcast(CrmMessage::Cleanup { rsc, node }));
                out.push(Output::Reply {
                    client,
                    reply: AdminReply::Done,
                });
            }
        }
    }

    /// What `ha-crm status` shows.
    pub fn snapshot(&self) -> StatusSnapshot {
        let mut cib = self.cib.clone();
        cib.status.have_quorum = Some(self.quorate);
        cib.status.dc_uuid = self.dc().map(|dc| dc.id.to_string());
        StatusSnapshot {
            node: self.local.clone(),
            dc: self.dc().cloned(),
            quorate: self.quorate,
            synced: self.is_synced(),
            members: self.members.clone(),
            transition: self.graph.as_ref().map(|g| TransitionInfo {
                id: g.id,
                pending: g
                    .states
                    .iter()
                    .filter(|s| **s != graph::ActionState::Done)
                    .count(),
            }),
            cib: Box::new(cib),
        }
    }

    /// True when the node's last known history has a resource active.
    fn runs_resources(&self, name: &str) -> bool {
        self.cib
            .status
            .node(name)
            .is_some_and(|n| n.resources.iter().any(is_history_active))
    }

    /// True when a node cut off into a minority stops its resources by itself and nothing
    /// fences it: then the majority must give it time to do so.
    fn lost_nodes_stop_by_themselves(&self) -> bool {
        let properties = &self.cib.configuration.properties;
        let fencing = !properties.get("stonith-enabled").is_some_and(is_false);
        let policy = properties.get("no-quorum-policy").unwrap_or("stop");
        !fencing && matches!(policy, "stop" | "suicide" | "demote")
    }

    fn maybe_schedule(&mut self, out: &mut Vec<Output>) {
        if !self.is_dc() || !self.is_synced() || !self.absent.is_empty() {
            return;
        }
        // Without quorum there is nothing to wait for: stopping is what this side does.
        if self.quorate && self.lost_node_hold.is_some_and(|at| at > self.now) {
            return;
        }
        if let Some(graph) = &mut self.graph
            && !graph.is_finished()
        {
            if self.needs_schedule {
                // Let in-flight actions finish, then decide again with what they found.
                graph.aborted = true;
            }
            return;
        }
        if !self.needs_schedule {
            return;
        }
        self.needs_schedule = false;
        self.recheck_at = Some(self.now + self.recheck_delay());
        let mut input = self.cib.clone();
        input.status.have_quorum = Some(self.quorate);
        input.status.dc_uuid = Some(self.local.id.to_string());
        input.status.execution_date = Some(self.wall);
        match (self.planner)(&input, self.wall) {
            Ok(plan) if plan.actions.is_empty() => self.graph = None,
            Ok(plan) => {
                self.last_transition += 1;
                let id = self.last_transition;
                out.push(Output::Event(CrmEvent::TransitionStarted {
                    id,
                    actions: plan.actions.len(),
                }));
                self.graph = Some(Graph::new(id, plan));
                self.advance_graph(out);
            }
            Err(message) => out.push(Output::Event(CrmEvent::SchedulerError { message })),
        }
    }

    /// The regular recheck, or sooner when a date rule (a `--lifetime` constraint) changes
    /// its answer before then, so the constraint ends on time.
    fn recheck_delay(&self) -> Duration {
        let next_boundary = self
            .cib
            .configuration
            .constraints
            .iter()
            .filter_map(|c| match c {
                crate::crm::cib::Constraint::Location(location) => Some(&location.rules),
                _ => None,
            })
            .flatten()
            .flat_map(|rule| &rule.expressions)
            .filter(|e| e.attribute == crate::crm::cib::DATE_ATTRIBUTE)
            .filter_map(|e| e.value.as_deref().and_then(crate::crm::date::parse_iso8601))
            .filter(|at| *at >= self.wall)
            .min();
        match next_boundary {
            // One second past the boundary: `lt END` stops holding at END.
            Some(at) => RECHECK_INTERVAL.min(Duration::from_secs((at - self.wall) as u64 + 1)),
            None => RECHECK_INTERVAL,
        }
    }

    fn advance_graph(&mut self, out: &mut Vec<Output>) {
        let Some(graph) = &mut self.graph else { return };
        let ready = graph.take_ready();
        let id = graph.id;
        let mut fence_failed = Vec::new();
        for index in ready {
            let action = &graph.plan.actions[index];
            match &action.kind {
                ActionKind::Resource(op) => {
                    out.push(Output::Event(CrmEvent::ActionSent {
                        transition: id,
                        key: action.key.clone(),
                        node: op.node.clone(),
                    }));
                    out.push(Output::Broadcast(CrmMessage::Execute {
                        transition: id,
                        action: index,
                        op: Box::new(op.clone()),
                    }));
                }
                ActionKind::Fence { .. } => fence_failed.push(index),
                ActionKind::Pseudo => {}
            }
        }
        // No fencing device exists: the fence cannot complete, the graph stops there and the
        // scheduler is not re-run until something else changes.
        for index in fence_failed {
            graph.complete(index, false);
        }
        if graph.is_finished() {
            let aborted = graph.aborted;
            out.push(Output::Event(CrmEvent::TransitionDone { id, aborted }));
            self.graph = None;
            if aborted {
                self.needs_schedule = true;
            }
        }
    }
}

struct OpDone {
    rc: i32,
    op_status: i32,
    exit_reason: Option<String>,
    exec_time_ms: u64,
    call_id: i64,
    at: i64,
}

impl OpDone {
    fn record(&self, op: &ResourceOp, action: Option<(u64, usize)>) -> OpRecord {
        OpRecord {
            id: record_id(op),
            operation: op.operation.clone(),
            interval_ms: op.interval_ms,
            call_id: self.call_id,
            rc_code: self.rc,
            op_status: self.op_status,
            last_rc_change: Some(self.at),
            last_run: Some(self.at),
            exec_time_ms: Some(self.exec_time_ms),
            queue_time_ms: Some(0),
            op_digest: None,
            exit_reason: self.exit_reason.clone(),
            on_node: Some(op.node.clone()),
            transition_key: Some(transition_key(op, action)),
            transition_magic: None,
            ..OpRecord::default()
        }
    }
}

/// Pacemaker's `ACTION:TRANSITION:EXPECTED_RC:UUID`: the scheduler reads the expected code
/// from it to tell a failure from a success (a probe expects 7, not running).
fn transition_key(op: &ResourceOp, action: Option<(u64, usize)>) -> String {
    let (transition, index) = action.unwrap_or((0, 0));
    format!("{index}:{transition}:{}:hakit", op.expected_rc())
}

/// Pacemaker's record ids: `RSC_last_0` for one-shot ops, `RSC_monitor_10000` for recurring.
fn record_id(op: &ResourceOp) -> String {
    if op.interval_ms == 0 {
        format!("{}_last_0", op.rsc)
    } else {
        format!("{}_{}_{}", op.rsc, op.operation, op.interval_ms)
    }
}

/// True when the newest one-shot record says the resource runs (started, or found running).
fn is_history_active(history: &ResourceHistory) -> bool {
    history
        .ops
        .iter()
        .filter(|r| r.interval_ms == 0 && !r.id.ends_with("_last_failure_0"))
        .max_by_key(|r| r.call_id)
        .is_some_and(|r| r.rc_code == 0 && r.op_status == 0 && r.operation != "stop")
}

fn is_failure(op: &ResourceOp, record: &OpRecord) -> bool {
    record.op_status != 0 || !op.is_expected(record.rc_code)
}

/// Keeps one record per id (newest call wins) and a `RSC_last_failure_0` copy of failures.
fn upsert_record(history: &mut Vec<ResourceHistory>, op: &ResourceOp, record: OpRecord) {
    let index = match history.iter().position(|h| h.id == op.rsc) {
        Some(index) => index,
        None => {
            history.push(ResourceHistory {
                id: op.rsc.clone(),
                class: op.class.clone(),
                provider: op.provider.clone(),
                kind: op.kind.clone(),
                ops: Vec::new(),
            });
            history.len() - 1
        }
    };
    let entry = &mut history[index];
    if op.operation == "cancel" {
        entry
            .ops
            .retain(|r| r.interval_ms != op.interval_ms || r.operation != "monitor");
        return;
    }
    if is_failure(op, &record) {
        let failure = OpRecord {
            id: format!("{}_last_failure_0", op.rsc),
            ..record.clone()
        };
        replace_record(&mut entry.ops, failure);
    }
    // Stopping ends recurring monitors: drop their records so they do not look active.
    if op.operation == "stop" && record.rc_code == 0 {
        entry.ops.retain(|r| r.interval_ms == 0);
    }
    replace_record(&mut entry.ops, record);
}

fn replace_record(ops: &mut Vec<OpRecord>, record: OpRecord) {
    match ops.iter_mut().find(|r| r.id == record.id) {
        Some(existing) if existing.call_id <= record.call_id => *existing = record,
        Some(_) => {}
        None => ops.push(record),
    }
}

fn is_false(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "false" | "no" | "n" | "off" | "0"
    )
}

fn not_ready(client: ClientId) -> Output {
    Output::Reply {
        client,
        reply: AdminReply::Error {
            code: "not_ready".into(),
            message: "the cluster configuration is not synchronised yet (no DC in this \
                      partition); nothing was changed"
                .into(),
        },
    }
}

#[cfg(test)]
mod tests;
