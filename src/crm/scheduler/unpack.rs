//! Phase 1: turn the CIB into the scheduler's working model. Cluster options, node states
//! (Pacemaker's `determine_online_status` rules, with and without fencing), resources with
//! merged meta attributes, and each resource's operation history read in call-id order into a
//! role, failure flags, bans and fail counts.

use std::collections::HashMap;

use super::super::cib::{self, Cib, NvList, OpRecord, Resource as CibResource};
use super::super::score::{INFINITY, Score};
use super::super::xml::parse_bool;
use super::EpochSeconds;
use super::sets;
use super::task::Task;

/// What the cluster does without quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NoQuorum {
    Stop,
    Freeze,
    Ignore,
    Demote,
    Fence,
}

/// Cluster options the scheduler reads.
#[derive(Debug, Clone)]
pub(super) struct Options {
    pub(super) fencing_enabled: bool,
    pub(super) have_fencing: bool,
    pub(super) quorate: bool,
    pub(super) no_quorum: NoQuorum,
    pub(super) symmetric: bool,
    pub(super) stop_orphans: bool,
    pub(super) maintenance_mode: bool,
    pub(super) stop_all: bool,
    pub(super) startup_fencing: bool,
    pub(super) fencing_action: String,
    /// Simulating on a CIB whose private parameters may be masked (`crm_simulate`'s default):
    /// a change of only those is not a definition change.
    pub(super) sanitized: bool,
    /// `placement-strategy`.
    pub(super) placement: super::utilization::Placement,
}

/// A resource's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Role {
    Unknown,
    Stopped,
    Started,
}

/// Failure handling chosen for an operation, ordered by severity as in Pacemaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum OnFail {
    Ignore,
    Restart,
    Ban,
    Block,
    Stop,
    Standby,
    Fence,
}

/// A node as the scheduler sees it.
#[derive(Debug, Clone)]
pub(super) struct NodeInfo {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) attrs: NvList,
    pub(super) online: bool,
    pub(super) unclean: bool,
    pub(super) standby: bool,
    pub(super) pending: bool,
    pub(super) maintenance: bool,
    pub(super) shutdown: bool,
    pub(super) expected_up: bool,
    /// Whether a node_state entry was seen for it.
    pub(super) seen: bool,
    /// Base weight: -INFINITY when it cannot run anything.
    pub(super) weight: Score,
    /// Resources assigned here so far in this run (spreads resources out).
    pub(super) num_resources: usize,
    /// Fencing reason when fencing was asked for (first reason wins).
    pub(super) fence_reason: Option<String>,
    /// Index of the node_state entry, when present.
    pub(super) state: Option<usize>,
    /// Fail counts recorded in the node's transient attributes.
    pub(super) failures: NodeFailures,
}

impl NodeInfo {
    /// Pacemaker's `pcmk__node_available` without the score test.
    pub(super) fn is_available(&self) -> bool {
        self.online && !self.shutdown && !self.unclean && !self.standby && !self.maintenance
    }

    /// Why the node cannot run resources, for explanations.
    pub(super) fn unavailable_reason(&self) -> Option<&'static str> {
        if self.unclean {
            Some("unclean")
        } else if !self.online {
            Some("offline")
        } else if self.shutdown {
            Some("shutting down")
        } else if self.pending {
            Some("pending")
        } else if self.standby {
            Some("standby")
        } else if self.maintenance {
            Some("maintenance")
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Variant {
    Primitive,
    Group,
    /// Its children are the instances (`rsc:0`, `rsc:1`, …), primitives or groups.
    Clone,
}

/// What a clone's meta attributes say about its instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CloneInfo {
    /// `clone-max`: instances in total (default: one per node).
    pub(super) max: usize,
    /// `clone-node-max`: instances per node (always 1 for anonymous clones).
    pub(super) node_max: usize,
    /// `globally-unique`: instances are distinct (else any instance is as good as another).
    pub(super) unique: bool,
    /// `interleave`: orderings and colocations with other clones go instance by instance.
    pub(super) interleave: bool,
    /// `ordered`: instances start one after the other.
    pub(super) ordered: bool,
}

/// A recurring operation found active in the history.
#[derive(Debug, Clone)]
pub(super) struct ActiveRecurring {
    pub(super) node: usize,
    pub(super) name: String,
    pub(super) interval_ms: u64,
}

/// A resource (primitive or group) in the working model.
#[derive(Debug, Clone)]
pub(super) struct Rsc {
    pub(super) id: String,
    pub(super) variant: Variant,
    pub(super) parent: Option<usize>,
    pub(super) children: Vec<usize>,
    pub(super) class: String,
    pub(super) provider: Option<String>,
    pub(super) kind: String,
    pub(super) meta: NvList,
    pub(super) ops: Vec<cib::Op>,
    pub(super) priority: i64,
    pub(super) stickiness: i64,
    /// 0 means never ban.
    pub(super) migration_threshold: i64,
    pub(super) failure_timeout_s: i64,
    pub(super) managed: bool,
    pub(super) maintenance: bool,
    pub(super) target_role: Option<Role>,
    pub(super) orphan: bool,
    pub(super) needs_fencing: bool,
    pub(super) needs_quorum: bool,
    pub(super) is_fence_device: bool,
    // Status.
    pub(super) orig_role: Role,
    pub(super) next_role: Role,
    pub(super) running_on: Vec<usize>,
    pub(super) failed: bool,
    pub(super) stop_if_failed: bool,
    pub(super) blocked: bool,
    pub(super) start_pending: bool,
    pub(super) ignore_failure: bool,
    pub(super) not_installed: bool,
    pub(super) probed: Vec<bool>,
    pub(super) active_recurring: Vec<ActiveRecurring>,
    /// Recurring ops recorded as failed (node, name, interval) to cancel.
    pub(super) failed_recurring: Vec<ActiveRecurring>,
    /// Pending operation for display ("Starting").
    pub(super) pending_task: Option<(String, usize)>,
    // Assignment.
    pub(super) allowed: Vec<Option<Score>>,
    pub(super) terms: Vec<Vec<(String, Score)>>,
    pub(super) assigned: Option<usize>,
    pub(super) unassigned: bool,
    pub(super) assigning: bool,
    pub(super) updating_nodes: bool,
    pub(super) this_with: Vec<usize>,
    pub(super) with_this: Vec<usize>,
    pub(super) actions: Vec<usize>,
    /// The same without monitors (probes are most actions; this keeps lookups short).
    pub(super) main_actions: Vec<usize>,
    pub(super) stop_reason: Option<String>,
    /// Agent parameters, the parent's included (for operation digests).
    pub(super) params: NvList,
    /// Set for clones.
    pub(super) clone: Option<CloneInfo>,
    /// What a primitive uses of each node capacity: (`Sched::util_names` index, amount).
    pub(super) utilization: Vec<(usize, i64)>,
    /// A clone instance that may not run (beyond `clone-max`, or only in the history).
    pub(super) removed: bool,
    /// For clones: instances assigned per node so far.
    pub(super) instance_counts: Vec<usize>,
    /// An agent reload is scheduled (shown as "Reload").
    pub(super) reload: bool,
    /// Recurring ops to run again with changed parameters: (node, interval).
    pub(super) rescheduled: Vec<(usize, u64)>,
}

impl Rsc {
    fn new(id: String, variant: Variant, nodes: usize) -> Rsc {
        Rsc {
            id,
            variant,
            parent: None,
            children: Vec::new(),
            class: String::new(),
            provider: None,
            kind: String::new(),
            meta: NvList::new(),
            ops: Vec::new(),
            priority: 0,
            stickiness: 0,
            migration_threshold: INFINITY,
            failure_timeout_s: 0,
            managed: true,
            maintenance: false,
            target_role: None,
            orphan: false,
            needs_fencing: false,
            needs_quorum: true,
            is_fence_device: false,
            orig_role: Role::Stopped,
            next_role: Role::Unknown,
            running_on: Vec::new(),
            failed: false,
            stop_if_failed: false,
            blocked: false,
            start_pending: false,
            ignore_failure: false,
            not_installed: false,
            probed: vec![false; nodes],
            active_recurring: Vec::new(),
            failed_recurring: Vec::new(),
            pending_task: None,
            allowed: vec![None; nodes],
            terms: Vec::new(),
            assigned: None,
            unassigned: true,
            assigning: false,
            updating_nodes: false,
            this_with: Vec::new(),
            with_this: Vec::new(),
            actions: Vec::new(),
            main_actions: Vec::new(),
            stop_reason: None,
            params: NvList::new(),
            clone: None,
            utilization: Vec::new(),
            removed: false,
            instance_counts: Vec::new(),
            reload: false,
            rescheduled: Vec::new(),
        }
    }

    /// `class:provider:type` as the status display shows it.
    pub(super) fn agent(&self) -> String {
        match &self.provider {
            Some(p) => format!("{}:{}:{}", self.class, p, self.kind),
            None => format!("{}:{}", self.class, self.kind),
        }
    }
}

/// A colocation in the working model.
#[derive(Debug, Clone)]
pub(super) struct Coloc {
    pub(super) dependent: usize,
    pub(super) primary: usize,
    pub(super) score: Score,
    pub(super) influence: bool,
    pub(super) explicit: bool,
}

/// A location constraint resolved to nodes.
#[derive(Debug, Clone)]
pub(super) struct LocationRule {
    pub(super) id: String,
    pub(super) rsc: usize,
    pub(super) nodes: Vec<(usize, Score)>,
}

/// An ordering between resource actions (before actions exist) or actions.
#[derive(Debug, Clone)]
pub(super) struct OrderSpec {
    pub(super) rsc1: Option<usize>,
    pub(super) task1: Task,
    pub(super) action1: Option<usize>,
    pub(super) rsc2: Option<usize>,
    pub(super) task2: Task,
    pub(super) action2: Option<usize>,
    pub(super) flags: u32,
}

/// A scheduled action.
#[derive(Debug, Clone)]
pub(super) struct Action {
    pub(super) rsc: Option<usize>,
    pub(super) task: Task,
    pub(super) interval_ms: u64,
    pub(super) node: Option<usize>,
    pub(super) optional: bool,
    pub(super) runnable: bool,
    pub(super) pseudo: bool,
    pub(super) reason: Option<String>,
    /// Newest edge into this action (see [`Edge`]), or [`NO_EDGE`].
    pub(super) before_head: u32,
    /// Newest edge out of this action, or [`NO_EDGE`].
    pub(super) after_head: u32,
    pub(super) before_len: u32,
    pub(super) after_len: u32,
    /// Required by the requires-quorum/fencing rule (start, promote).
    pub(super) needs_quorum_or_fencing: bool,
    /// For clear_failcount: why (shown as the action's reason); for a
    /// [`Task::OneOrMore`] pseudo-action: its name.
    pub(super) note: Option<String>,
    /// Runnable only once this many actions ordered before it (with
    /// [`flags::MIN_RUNNABLE`](super::actions::flags::MIN_RUNNABLE)) are; 0: no such rule.
    pub(super) min_runnable_before: u32,
    /// Those runnable so far, counted while flags propagate.
    pub(super) runnable_before: u32,
}

impl Action {
    /// A template for new actions: required, runnable, no edges yet.
    pub(super) const EMPTY: Action = Action {
        rsc: None,
        task: Task::Start,
        interval_ms: 0,
        node: None,
        optional: false,
        runnable: true,
        pseudo: false,
        reason: None,
        before_head: NO_EDGE,
        after_head: NO_EDGE,
        before_len: 0,
        after_len: 0,
        needs_quorum_or_fencing: false,
        note: None,
        min_runnable_before: 0,
        runnable_before: 0,
    };
}

/// Marks the end of an edge list.
pub(super) const NO_EDGE: u32 = u32::MAX;

/// An ordering edge: `then` waits for `first`. Every edge sits in two singly linked lists
/// threaded through [`Sched::edges`], the "before" list of `then` and the "after" list of
/// `first`, each newest first as Pacemaker prepends its relations. No allocation per action,
/// and most actions (probes) have a single edge.
#[derive(Debug, Clone, Copy)]
pub(super) struct Edge {
    pub(super) first: u32,
    pub(super) then: u32,
    pub(super) flags: u32,
    pub(super) next_before: u32,
    pub(super) next_after: u32,
}

/// Walks one edge list (see [`Edge`]), newest first.
pub(super) struct EdgeIter<'a> {
    edges: &'a [Edge],
    next: u32,
    before: bool,
}

impl Iterator for EdgeIter<'_> {
    /// (the action at the other end, the edge's flags)
    type Item = (usize, u32);

    fn next(&mut self) -> Option<(usize, u32)> {
        let edge = self.edges.get(self.next as usize)?;
        if self.before {
            self.next = edge.next_before;
            Some((edge.first as usize, edge.flags))
        } else {
            self.next = edge.next_after;
            Some((edge.then as usize, edge.flags))
        }
    }
}

impl Sched {
    /// The actions `then` waits for, with the edge flags, newest edge first.
    pub(super) fn before(&self, then: usize) -> EdgeIter<'_> {
        EdgeIter {
            edges: &self.edges,
            next: self.actions[then].before_head,
            before: true,
        }
    }

    /// The actions waiting for `first`, with the edge flags, newest edge first.
    pub(super) fn after(&self, first: usize) -> EdgeIter<'_> {
        EdgeIter {
            edges: &self.edges,
            next: self.actions[first].after_head,
            before: false,
        }
    }

    /// Adds the edge `first` → `then` to both lists.
    pub(super) fn push_edge(&mut self, first: usize, then: usize, flags: u32) {
        let index = self.edges.len() as u32;
        self.edges.push(Edge {
            first: first as u32,
            then: then as u32,
            flags,
            next_before: self.actions[then].before_head,
            next_after: self.actions[first].after_head,
        });
        let t = &mut self.actions[then];
        t.before_head = index;
        t.before_len += 1;
        let f = &mut self.actions[first];
        f.after_head = index;
        f.after_len += 1;
    }
}

/// The key of [`ActionIndex`]: resource, node (`u32::MAX` for none), task, interval.
pub(super) type ActionKey = (u32, u32, Task, u64);

/// Action lookup by (resource, node, task, interval). Probes (monitor, interval 0, on a node),
/// nearly all of a large transition's actions, sit in a table indexed by resource and node;
/// the others in a hash map with a fast non-cryptographic hash (keys come from our own model,
/// not from an adversary).
#[derive(Debug, Clone, Default)]
pub(super) struct ActionIndex {
    others: HashMap<ActionKey, usize, FastBuildHasher>,
    /// Per resource, per node: the probe's action index, or [`NO_ACTION`].
    probes: Vec<u32>,
    nodes: usize,
}

/// An empty slot of [`ActionIndex::probes`].
const NO_ACTION: u32 = u32::MAX;

impl ActionIndex {
    fn new(nodes: usize) -> ActionIndex {
        ActionIndex {
            nodes,
            ..ActionIndex::default()
        }
    }

    /// Where `key`'s action sits in the probe table, when it is a probe.
    #[inline]
    fn probe_slot(&self, key: &ActionKey) -> Option<usize> {
        let (rsc, node, task, interval_ms) = *key;
        if task != Task::Monitor
            || interval_ms != 0
            || rsc == u32::MAX
            || node as usize >= self.nodes
        {
            return None;
        }
        Some(rsc as usize * self.nodes + node as usize)
    }

    /// Room for the probes of `rscs` resources and `others` further actions.
    pub(super) fn reserve(&mut self, rscs: usize, others: usize) {
        let size = rscs * self.nodes;
        if self.probes.len() < size {
            self.probes.resize(size, NO_ACTION);
        }
        self.others.reserve(others);
    }

    #[inline]
    fn get(&self, key: &ActionKey) -> Option<usize> {
        match self.probe_slot(key) {
            Some(slot) => self
                .probes
                .get(slot)
                .filter(|&&a| a != NO_ACTION)
                .map(|&a| a as usize),
            None => self.others.get(key).copied(),
        }
    }

    /// `Ok` with the action registered for `key`, or `Err(next)` after registering `next`.
    #[inline]
    fn claim(&mut self, key: ActionKey, next: usize) -> Result<usize, usize> {
        use std::collections::hash_map::Entry;
        let Some(slot) = self.probe_slot(&key) else {
            return match self.others.entry(key) {
                Entry::Occupied(e) => Ok(*e.get()),
                Entry::Vacant(e) => {
                    e.insert(next);
                    Err(next)
                }
            };
        };
        if slot >= self.probes.len() {
            self.probes.resize(slot + 1, NO_ACTION);
        }
        match self.probes[slot] {
            NO_ACTION => {
                self.probes[slot] = next as u32;
                Err(next)
            }
            existing => Ok(existing as usize),
        }
    }

    fn remove(&mut self, key: &ActionKey) {
        match self.probe_slot(key) {
            Some(slot) => {
                if let Some(a) = self.probes.get_mut(slot) {
                    *a = NO_ACTION;
                }
            }
            None => {
                self.others.remove(key);
            }
        }
    }
}

/// Hash-map builder for keys of our own making (indexes, ids from the CIB being scheduled).
pub(super) type FastBuildHasher = std::hash::BuildHasherDefault<FastHasher>;

fn action_key(rsc: Option<usize>, task: Task, interval_ms: u64, node: Option<usize>) -> ActionKey {
    let narrow = |v: Option<usize>| v.map_or(u32::MAX, |v| v as u32);
    (narrow(rsc), narrow(node), task, interval_ms)
}

impl Sched {
    /// The action with exactly this resource, task, interval and node.
    pub(super) fn find_action_exact(
        &self,
        rsc: Option<usize>,
        task: Task,
        interval_ms: u64,
        node: Option<usize>,
    ) -> Option<usize> {
        self.action_index
            .get(&action_key(rsc, task, interval_ms, node))
    }

    /// `Ok` with the existing action for this key, or `Err` with the index the caller must
    /// push the new action at (already registered): one hash lookup for both cases.
    pub(super) fn claim_action_slot(
        &mut self,
        rsc: Option<usize>,
        task: Task,
        interval_ms: u64,
        node: Option<usize>,
    ) -> Result<usize, usize> {
        let next = self.actions.len();
        self.action_index
            .claim(action_key(rsc, task, interval_ms, node), next)
    }

    /// Gives the node-less action `index` its node (see `custom_action`).
    pub(super) fn place_action(&mut self, index: usize, node: usize) {
        let a = &self.actions[index];
        self.action_index
            .remove(&action_key(a.rsc, a.task, a.interval_ms, None));
        self.actions[index].node = Some(node);
        self.unplaced_actions = self.unplaced_actions.saturating_sub(1);
        self.index_action(index);
    }

    /// Registers a new action for [`Sched::find_action_exact`].
    pub(super) fn index_action(&mut self, index: usize) {
        let a = &self.actions[index];
        let key = action_key(a.rsc, a.task, a.interval_ms, a.node);
        let _ = self.action_index.claim(key, index);
    }
}

/// A multiply-and-rotate hasher (the "Fx" scheme): a few cycles per word, which matters when
/// every one of tens of thousands of actions is looked up several times.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FastHasher(u64);

impl FastHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

/// Records an explanation term when terms are being recorded (the list is empty otherwise,
/// so plain scheduling pays nothing for explanations).
pub(super) fn push_term(
    terms: &mut [Vec<(String, Score)>],
    node: usize,
    term: impl FnOnce() -> (String, Score),
) {
    if let Some(list) = terms.get_mut(node) {
        list.push(term());
    }
}

/// The working state shared by every phase.
#[derive(Debug, Clone)]
pub(super) struct Sched {
    pub(super) now: EpochSeconds,
    pub(super) options: Options,
    pub(super) nodes: Vec<NodeInfo>,
    pub(super) rscs: Vec<Rsc>,
    /// Top-level resources in scheduling order (priority, then configuration; orphans last).
    pub(super) order: Vec<usize>,
    pub(super) colocs: Vec<Coloc>,
    pub(super) locations: Vec<LocationRule>,
    pub(super) orderings: Vec<OrderSpec>,
    pub(super) actions: Vec<Action>,
    /// Primitive actions created without a node and not yet placed on one.
    pub(super) unplaced_actions: usize,
    /// Ordering edges between `actions` (see [`Edge`]).
    pub(super) edges: Vec<Edge>,
    pub(super) action_index: ActionIndex,
    pub(super) notes: Vec<String>,
    pub(super) dc: Option<usize>,
    pub(super) execution_date: Option<EpochSeconds>,
    /// Per resource id, the exit code of the first failed probe in the recorded status (the
    /// status display shows it beside a stopped resource).
    pub(super) failed_probe_rcs: HashMap<String, i32, FastBuildHasher>,
    /// Operation defaults (`op_defaults`), e.g. `on-fail`.
    pub(super) op_defaults: NvList,
    /// Whether score terms are recorded for explanations.
    pub(super) record_terms: bool,
    /// Configured resource ids to indexes.
    pub(super) rsc_ids: HashMap<String, usize, FastBuildHasher>,
    /// Per node, whether it can run resources, fixed for the placement phase.
    pub(super) available: Vec<bool>,
    /// Per resource, its "with this" colocations once computed during placement.
    pub(super) with_this_cache: Vec<Option<Vec<usize>>>,
    /// Each node's position when nodes are sorted by name bytes (the last placement tie-break).
    pub(super) node_name_rank: Vec<usize>,
    /// Node names to indexes.
    pub(super) node_ids: HashMap<String, usize, FastBuildHasher>,
    /// Ids of resources inside clones, without the instance number, to the clone.
    pub(super) clone_bases: HashMap<String, usize, FastBuildHasher>,
    /// Resource a history entry stands for, per (node, history id), as resolved when the
    /// status was read, where its id differs (clone histories map to instances).
    pub(super) history_rscs: HashMap<(usize, String), usize, FastBuildHasher>,
    /// Utilization attribute names (indexes of `capacity` and `Rsc::utilization`).
    pub(super) util_names: Vec<String>,
    /// Per node, the capacity left per utilization attribute.
    pub(super) capacity: Vec<Vec<i64>>,
    /// Orphaned resource ids to indexes.
    pub(super) orphan_ids: HashMap<String, usize, FastBuildHasher>,
}

impl Sched {
    pub(super) fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    /// Adds `score` for `rsc` on `node` (and, like Pacemaker's `resource_location`, on every
    /// descendant), recording the term for explanations.
    pub(super) fn resource_location(&mut self, rsc: usize, node: usize, score: Score, tag: &str) {
        let children = self.rscs[rsc].children.clone();
        for child in children {
            self.resource_location(child, node, score, tag);
        }
        let r = &mut self.rscs[rsc];
        let current = r.allowed[node].unwrap_or(self.nodes[node].weight_for_copy());
        r.allowed[node] = Some(current + score);
        push_term(&mut r.terms, node, || (tag.to_string(), score));
    }

    /// Same for every node.
    pub(super) fn resource_location_all(&mut self, rsc: usize, score: Score, tag: &str) {
        for node in 0..self.nodes.len() {
            self.resource_location(rsc, node, score, tag);
        }
    }

    /// Marks `node` unclean with `reason` (Pacemaker's `pe_fence_node`): the first reason wins.
    pub(super) fn fence_node(&mut self, node: usize, reason: String) {
        let n = &mut self.nodes[node];
        if !n.unclean {
            n.unclean = true;
            if n.fence_reason.is_none() {
                n.fence_reason = Some(reason);
            }
        }
    }

    /// Effective fail count of `rsc` on `node` (sum over its per-operation counters), honouring
    /// failure-timeout when `effective`.
    pub(super) fn fail_count(&self, rsc: usize, node: usize, effective: bool) -> i64 {
        let failures = &self.nodes[node].failures;
        if failures.is_empty() {
            return 0;
        }
        // Counters are kept by resource id without a clone instance number.
        let Some(&(count, last_failure)) = failures.get(strip_instance(&self.rscs[rsc].id)) else {
            return 0;
        };
        let timeout = self.rscs[rsc].failure_timeout_s;
        if effective && timeout > 0 && last_failure > 0 && self.now >= last_failure + timeout {
            return 0;
        }
        count.value()
    }
}

/// Fail counts and last-failure times per resource id, summed over the per-operation
/// `fail-count-RSC#OP_INTERVAL` and `last-failure-…` transient attributes of one node.
pub(super) type NodeFailures = HashMap<String, (Score, i64), FastBuildHasher>;

fn node_failures(attrs: &NvList) -> NodeFailures {
    let mut out = NodeFailures::default();
    for (name, value) in attrs.iter() {
        if let Some(rest) = name.strip_prefix("fail-count-") {
            let entry = out
                .entry(failure_attr_base(rest).to_string())
                .or_insert((Score::ZERO, 0));
            entry.0 += Score::parse_lenient(value).unwrap_or(Score::ZERO);
        } else if let Some(rest) = name.strip_prefix("last-failure-") {
            let entry = out
                .entry(failure_attr_base(rest).to_string())
                .or_insert((Score::ZERO, 0));
            entry.1 = entry.1.max(value.trim().parse().unwrap_or(0));
        }
    }
    out
}

/// The resource id in `RSC#OP_INTERVAL` (the per-operation form) or plain `RSC`, clone
/// suffixes ignored.
fn failure_attr_base(rest: &str) -> &str {
    let base = rest.split('#').next().unwrap_or(rest);
    base.split(':').next().unwrap_or(base)
}

impl NodeInfo {
    /// The score a resource's node entry starts from when first added by a constraint.
    pub(super) fn weight_for_copy(&self) -> Score {
        Score::ZERO
    }
}

fn prop<'a>(props: &'a NvList, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| props.get(n))
}

fn prop_bool(props: &NvList, names: &[&str], default: bool) -> bool {
    prop(props, names).and_then(parse_bool).unwrap_or(default)
}

fn parse_seconds(text: &str) -> i64 {
    cib::parse_duration_ms(text)
        .map(|ms| (ms / 1000) as i64)
        .unwrap_or(0)
}

pub(super) fn unpack(cib: &Cib, now: EpochSeconds, record_terms: bool, sanitized: bool) -> Sched {
    let config = &cib.configuration;
    let props = &config.properties;
    let fencing_enabled = prop_bool(props, &["fencing-enabled", "stonith-enabled"], true);
    let no_quorum = match prop(props, &["no-quorum-policy"]).map(str::to_ascii_lowercase) {
        Some(p) if p == "freeze" => NoQuorum::Freeze,
        Some(p) if p == "ignore" => NoQuorum::Ignore,
        Some(p) if p == "demote" => NoQuorum::Demote,
        Some(p) if (p == "suicide" || p == "fence") && fencing_enabled => NoQuorum::Fence,
        _ => NoQuorum::Stop,
    };
    let have_watchdog = prop_bool(props, &["have-watchdog"], false);
    let have_fencing = have_watchdog || config.resources.iter().any(has_fence_device);
    let options = Options {
        fencing_enabled,
        have_fencing,
        quorate: cib.status.have_quorum.unwrap_or(false),
        no_quorum,
        symmetric: prop_bool(props, &["symmetric-cluster"], true),
        stop_orphans: prop_bool(
            props,
            &["stop-removed-resources", "stop-orphan-resources"],
            true,
        ),
        maintenance_mode: prop_bool(props, &["maintenance-mode"], false),
        stop_all: prop_bool(props, &["stop-all-resources"], false),
        startup_fencing: prop_bool(props, &["startup-fencing"], true),
        fencing_action: prop(props, &["fencing-action", "stonith-action"])
            .unwrap_or("reboot")
            .to_string(),
        sanitized,
        placement: super::utilization::Placement::parse(prop(props, &["placement-strategy"])),
    };
    let mut util_names = Vec::new();
    let mut node_capacities = Vec::new();

    let mut nodes = Vec::with_capacity(config.nodes.len());
    for node in &config.nodes {
        if node
            .kind
            .as_deref()
            .is_some_and(|k| k != "member" && k != "normal")
        {
            continue;
        }
        // Capacities set in the status add to the configured ones, which win.
        let transient = cib
            .status
            .node(&node.uname)
            .map(|state| &state.transient_utilization)
            .filter(|list| !list.is_empty());
        let capacity = match transient {
            Some(transient) => {
                let mut merged = node.utilization.clone();
                for (name, value) in transient.iter() {
                    merged.set_if_absent(name, value);
                }
                std::borrow::Cow::Owned(merged)
            }
            None => std::borrow::Cow::Borrowed(&node.utilization),
        };
        node_capacities.push(super::utilization::intern(&mut util_names, &capacity));
        nodes.push(NodeInfo {
            id: node.id.clone(),
            name: node.uname.clone(),
            attrs: node.attributes.clone(),
            online: false,
            unclean: options.startup_fencing,
            standby: false,
            pending: false,
            maintenance: false,
            shutdown: false,
            expected_up: false,
            seen: false,
            weight: Score::ZERO,
            num_resources: 0,
            fence_reason: None,
            state: None,
            failures: NodeFailures::default(),
        });
    }
    let node_count = nodes.len();
    let mut sched = Sched {
        now,
        options,
        nodes,
        rscs: Vec::new(),
        order: Vec::new(),
        colocs: Vec::new(),
        locations: Vec::new(),
        orderings: Vec::new(),
        actions: Vec::new(),
        unplaced_actions: 0,
        edges: Vec::new(),
        action_index: ActionIndex::new(node_count),
        notes: Vec::new(),
        dc: None,
        execution_date: cib.status.execution_date,
        failed_probe_rcs: HashMap::default(),
        op_defaults: config.op_defaults.clone(),
        record_terms,
        rsc_ids: HashMap::default(),
        node_name_rank: Vec::new(),
        with_this_cache: Vec::new(),
        available: Vec::new(),
        node_ids: HashMap::default(),
        orphan_ids: HashMap::default(),
        clone_bases: HashMap::default(),
        history_rscs: HashMap::default(),
        util_names,
        capacity: Vec::new(),
    };
    super::utilization::init_capacities(&mut sched, node_capacities);
    for (i, n) in sched.nodes.iter().enumerate() {
        sched.node_ids.entry(n.name.clone()).or_insert(i);
    }
    let mut by_name: Vec<usize> = (0..sched.nodes.len()).collect();
    by_name.sort_by(|&a, &b| {
        sched.nodes[a]
            .name
            .as_bytes()
            .cmp(sched.nodes[b].name.as_bytes())
    });
    sched.node_name_rank = vec![0; sched.nodes.len()];
    for (rank, &n) in by_name.iter().enumerate() {
        sched.node_name_rank[n] = rank;
    }
    for (index, node) in config.nodes.iter().enumerate() {
        if node.attributes.get("standby").and_then(parse_bool) == Some(true)
            && let Some(n) = sched.nodes.iter_mut().find(|n| n.id == node.id)
        {
            n.standby = true;
        }
        let _ = index;
    }

    // Resources.
    let mut top = Vec::new();
    // `Rsc` is large: growing the table by doubling would copy it a dozen times.
    sched
        .rscs
        .reserve(config.resources.iter().map(resource_count).sum());
    for resource in &config.resources {
        match resource {
            CibResource::Primitive(_) | CibResource::Group(_) | CibResource::Clone(_) => {
                let index = add_resource(&mut sched, cib, resource, None, node_count, "");
                top.push(index);
            }
        }
    }
    sched.rsc_ids.reserve(sched.rscs.len());
    for (i, r) in sched.rscs.iter().enumerate() {
        sched.rsc_ids.entry(r.id.clone()).or_insert(i);
    }
    // A clone's child is known by its own id too (constraints may name it): instance 0's
    // resources stand for the clone.
    for clone in 0..sched.rscs.len() {
        if sched.rscs[clone].variant != Variant::Clone {
            continue;
        }
        let mut stack: Vec<usize> = sched.rscs[clone]
            .children
            .first()
            .copied()
            .into_iter()
            .collect();
        while let Some(r) = stack.pop() {
            stack.extend(sched.rscs[r].children.iter().copied());
            let base = strip_instance(&sched.rscs[r].id).to_string();
            sched.clone_bases.entry(base).or_insert(clone);
        }
    }
    if record_terms {
        for r in sched.rscs.iter_mut() {
            r.terms = vec![Vec::new(); node_count];
        }
    }
    // Stable sort by priority, highest first.
    top.sort_by_key(|&r| std::cmp::Reverse(sched.rscs[r].priority));
    sched.order = top;
    for r in 0..sched.rscs.len() {
        if sched.options.symmetric {
            for node in 0..node_count {
                sched.rscs[r].allowed[node] = Some(Score::ZERO);
            }
        }
    }

    unpack_constraints(&mut sched, cib);
    unpack_status(&mut sched, cib);
    sched
}

/// How many scheduler resources `resource` stands for (itself and what it contains).
fn resource_count(resource: &CibResource) -> usize {
    match resource {
        CibResource::Primitive(_) => 1,
        CibResource::Group(g) => 1 + g.children.iter().map(resource_count).sum::<usize>(),
        CibResource::Clone(c) => 1 + resource_count(&c.child),
    }
}

/// Whether `resource` is or contains a fencing device.
fn has_fence_device(resource: &CibResource) -> bool {
    match resource {
        CibResource::Primitive(p) => p.class.eq_ignore_ascii_case("stonith"),
        CibResource::Group(g) => g.children.iter().any(has_fence_device),
        CibResource::Clone(c) => has_fence_device(&c.child),
    }
}

/// Adds `resource` (and its children) to the model. `suffix` (`:3`) makes the ids of a clone
/// instance's resources.
fn add_resource(
    sched: &mut Sched,
    cib: &Cib,
    resource: &CibResource,
    parent: Option<usize>,
    node_count: usize,
    suffix: &str,
) -> usize {
    let (id, variant) = match resource {
        CibResource::Primitive(p) => ([p.id.as_str(), suffix].concat(), Variant::Primitive),
        CibResource::Group(g) => ([g.id.as_str(), suffix].concat(), Variant::Group),
        CibResource::Clone(c) => (c.id.clone(), Variant::Clone),
    };
    let index = sched.rscs.len();
    let mut rsc = Rsc::new(id, variant, node_count);
    rsc.parent = parent;
    // Own meta first, then the parent's, then rsc_defaults: the first value wins.
    let mut meta = resource.meta().clone();
    if let CibResource::Clone(_) = resource {
        for (n, v) in cib.configuration.rsc_defaults.iter() {
            inherit(&mut meta, n, v);
        }
        // Clones are slightly sticky, so instances are not shuffled for nothing.
        meta.set_if_absent("resource-stickiness", "1");
    }
    if let Some(p) = parent {
        for (n, v) in sched.rscs[p].meta.iter() {
            inherit(&mut meta, n, v);
        }
    }
    for (n, v) in cib.configuration.rsc_defaults.iter() {
        inherit(&mut meta, n, v);
    }
    // Parameters likewise: own first, then the parent's.
    let mut params = match resource {
        CibResource::Primitive(p) => p.params.clone(),
        CibResource::Group(g) => g.params.clone(),
        CibResource::Clone(c) => c.params.clone(),
    };
    if let Some(p) = parent {
        for (n, v) in sched.rscs[p].params.iter() {
            inherit(&mut params, n, v);
        }
    }
    rsc.params = params;
    if let CibResource::Primitive(p) = resource {
        rsc.class = p.class.clone();
        rsc.provider = p.provider.clone();
        rsc.kind = p.kind.clone();
        rsc.ops = p.ops.clone();
        if sched.options.placement != super::utilization::Placement::Default {
            rsc.utilization = super::utilization::intern(&mut sched.util_names, &p.utilization);
        }
    }
    if let CibResource::Clone(_) = resource {
        rsc.clone = Some(clone_info(&meta, node_count));
        rsc.instance_counts = vec![0; node_count];
    }
    apply_meta(sched, &mut rsc, meta);
    sched.rscs.push(rsc);
    match resource {
        CibResource::Group(g) => {
            for child in &g.children {
                let c = add_resource(sched, cib, child, Some(index), node_count, suffix);
                sched.rscs[index].children.push(c);
            }
        }
        CibResource::Clone(c) => {
            let max = sched.rscs[index].clone.map_or(0, |i| i.max);
            // Even without instances one is made, so histories find their clone.
            for number in 0..max.max(1) {
                let instance = add_instance(sched, cib, &c.child, index, number, node_count);
                if number >= max {
                    mark_removed(sched, instance);
                }
            }
        }
        CibResource::Primitive(_) => {}
    }
    index
}

/// Sets `name` to `value` unless `list` has it, copying nothing when it has (as most
/// resources have the parent's and the defaults' common names already).
fn inherit(list: &mut NvList, name: &str, value: &str) {
    if list.get(name).is_none() {
        list.set_if_absent(name, value);
    }
}

/// Instance `number` of `clone`, made from its `child` definition.
fn add_instance(
    sched: &mut Sched,
    cib: &Cib,
    child: &CibResource,
    clone: usize,
    number: usize,
    node_count: usize,
) -> usize {
    let instance = add_resource(
        sched,
        cib,
        child,
        Some(clone),
        node_count,
        &format!(":{number}"),
    );
    sched.rscs[clone].children.push(instance);
    instance
}

/// An instance beyond `clone-max` (or recorded but no longer configured): it may only stop.
fn mark_removed(sched: &mut Sched, rsc: usize) {
    sched.rscs[rsc].removed = true;
    for child in sched.rscs[rsc].children.clone() {
        mark_removed(sched, child);
    }
}

fn meta_count(meta: &NvList, name: &str, default: usize) -> usize {
    meta.get(name)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .map_or(default, |v| v.max(0) as usize)
}

fn clone_info(meta: &NvList, node_count: usize) -> CloneInfo {
    let unique = meta
        .get("globally-unique")
        .and_then(parse_bool)
        .unwrap_or(false);
    let flag = |name: &str| meta.get(name).and_then(parse_bool).unwrap_or(false);
    let node_max = meta_count(meta, "clone-node-max", 1);
    CloneInfo {
        max: meta_count(meta, "clone-max", node_count.max(1)),
        node_max: if unique { node_max } else { node_max.min(1) },
        unique,
        interleave: flag("interleave"),
        ordered: flag("ordered"),
    }
}

fn apply_meta(sched: &Sched, rsc: &mut Rsc, meta: NvList) {
    let get = |name: &str| meta.get(name);
    rsc.priority = get("priority")
        .and_then(Score::parse_lenient)
        .map_or(0, Score::value);
    rsc.stickiness = get("resource-stickiness")
        .and_then(Score::parse_lenient)
        .map_or(0, Score::value);
    rsc.migration_threshold = get("migration-threshold")
        .and_then(Score::parse_lenient)
        .map_or(INFINITY, |s| s.value().max(0));
    rsc.failure_timeout_s = get("failure-timeout").map_or(0, parse_seconds);
    rsc.maintenance = get("maintenance").and_then(parse_bool).unwrap_or(false);
    rsc.managed = get("is-managed").and_then(parse_bool).unwrap_or(true)
        && !rsc.maintenance
        && !sched.options.maintenance_mode;
    // Only Stopped changes anything: Started (or a promotable role) is the default anyway.
    rsc.target_role = get("target-role")
        .filter(|v| v.eq_ignore_ascii_case("stopped"))
        .map(|_| Role::Stopped);
    if rsc.target_role.is_some() {
        rsc.next_role = Role::Stopped;
    }
    rsc.is_fence_device = rsc.class.eq_ignore_ascii_case("stonith");
    // Pacemaker's `unpack_requires`: an unset or invalid value takes the default, and what
    // cannot apply (unfencing for a fence device or without fencing) falls back to quorum.
    let requires = get("requires").map(str::to_ascii_lowercase);
    let default_requires = if rsc.is_fence_device {
        "quorum"
    } else if sched.options.fencing_enabled {
        "fencing"
    } else if sched.options.no_quorum == NoQuorum::Ignore {
        "nothing"
    } else {
        "quorum"
    };
    let requires = match requires.as_deref() {
        Some(value @ ("nothing" | "quorum" | "fencing")) => value,
        Some("unfencing") if !rsc.is_fence_device && sched.options.fencing_enabled => "unfencing",
        Some("unfencing") => "quorum",
        _ => default_requires,
    };
    rsc.needs_fencing = requires == "fencing" || requires == "unfencing";
    rsc.needs_quorum = requires != "nothing";
    rsc.meta = meta;
}

fn node_by_name(sched: &Sched, name: &str) -> Option<usize> {
    sched.node_ids.get(name).copied()
}

/// What a failure bans: the whole clone for an instance of an anonymous clone (any instance
/// may stand for another), else the resource itself.
pub(super) fn ban_target(sched: &Sched, rsc: usize) -> usize {
    match super::clone::clone_of(sched, rsc) {
        Some(clone) if sched.rscs[clone].clone.is_some_and(|c| !c.unique) => clone,
        _ => rsc,
    }
}

/// The resource a constraint names: the exact id, or a clone by its child's id.
pub(super) fn constraint_rsc(sched: &Sched, id: &str) -> Option<usize> {
    sched
        .rsc_ids
        .get(id)
        .or_else(|| sched.clone_bases.get(id))
        .copied()
}

/// `rsc:3` without the instance number; other ids unchanged.
pub(super) fn strip_instance(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((base, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => id,
    }
}

/// The primitive a history entry on `node` belongs to (Pacemaker's `unpack_find_resource`):
/// the configured primitive with that id, or for an anonymous clone the instance active on
/// the node, else a free one, else a new orphan instance. `None` for an orphan.
fn history_resource(sched: &mut Sched, cib: &Cib, node: usize, id: &str) -> Option<usize> {
    let found = match sched.rsc_ids.get(id).copied() {
        Some(r) if sched.rscs[r].variant == Variant::Primitive => Some(r),
        Some(_) => return None,
        None => {
            let zero = format!("{}:0", strip_instance(id));
            sched
                .rsc_ids
                .get(&zero)
                .copied()
                .filter(|&r| sched.rscs[r].variant == Variant::Primitive)
                .filter(|&r| {
                    super::clone::clone_of(sched, r)
                        .and_then(|c| sched.rscs[c].clone)
                        .is_some_and(|c| !c.unique)
                })
        }
    }?;
    match super::clone::clone_of(sched, found) {
        Some(clone) if sched.rscs[clone].clone.is_some_and(|c| !c.unique) => Some(
            find_anonymous_instance(sched, cib, node, clone, strip_instance(id)),
        ),
        _ => Some(found),
    }
}

/// The resource with base id `base` inside clone instance `instance`.
fn instance_member(sched: &Sched, instance: usize, base: &str) -> Option<usize> {
    let mut stack = vec![instance];
    while let Some(r) = stack.pop() {
        if sched.rscs[r].variant == Variant::Primitive && strip_instance(&sched.rscs[r].id) == base
        {
            return Some(r);
        }
        stack.extend(sched.rscs[r].children.iter().rev().copied());
    }
    None
}

/// Pacemaker's `find_anonymous_clone`: any instance of an anonymous clone may stand for a
/// history entry; one already active on the node wins, else the first free one.
fn find_anonymous_instance(
    sched: &mut Sched,
    cib: &Cib,
    node: usize,
    clone: usize,
    base: &str,
) -> usize {
    let mut found = None;
    let mut inactive = None;
    let mut skip_inactive = false;
    for instance in sched.rscs[clone].children.clone() {
        if found.is_some() {
            break;
        }
        let mut locations = super::clone::active_nodes(sched, instance);
        if locations.is_empty()
            && let Some(pending) = pending_node(sched, instance)
        {
            locations.push(pending);
        }
        if let Some(&location) = locations.first() {
            if location == node
                && let Some(r) = instance_member(sched, instance, base)
            {
                if sched.rscs[r].running_on.is_empty() {
                    found = Some(r);
                } else {
                    // A second history of the same instance on one node: an orphan.
                    skip_inactive = true;
                }
            }
        } else if !skip_inactive && inactive.is_none() && !sched.rscs[instance].blocked {
            inactive = instance_member(sched, instance, base)
                .filter(|&r| pending_node(sched, r).is_none_or(|p| p == node));
        }
    }
    if found.is_none() && !skip_inactive {
        found = inactive;
    }
    // Without fencing, an instance on a lost node must not use up an instance number, unless
    // the clone has one instance per node anyway.
    let universal = sched.rscs[clone]
        .clone
        .is_some_and(|c| c.max == sched.nodes.len());
    if let Some(r) = found
        && !sched.rscs[r].needs_fencing
        && (!sched.nodes[node].online || sched.nodes[node].unclean)
        && !universal
    {
        found = None;
    }
    match found {
        Some(r) => r,
        None => add_orphan_instance(sched, cib, clone, base),
    }
}

fn pending_node(sched: &Sched, rsc: usize) -> Option<usize> {
    let r = &sched.rscs[rsc];
    r.pending_task
        .as_ref()
        .map(|(_, n)| *n)
        .or_else(|| r.children.iter().find_map(|&c| pending_node(sched, c)))
}

/// A new instance of `clone` beyond `clone-max` for a history no instance can take; it may
/// only stop. Returns its resource with base id `base`.
fn add_orphan_instance(sched: &mut Sched, cib: &Cib, clone: usize, base: &str) -> usize {
    let definition = cib
        .configuration
        .resources
        .iter()
        .find_map(|r| match r {
            CibResource::Clone(c) if c.id == sched.rscs[clone].id => Some(c),
            _ => None,
        })
        .expect("a clone in the model comes from the configuration");
    let number = sched.rscs[clone].children.len();
    let first_new = sched.rscs.len();
    let node_count = sched.nodes.len();
    let instance = add_instance(sched, cib, &definition.child, clone, number, node_count);
    mark_removed(sched, instance);
    for r in first_new..sched.rscs.len() {
        if sched.options.symmetric {
            sched.rscs[r].allowed = vec![Some(Score::ZERO); node_count];
        }
        if sched.record_terms {
            sched.rscs[r].terms = vec![Vec::new(); node_count];
        }
        let id = sched.rscs[r].id.clone();
        sched.rsc_ids.entry(id).or_insert(r);
    }
    instance_member(sched, instance, base).unwrap_or(instance)
}

fn unpack_constraints(sched: &mut Sched, cib: &Cib) {
    use super::super::cib::Constraint;
    use super::actions::flags;
    // `one-or-more:<set id>` pseudo-actions by name, shared like Pacemaker's.
    let mut one_or_more: HashMap<String, usize> = HashMap::new();
    for constraint in &cib.configuration.constraints {
        match constraint {
            Constraint::ColocationSet(col) => {
                let expanded = sets::expand_colocation(col);
                let resolved: Option<Vec<(usize, usize, Score)>> = expanded
                    .iter()
                    .map(|c| {
                        Some((
                            constraint_rsc(sched, c.dependent)?,
                            constraint_rsc(sched, c.primary)?,
                            c.score,
                        ))
                    })
                    .collect();
                let Some(resolved) = resolved else {
                    sched.note(format!(
                        "colocation {}: unknown resource (constraint ignored)",
                        col.id
                    ));
                    continue;
                };
                if col.sets.iter().any(|s| s.role.is_some()) {
                    sched.note(format!("colocation {}: roles are not supported", col.id));
                }
                for (dependent, primary, score) in resolved {
                    new_colocation(sched, &col.id, dependent, primary, score, true, true);
                }
            }
            Constraint::OrderSet(order) => {
                let expanded = match sets::expand_order(order) {
                    Ok(expanded) => expanded,
                    Err(sets::UnknownAction(action)) => {
                        sched.note(format!(
                            "order {}: unknown action {action} (expected start, stop, promote \
                             or demote; constraint ignored)",
                            order.id
                        ));
                        continue;
                    }
                };
                let known = order
                    .sets
                    .iter()
                    .flat_map(|s| &s.resources)
                    .all(|r| constraint_rsc(sched, r).is_some());
                if !known {
                    sched.note(format!(
                        "order {}: unknown resource (constraint ignored)",
                        order.id
                    ));
                    continue;
                }
                for edge in expanded {
                    let mut end = |end: &sets::SetEnd<'_>| match end {
                        sets::SetEnd::Member(rsc, task) => {
                            (constraint_rsc(sched, rsc), *task, None)
                        }
                        sets::SetEnd::OneOrMore(name) => {
                            let action = *one_or_more.entry(name.clone()).or_insert_with(|| {
                                sched.actions.push(Action {
                                    task: Task::OneOrMore,
                                    optional: true,
                                    pseudo: true,
                                    note: Some(name.clone()),
                                    min_runnable_before: 1,
                                    ..Action::EMPTY
                                });
                                sched.actions.len() - 1
                            });
                            (None, Task::OneOrMore, Some(action))
                        }
                    };
                    let (rsc1, task1, action1) = end(&edge.first);
                    let (rsc2, task2, action2) = end(&edge.then);
                    sched.orderings.push(OrderSpec {
                        rsc1,
                        task1,
                        action1,
                        rsc2,
                        task2,
                        action2,
                        flags: edge.flags,
                    });
                }
            }
            Constraint::Location(loc) => {
                let Some(rsc) = constraint_rsc(sched, &loc.rsc) else {
                    sched.note(format!(
                        "location {}: unknown resource {} (constraint ignored)",
                        loc.id, loc.rsc
                    ));
                    continue;
                };
                if loc.role.as_deref().is_some_and(|r| {
                    !r.eq_ignore_ascii_case("started") && !r.eq_ignore_ascii_case("stopped")
                }) {
                    sched.note(format!("location {}: roles are not supported", loc.id));
                    continue;
                }
                if let (Some(node), Some(score)) = (&loc.node, loc.score) {
                    match node_by_name(sched, node) {
                        Some(n) => sched.locations.push(LocationRule {
                            id: loc.id.clone(),
                            rsc,
                            nodes: vec![(n, score)],
                        }),
                        None => sched.note(format!(
                            "location {}: unknown node {node} (constraint ignored)",
                            loc.id
                        )),
                    }
                }
                for rule in &loc.rules {
                    let score = rule.score.unwrap_or(Score::ZERO);
                    let mut matched = Vec::new();
                    let now = sched.now;
                    for (n, node) in sched.nodes.iter().enumerate() {
                        if rule_matches(rule, node, now) {
                            let s = match &rule.score_attribute {
                                Some(attr) => node
                                    .attrs
                                    .get(attr)
                                    .and_then(Score::parse_lenient)
                                    .unwrap_or(Score::ZERO),
                                None => score,
                            };
                            matched.push((n, s));
                        }
                    }
                    sched.locations.push(LocationRule {
                        id: loc.id.clone(),
                        rsc,
                        nodes: matched,
                    });
                }
            }
            Constraint::Colocation(col) => {
                let (Some(dependent), Some(primary)) = (
                    constraint_rsc(sched, &col.rsc),
                    constraint_rsc(sched, &col.with_rsc),
                ) else {
                    sched.note(format!(
                        "colocation {}: unknown resource (constraint ignored)",
                        col.id
                    ));
                    continue;
                };
                if col.rsc_role.is_some() || col.with_rsc_role.is_some() {
                    sched.note(format!("colocation {}: roles are not supported", col.id));
                }
                new_colocation(sched, &col.id, dependent, primary, col.score, true, true);
            }
            Constraint::Order(order) => {
                let (Some(first), Some(then)) = (
                    constraint_rsc(sched, &order.first),
                    constraint_rsc(sched, &order.then),
                ) else {
                    sched.note(format!(
                        "order {}: unknown resource (constraint ignored)",
                        order.id
                    ));
                    continue;
                };
                let first_name = order.first_action.as_deref().unwrap_or("start");
                let then_name = order.then_action.as_deref().unwrap_or(first_name);
                let (Some(first_action), Some(then_action)) = (
                    Task::from_order_action(first_name),
                    Task::from_order_action(then_name),
                ) else {
                    sched.note(format!(
                        "order {}: unknown action (expected start, stop, promote or demote; \
                         constraint ignored)",
                        order.id
                    ));
                    continue;
                };
                let kind = order.kind;
                let symmetric = match order.symmetrical {
                    Some(s) => s && kind != cib::OrderKind::Serialize,
                    None => kind != cib::OrderKind::Serialize,
                };
                let f = flags::for_kind(kind, first_action, symmetric, false);
                let min_first = minimum_first_instances(sched, first, order.require_all);
                if min_first > 0 {
                    order_after_some_instances(
                        sched,
                        &order.id,
                        (first, first_action),
                        (then, then_action),
                        f,
                        min_first,
                    );
                } else {
                    sched.orderings.push(OrderSpec {
                        rsc1: Some(first),
                        task1: first_action,
                        action1: None,
                        rsc2: Some(then),
                        task2: then_action,
                        action2: None,
                        flags: f,
                    });
                }
                if symmetric {
                    let (Some(inv_first), Some(inv_then)) =
                        (first_action.inverse(), then_action.inverse())
                    else {
                        continue;
                    };
                    let f = flags::for_kind(kind, inv_first, true, true);
                    sched.orderings.push(OrderSpec {
                        rsc1: Some(then),
                        task1: inv_then,
                        action1: None,
                        rsc2: Some(first),
                        task2: inv_first,
                        action2: None,
                        flags: f,
                    });
                }
            }
        }
    }
}

/// How many instances of `first` an ordering after it needs: the clone's `clone-min`, else 1
/// for `require-all=false`, else 0 (all of them, the ordinary ordering).
fn minimum_first_instances(sched: &Sched, first: usize, require_all: Option<bool>) -> u32 {
    let r = &sched.rscs[first];
    if r.variant != Variant::Clone {
        return 0;
    }
    if let Some(min) = r.meta.get("clone-min") {
        return min
            .trim()
            .parse::<i64>()
            .map_or(0, |m| m.clamp(0, i64::from(u32::MAX)) as u32);
    }
    u32::from(require_all == Some(false))
}

/// An ordering that needs only `min` instances of the clone `first`: a pseudo-action named
/// after the constraint becomes runnable once `min` instances' actions are, and `then` waits
/// for it.
fn order_after_some_instances(
    sched: &mut Sched,
    id: &str,
    (first, first_task): (usize, Task),
    (then, then_task): (usize, Task),
    f: u32,
    min: u32,
) {
    use super::actions::flags;
    let pseudo = sched.actions.len();
    sched.actions.push(Action {
        task: Task::OneOrMore,
        optional: true,
        pseudo: true,
        note: Some(format!("{}:{id}", Task::OneOrMore)),
        min_runnable_before: min,
        ..Action::EMPTY
    });
    for instance in sched.rscs[first].children.clone() {
        sched.orderings.push(OrderSpec {
            rsc1: Some(instance),
            task1: first_task,
            action1: None,
            rsc2: None,
            task2: Task::OneOrMore,
            action2: Some(pseudo),
            flags: flags::MIN_RUNNABLE | flags::FIRST_IMPLIES_THEN_GRAPHED,
        });
    }
    sched.orderings.push(OrderSpec {
        rsc1: None,
        task1: Task::OneOrMore,
        action1: Some(pseudo),
        rsc2: Some(then),
        task2: then_task,
        action2: None,
        flags: f | flags::UNRUNNABLE_FIRST_BLOCKS,
    });
}

/// Adds a colocation to both resources' lists, sorted as Pacemaker sorts them.
pub(super) fn new_colocation(
    sched: &mut Sched,
    id: &str,
    dependent: usize,
    primary: usize,
    score: Score,
    influence: bool,
    explicit: bool,
) {
    if score == Score::ZERO || dependent == primary {
        return;
    }
    let index = sched.colocs.len();
    let _ = id;
    sched.colocs.push(Coloc {
        dependent,
        primary,
        score,
        influence,
        explicit,
    });
    let mut list = std::mem::take(&mut sched.rscs[dependent].this_with);
    insert_sorted(sched, &mut list, index, false);
    sched.rscs[dependent].this_with = list;
    let mut list = std::mem::take(&mut sched.rscs[primary].with_this);
    insert_sorted(sched, &mut list, index, true);
    sched.rscs[primary].with_this = list;
}

/// Pacemaker's `cmp_colocation_priority`: higher priority first, groups before primitives,
/// then by id.
pub(super) fn coloc_cmp(
    sched: &Sched,
    a: usize,
    b: usize,
    by_dependent: bool,
) -> std::cmp::Ordering {
    let pick = |c: usize| {
        let c = &sched.colocs[c];
        if by_dependent { c.dependent } else { c.primary }
    };
    let (r1, r2) = (&sched.rscs[pick(a)], &sched.rscs[pick(b)]);
    r2.priority
        .cmp(&r1.priority)
        .then_with(|| {
            let v = |r: &Rsc| u8::from(r.variant == Variant::Group);
            v(r2).cmp(&v(r1))
        })
        .then_with(|| r1.id.as_bytes().cmp(r2.id.as_bytes()))
}

pub(super) fn insert_sorted(sched: &Sched, list: &mut Vec<usize>, item: usize, by_dependent: bool) {
    // g_list_insert_sorted inserts before the first element that compares greater.
    let pos = list
        .iter()
        .position(|&existing| coloc_cmp(sched, item, existing, by_dependent).is_lt())
        .unwrap_or(list.len());
    list.insert(pos, item);
}

fn rule_matches(rule: &cib::Rule, node: &NodeInfo, now: EpochSeconds) -> bool {
    if rule.expressions.is_empty() {
        return false;
    }
    let mut results = rule
        .expressions
        .iter()
        .map(|e| expression_matches(e, node, now));
    match rule.boolean_op {
        cib::BooleanOp::And => results.all(|r| r),
        cib::BooleanOp::Or => results.any(|r| r),
    }
}

fn expression_matches(e: &cib::Expression, node: &NodeInfo, now: EpochSeconds) -> bool {
    if e.attribute == cib::DATE_ATTRIBUTE {
        return date_matches(e, now);
    }
    let value = match e.attribute.as_str() {
        "#uname" => Some(node.name.clone()),
        "#id" => Some(node.id.clone()),
        "#kind" => Some("cluster".to_string()),
        other => node.attrs.get(other).map(str::to_string),
    };
    let op = e.operation.to_ascii_lowercase();
    match op.as_str() {
        "defined" => return value.is_some(),
        "not_defined" => return value.is_none(),
        _ => {}
    }
    let (Some(actual), Some(expected)) = (value, e.value.as_deref()) else {
        return op == "ne";
    };
    let numeric = matches!(
        e.value_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("integer" | "number")
    );
    let ordering = if numeric {
        match (actual.trim().parse::<f64>(), expected.trim().parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b),
            _ => None,
        }
    } else {
        Some(actual.as_str().cmp(expected))
    };
    let Some(ordering) = ordering else {
        return false;
    };
    match op.as_str() {
        "eq" => ordering.is_eq(),
        "ne" => !ordering.is_eq(),
        "lt" => ordering.is_lt(),
        "lte" => ordering.is_le(),
        "gt" => ordering.is_gt(),
        "gte" => ordering.is_ge(),
        _ => false,
    }
}

/// A date test against the scheduler's "now" (Pacemaker's `date_expression`): `lt` holds
/// before the given time, `gt` after it. An unreadable time or other operation never holds,
/// so a damaged expiry cannot keep a constraint alive.
fn date_matches(e: &cib::Expression, now: EpochSeconds) -> bool {
    let Some(at) = e.value.as_deref().and_then(crate::crm::date::parse_iso8601) else {
        return false;
    };
    match e.operation.to_ascii_lowercase().as_str() {
        "lt" => now < at,
        "gt" => now > at,
        _ => false,
    }
}

// ---- status ----

fn when_member(state: &cib::NodeState, now: EpochSeconds) -> i64 {
    match state.in_ccm.as_deref() {
        None => -1,
        Some(v) => match parse_bool(v) {
            Some(true) => now.max(1),
            Some(false) => 0,
            None => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .unwrap_or(-1),
        },
    }
}

fn when_online(state: &cib::NodeState) -> i64 {
    match state.crmd.as_deref() {
        None => 0,
        Some(v) if v.eq_ignore_ascii_case("offline") => 0,
        Some(v) if v.eq_ignore_ascii_case("online") => 1,
        Some(v) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|v| *v >= 0)
            .unwrap_or(0),
    }
}

fn unpack_status(sched: &mut Sched, cib: &Cib) {
    sched.dc = cib
        .status
        .dc_uuid
        .as_deref()
        .and_then(|dc| sched.nodes.iter().position(|n| n.id == dc));
    for state in &cib.status.nodes {
        for history in &state.resources {
            if let Some(rc) = history
                .ops
                .iter()
                .find(|op| is_probe(op) && !matches!(op.rc_code, 0 | 7 | 8))
                .map(|op| op.rc_code)
                && !sched.failed_probe_rcs.contains_key(history.id.as_str())
            {
                sched.failed_probe_rcs.insert(history.id.clone(), rc);
            }
        }
    }
    let mut unpacked = Vec::new();
    for (state_index, state) in cib.status.nodes.iter().enumerate() {
        let Some(node) = sched
            .nodes
            .iter()
            .position(|n| n.id == state.id)
            .or_else(|| {
                sched
                    .nodes
                    .iter()
                    .position(|n| !state.uname.is_empty() && n.name == state.uname)
            })
        else {
            sched.note(format!(
                "status of unknown node {} ignored",
                if state.uname.is_empty() {
                    &state.id
                } else {
                    &state.uname
                }
            ));
            continue;
        };
        if sched.nodes[node].state.is_some() {
            continue;
        }
        sched.nodes[node].state = Some(state_index);
        sched.nodes[node].failures = node_failures(&state.transient_attributes);
        // Transient attributes override configured ones.
        let mut attrs = state.transient_attributes.clone();
        for (n, v) in sched.nodes[node].attrs.iter() {
            inherit(&mut attrs, n, v);
        }
        {
            let n = &mut sched.nodes[node];
            n.attrs = attrs;
            n.standby = n.attrs.get("standby").and_then(parse_bool).unwrap_or(false);
            n.maintenance = n
                .attrs
                .get("maintenance")
                .and_then(parse_bool)
                .unwrap_or(false);
            n.unclean = false;
            n.seen = true;
        }
        determine_online_status(sched, node, state);
        if !sched.options.quorate
            && sched.nodes[node].online
            && sched.options.no_quorum == NoQuorum::Fence
        {
            sched.fence_node(node, "cluster does not have quorum".into());
        }
        unpacked.push((node, state_index));
    }
    for (node, state_index) in unpacked {
        if !sched.options.fencing_enabled && !sched.nodes[node].online {
            continue;
        }
        let state = &cib.status.nodes[state_index];
        for history in &state.resources {
            unpack_lrm_resource(sched, cib, node, history);
        }
    }
}

fn determine_online_status(sched: &mut Sched, node: usize, state: &cib::NodeState) {
    let now = sched.now;
    let shutdown = sched.nodes[node]
        .attrs
        .get("shutdown")
        .is_some_and(|v| v.trim() != "0" && !v.trim().is_empty());
    let expected = state.expected.as_deref();
    let join = state.join.as_deref();
    {
        let n = &mut sched.nodes[node];
        n.shutdown = shutdown;
        n.expected_up = !shutdown && expected.is_some_and(|e| e.eq_ignore_ascii_case("member"));
    }
    let member = when_member(state, now);
    let online_at = when_online(state);
    let online = if !sched.options.fencing_enabled {
        if member <= 0 {
            false
        } else if online_at > 0 {
            join.is_some_and(|j| j.eq_ignore_ascii_case("member"))
        } else if !sched.nodes[node].expected_up {
            false
        } else {
            sched.fence_node(node, "peer is unexpectedly down".into());
            false
        }
    } else {
        let terminate = sched.nodes[node].attrs.get("terminate").is_some_and(|v| {
            parse_bool(v).unwrap_or_else(|| v.trim().parse::<i64>().unwrap_or(0) > 0)
        });
        if shutdown {
            online_at > 0
        } else if member < 0 {
            sched.fence_node(node, "peer has not been seen by the cluster".into());
            false
        } else {
            if join == Some("banned") {
                sched.fence_node(node, "peer failed Pacemaker membership criteria".into());
            } else if terminate {
                if !(member <= 0 && online_at <= 0 && join == Some("down")) {
                    sched.fence_node(node, "fencing was requested".into());
                }
            } else if expected.is_none_or(|e| e == "down") {
                if member > 0 || online_at > 0 {
                    let n = &mut sched.nodes[node];
                    n.standby = true;
                    n.pending = true;
                }
            } else if member <= 0 {
                sched.fence_node(node, "peer is no longer part of the cluster".into());
            } else if online_at <= 0 {
                sched.fence_node(node, "peer process is no longer available".into());
            } else if join == Some("member") {
            } else if matches!(join, Some("pending" | "down")) {
                let n = &mut sched.nodes[node];
                n.standby = true;
                n.pending = true;
            } else {
                sched.fence_node(node, "peer was in an unknown state".into());
            }
            member > 0
        }
    };
    let n = &mut sched.nodes[node];
    n.online = online;
    if !online || n.shutdown {
        n.weight = Score::NEG_INFINITY;
    }
}

fn unpack_lrm_resource(sched: &mut Sched, cib: &Cib, node: usize, history: &cib::ResourceHistory) {
    if history.ops.is_empty() {
        return;
    }
    let rsc = match history_resource(sched, cib, node, &history.id) {
        Some(r) => r,
        None => match sched.orphan_ids.get(history.id.as_str()).copied() {
            Some(r) => r,
            None => {
                let index = sched.rscs.len();
                let mut rsc = Rsc::new(history.id.clone(), Variant::Primitive, sched.nodes.len());
                rsc.class = history.class.clone();
                rsc.provider = history.provider.clone();
                rsc.kind = history.kind.clone();
                rsc.orphan = true;
                if sched.record_terms {
                    rsc.terms = vec![Vec::new(); sched.nodes.len()];
                }
                rsc.managed = sched.options.stop_orphans && !sched.options.maintenance_mode;
                rsc.is_fence_device = rsc.class.eq_ignore_ascii_case("stonith");
                rsc.needs_fencing = sched.options.fencing_enabled && !rsc.is_fence_device;
                // Removed resources may not run anywhere.
                for n in 0..sched.nodes.len() {
                    rsc.allowed[n] = Some(Score::NEG_INFINITY);
                    push_term(&mut rsc.terms, n, || {
                        ("removed from the configuration".into(), Score::NEG_INFINITY)
                    });
                }
                sched.rscs.push(rsc);
                sched.order.push(index);
                sched.orphan_ids.insert(history.id.clone(), index);
                index
            }
        },
    };
    // Only histories standing for a resource of another id (clone instances) need recording.
    if sched.rscs[rsc].id != history.id {
        sched.history_rscs.insert((node, history.id.clone()), rsc);
    }
    let saved_role = sched.rscs[rsc].orig_role;
    sched.rscs[rsc].orig_role = Role::Unknown;
    let mut ops: Vec<&OpRecord> = history.ops.iter().collect();
    // By call id; one call recorded twice (an operation and its `last_failure` copy) goes by
    // its last-rc-change (none counts as oldest, keeping the order total).
    ops.sort_by_key(|op| {
        let changed = if op.call_id >= 0 {
            op.last_rc_change.filter(|&t| t >= 0).unwrap_or(-1)
        } else {
            0
        };
        (op.call_id < 0, op.call_id, changed)
    });
    // A failure that blocks the resource never expires: its failure-timeout is disregarded
    // from then on (Pacemaker warns that the two conflict).
    if sched.rscs[rsc].failure_timeout_s > 0
        && sched.fail_count(rsc, node, false) > 0
        && ops
            .iter()
            .any(|op| is_blocking_failure(&sched.rscs[rsc].ops, &history.id, op))
    {
        sched.rscs[rsc].failure_timeout_s = 0;
    }
    let mut on_fail = OnFail::Ignore;
    let mut last_failure: Option<&OpRecord> = None;
    for op in &ops {
        unpack_rsc_op(sched, rsc, node, op, &mut last_failure, &mut on_fail);
    }
    record_recurring(sched, rsc, node, &ops);
    process_rsc_state(sched, rsc, node, on_fail);
    if let Some(req) = sched.rscs[rsc].target_role {
        let r = &mut sched.rscs[rsc];
        if r.next_role == Role::Unknown || req < r.next_role {
            r.next_role = req;
        }
    }
    let r = &mut sched.rscs[rsc];
    if saved_role > r.orig_role {
        r.orig_role = saved_role;
    }
}

/// Recurring monitors that ran after the latest start and were not cancelled.
fn record_recurring(sched: &mut Sched, rsc: usize, node: usize, ops: &[&OpRecord]) {
    let mut start_index = None;
    let mut stop_index = None;
    let mut implied_start = None;
    for (i, op) in ops.iter().enumerate() {
        if op.operation == "stop" && op.op_status == 0 {
            stop_index = Some(i);
        } else if op.operation == "start" || op.operation == "migrate_from" {
            start_index = Some(i);
        } else if op.operation == "monitor"
            && implied_start.is_none_or(|s| Some(s) <= stop_index)
            && matches!(op.rc_code, 0 | 8)
        {
            implied_start = Some(i);
        }
    }
    let start = start_index.or(implied_start);
    let Some(start) = start else { return };
    if stop_index.is_some_and(|s| s > start) {
        return;
    }
    for op in &ops[start..] {
        if op.interval_ms == 0 || op.operation != "monitor" {
            continue;
        }
        if op.op_status != 0 || op.rc_code != 0 {
            continue;
        }
        let r = &mut sched.rscs[rsc];
        if !r
            .active_recurring
            .iter()
            .any(|a| a.node == node && a.interval_ms == op.interval_ms && a.name == op.operation)
        {
            r.active_recurring.push(ActiveRecurring {
                node,
                name: op.operation.clone(),
                interval_ms: op.interval_ms,
            });
        }
    }
}

/// Whether the history entry `op` of resource `id` records a failure of an operation
/// configured with `on-fail="block"` (same name and interval): its `last_failure` entry, or
/// the operation's own entry with a result other than the expected one.
fn is_blocking_failure(configured: &[cib::Op], id: &str, op: &OpRecord) -> bool {
    configured.iter().any(|conf| {
        let interval = conf.interval_ms();
        conf.attrs.get("on-fail") == Some("block")
            && conf.name.eq_ignore_ascii_case(&op.operation)
            && interval == op.interval_ms
            && (op.id.eq_ignore_ascii_case(&format!("{id}_last_failure_0"))
                || (op
                    .id
                    .eq_ignore_ascii_case(&format!("{id}_{}_{interval}", conf.name))
                    && op.rc_code != expected_rc(op)))
    })
}

fn expected_rc(op: &OpRecord) -> i32 {
    let Some(key) = &op.transition_key else {
        return -1;
    };
    key.split(':')
        .nth(2)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// The configured operation matching a history entry (name and interval).
fn op_config<'a>(r: &'a Rsc, task: &str, interval_ms: u64) -> Option<&'a cib::Op> {
    r.ops
        .iter()
        .find(|o| o.name == task && o.interval_ms() == interval_ms)
}

fn on_fail_for(sched: &Sched, rsc: usize, task: &str, interval_ms: u64) -> OnFail {
    let r = &sched.rscs[rsc];
    let configured = op_config(r, task, interval_ms)
        .and_then(|o| o.attrs.get("on-fail").map(str::to_string))
        .or_else(|| sched_op_defaults(sched).get("on-fail").map(str::to_string));
    let fencing = sched.options.fencing_enabled;
    match configured
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("block") => OnFail::Block,
        Some("fence") if fencing => OnFail::Fence,
        Some("fence") => OnFail::Stop,
        Some("standby") => OnFail::Standby,
        Some("ignore" | "nothing") => OnFail::Ignore,
        Some("migrate") => OnFail::Ban,
        Some("stop") => OnFail::Stop,
        Some("restart") => OnFail::Restart,
        _ if task == "stop" => {
            if fencing {
                OnFail::Fence
            } else {
                OnFail::Block
            }
        }
        _ => OnFail::Restart,
    }
}

fn sched_op_defaults(sched: &Sched) -> &NvList {
    &sched.op_defaults
}

const EXEC_PENDING: i32 = -1;
const EXEC_DONE: i32 = 0;
const EXEC_ERROR: i32 = 4;
const EXEC_ERROR_HARD: i32 = 5;
const EXEC_ERROR_FATAL: i32 = 6;
const EXEC_NOT_INSTALLED: i32 = 7;

fn is_probe(op: &OpRecord) -> bool {
    op.operation == "monitor" && op.interval_ms == 0
}

fn mask_probe_failure(op: &OpRecord) -> bool {
    is_probe(op) && (op.rc_code == 5 || op.rc_code == 2 || op.op_status == EXEC_NOT_INSTALLED)
}

fn unpack_rsc_op<'a>(
    sched: &mut Sched,
    rsc: usize,
    node: usize,
    op: &'a OpRecord,
    last_failure: &mut Option<&'a OpRecord>,
    on_fail: &mut OnFail,
) {
    if !matches!(
        op.operation.as_str(),
        "monitor"
            | "start"
            | "stop"
            | "promote"
            | "demote"
            | "migrate_to"
            | "migrate_from"
            | "asyncmon"
    ) {
        return;
    }
    if op.op_status < EXEC_PENDING || op.op_status > 10 || op.op_status == 1 {
        return;
    }
    let mut exec = op.op_status;
    let mut exit = op.rc_code;
    let expected = expected_rc(op);
    let expired = check_operation_expiry(sched, rsc, node, op, exit, expected);
    let orig_exit = exit;
    // Remap the result (Pacemaker's remap_operation).
    if exit == 190 {
        exit = 0;
    } else if exit == 191 {
        exit = 8;
    }
    if mask_probe_failure(op) && (exec != EXEC_DONE || exit != 7) {
        exec = EXEC_DONE;
        exit = 7;
    }
    if matches!(exec, EXEC_DONE | EXEC_ERROR) {
        let probe = is_probe(op);
        if expected < 0 || exit != expected {
            exec = EXEC_ERROR;
        } else {
            exec = EXEC_DONE;
        }
        match exit {
            0 => {
                if probe && expected == 7 {
                    exec = EXEC_DONE;
                }
            }
            7 => {
                if probe || expected == exit || !sched.rscs[rsc].managed {
                    exec = EXEC_DONE;
                    sched.rscs[rsc].orig_role = Role::Stopped;
                    sched.rscs[rsc].next_role = Role::Unknown;
                }
            }
            8 => {
                if probe && exit != expected {
                    exec = EXEC_DONE;
                }
            }
            9 => exec = EXEC_ERROR,
            6 => exec = EXEC_ERROR_FATAL,
            3 => {
                if op.interval_ms == 0 {
                    if !expired {
                        block_if_unrecoverable(sched, rsc, node, op);
                    }
                    exec = EXEC_ERROR_HARD;
                } else {
                    exec = 3;
                }
            }
            5 | 2 | 4 => {
                if !expired {
                    block_if_unrecoverable(sched, rsc, node, op);
                }
                exec = EXEC_ERROR_HARD;
            }
            _ => {
                if exec == EXEC_DONE {
                    exec = EXEC_ERROR;
                }
            }
        }
    } else if exec == 8 || exec == 9 {
        exec = EXEC_ERROR_HARD;
    }

    if expired {
        // process_expired_result
        if mask_probe_failure(op) && orig_exit != expected {
            if sched.rscs[rsc].orig_role <= Role::Stopped {
                sched.rscs[rsc].orig_role = Role::Unknown;
            }
            return;
        }
        if exit != expected {
            if op.interval_ms == 0 {
                return;
            }
            let n = &sched.nodes[node];
            if n.online && !n.unclean {
                return;
            }
        }
    }
    if mask_probe_failure(op) {
        update_resource_state(sched, rsc, node, op, expected, *last_failure, on_fail);
        sched.resource_location(
            ban_target(sched, rsc),
            node,
            Score::NEG_INFINITY,
            "probe found the agent unusable",
        );
        return;
    }
    match exec {
        EXEC_PENDING => {
            if op.operation == "start" {
                sched.rscs[rsc].start_pending = true;
                set_active(sched, rsc);
            }
            if !is_probe(op) && sched.rscs[rsc].pending_task.is_none() {
                sched.rscs[rsc].pending_task = Some((op.operation.clone(), node));
            }
            return;
        }
        EXEC_DONE => {
            update_resource_state(sched, rsc, node, op, exit, *last_failure, on_fail);
            return;
        }
        EXEC_NOT_INSTALLED => {
            sched.rscs[rsc].not_installed = true;
            let strategy = on_fail_for(sched, rsc, &op.operation, op.interval_ms);
            if strategy == OnFail::Ignore {
                // A missing agent cannot be ignored: shown as failed and banned.
                *on_fail = OnFail::Ban;
            }
            let target = ban_target(sched, rsc);
            sched.resource_location(target, node, Score::NEG_INFINITY, "agent not installed");
            unpack_rsc_op_failure(sched, rsc, node, op, strategy, last_failure, on_fail);
            return;
        }
        _ => {}
    }
    let strategy = on_fail_for(sched, rsc, &op.operation, op.interval_ms);
    if strategy == OnFail::Ignore {
        let expected_status = if expected < 0 { 0 } else { expected };
        update_resource_state(
            sched,
            rsc,
            node,
            op,
            expected_status,
            *last_failure,
            on_fail,
        );
        sched.rscs[rsc].ignore_failure = true;
        record_failed_recurring(sched, rsc, node, op);
    } else {
        unpack_rsc_op_failure(sched, rsc, node, op, strategy, last_failure, on_fail);
        if exec == EXEC_ERROR_HARD {
            if exit == 5 {
                sched.rscs[rsc].not_installed = true;
            }
            let target = ban_target(sched, rsc);
            sched.resource_location(target, node, Score::NEG_INFINITY, "hard error");
        } else if exec == EXEC_ERROR_FATAL {
            let target = ban_target(sched, rsc);
            sched.resource_location_all(target, Score::NEG_INFINITY, "fatal error");
        }
    }
}

fn record_failed_recurring(sched: &mut Sched, rsc: usize, node: usize, op: &OpRecord) {
    if op.interval_ms > 0 {
        sched.rscs[rsc].failed_recurring.push(ActiveRecurring {
            node,
            name: op.operation.clone(),
            interval_ms: op.interval_ms,
        });
    }
}

fn block_if_unrecoverable(sched: &mut Sched, rsc: usize, node: usize, op: &OpRecord) {
    if op.operation != "stop" {
        return;
    }
    if can_fence(sched, node) {
        return;
    }
    let r = &mut sched.rscs[rsc];
    r.managed = false;
    r.blocked = true;
}

/// Pacemaker's `pe_can_fence`.
pub(super) fn can_fence(sched: &Sched, node: usize) -> bool {
    let o = &sched.options;
    if !o.fencing_enabled || !o.have_fencing {
        return false;
    }
    if o.quorate || o.no_quorum == NoQuorum::Ignore {
        return true;
    }
    sched.nodes[node].online
}

fn set_active(sched: &mut Sched, rsc: usize) {
    if sched.rscs[rsc].orig_role < Role::Started {
        sched.rscs[rsc].orig_role = Role::Started;
    }
}

fn update_resource_state<'a>(
    sched: &mut Sched,
    rsc: usize,
    _node: usize,
    op: &'a OpRecord,
    exit: i32,
    last_failure: Option<&'a OpRecord>,
    on_fail: &mut OnFail,
) {
    let mut clear_past_failure = false;
    if exit == 5 || mask_probe_failure(op) {
        sched.rscs[rsc].orig_role = Role::Stopped;
    } else if exit == 7 {
        clear_past_failure = true;
    } else if op.operation == "monitor" {
        if let Some(lf) = last_failure
            && lf.operation == op.operation
            && lf.interval_ms == op.interval_ms
        {
            clear_past_failure = true;
        }
        set_active(sched, rsc);
    } else if op.operation == "start" || op.operation == "migrate_from" {
        sched.rscs[rsc].orig_role = Role::Started;
        clear_past_failure = true;
    } else if op.operation == "stop" {
        sched.rscs[rsc].orig_role = Role::Stopped;
        clear_past_failure = true;
    } else if op.operation == "promote" {
        sched.rscs[rsc].orig_role = Role::Started;
        clear_past_failure = true;
    } else {
        set_active(sched, rsc);
    }
    if clear_past_failure {
        match *on_fail {
            OnFail::Stop | OnFail::Ban | OnFail::Standby | OnFail::Fence => {}
            OnFail::Block | OnFail::Ignore | OnFail::Restart => {
                sched.rscs[rsc].next_role = Role::Unknown;
                *on_fail = OnFail::Ignore;
            }
        }
    }
}

fn unpack_rsc_op_failure<'a>(
    sched: &mut Sched,
    rsc: usize,
    node: usize,
    op: &'a OpRecord,
    config_on_fail: OnFail,
    last_failure: &mut Option<&'a OpRecord>,
    on_fail: &mut OnFail,
) {
    *last_failure = Some(op);
    record_failed_recurring(sched, rsc, node, op);
    if *on_fail < config_on_fail {
        *on_fail = config_on_fail;
    }
    if op.operation == "stop" {
        sched.resource_location(rsc, node, Score::NEG_INFINITY, "stop failed");
    }
    if is_probe(op) && op.rc_code == 5 {
        sched.rscs[rsc].orig_role = Role::Stopped;
    } else {
        set_active(sched, rsc);
    }
    let fail_role = if config_on_fail == OnFail::Stop {
        Role::Stopped
    } else {
        Role::Started
    };
    if fail_role != Role::Started && sched.rscs[rsc].next_role < fail_role {
        sched.rscs[rsc].next_role = fail_role;
    }
    if fail_role == Role::Stopped {
        sched.resource_location_all(rsc, Score::NEG_INFINITY, "on-fail=stop");
    }
}

fn check_operation_expiry(
    sched: &mut Sched,
    rsc: usize,
    node: usize,
    op: &OpRecord,
    exit: i32,
    _expected: i32,
) -> bool {
    if op.op_status == EXEC_NOT_INSTALLED {
        return false;
    }
    let timeout = sched.rscs[rsc].failure_timeout_s;
    let mut expired = false;
    let mut unexpired = 0;
    if timeout > 0
        && let Some(last_run) = op.last_rc_change
    {
        if sched.now >= last_run + timeout {
            expired = true;
        }
        unexpired = sched.fail_count(rsc, node, true);
    }
    if expired && sched.fail_count(rsc, node, false) > 0 {
        if unexpired == 0 {
            add_clear_failcount(sched, rsc, node, "it expired");
        } else {
            expired = false;
        }
    }
    // A failure recorded while the parameters were different says nothing about the current
    // definition: its fail count is cleared.
    if !expired
        && op.id.ends_with("_last_failure_0")
        && matches!(op.operation.as_str(), "start" | "monitor")
        && matches!(
            super::changes::compare_digest(sched, rsc, op),
            super::changes::DigestMatch::Mismatch | super::changes::DigestMatch::Restart
        )
    {
        add_clear_failcount(sched, rsc, node, "resource parameters have changed");
    }
    if expired && is_probe(op) && matches!(exit, 0 | 7 | 8 | 190 | 191) {
        expired = false;
    }
    expired
}

/// Schedules clearing a resource's fail count on a node (once).
pub(super) fn add_clear_failcount(sched: &mut Sched, rsc: usize, node: usize, why: &str) {
    if sched
        .find_action_exact(Some(rsc), Task::ClearFailcount, 0, Some(node))
        .is_some()
    {
        return;
    }
    let index = sched.actions.len();
    sched.actions.push(Action {
        rsc: Some(rsc),
        task: Task::ClearFailcount,
        interval_ms: 0,
        node: Some(node),
        optional: false,
        runnable: true,
        pseudo: false,
        reason: None,
        needs_quorum_or_fencing: false,
        note: Some(why.to_string()),
        ..Action::EMPTY
    });
    sched.index_action(index);
    sched.rscs[rsc].actions.push(index);
    sched.rscs[rsc].main_actions.push(index);
}

fn process_rsc_state(sched: &mut Sched, rsc: usize, node: usize, on_fail: OnFail) {
    if sched.rscs[rsc].orig_role != Role::Unknown {
        sched.rscs[rsc].probed[node] = true;
    }
    let known_active = sched.rscs[rsc].orig_role > Role::Stopped;
    let id = sched.rscs[rsc].id.clone();
    if known_active
        && !sched.nodes[node].online
        && !sched.nodes[node].maintenance
        && sched.rscs[rsc].managed
        && sched.options.fencing_enabled
    {
        sched.fence_node(node, format!("{id} is thought to be active there"));
    }
    let effective = if sched.nodes[node].unclean {
        OnFail::Ignore
    } else {
        on_fail
    };
    match effective {
        OnFail::Ignore => {}
        OnFail::Fence => sched.fence_node(node, format!("{id} failed there")),
        OnFail::Standby => sched.nodes[node].standby = true,
        OnFail::Block => {
            let r = &mut sched.rscs[rsc];
            r.managed = false;
            r.blocked = true;
        }
        OnFail::Ban => {
            sched.resource_location(rsc, node, Score::NEG_INFINITY, "on-fail=migrate");
        }
        OnFail::Stop => sched.rscs[rsc].next_role = Role::Stopped,
        OnFail::Restart => {
            if known_active {
                let r = &mut sched.rscs[rsc];
                r.failed = true;
                r.stop_if_failed = true;
                super::actions::stop_action(sched, rsc, node, false);
            }
        }
    }
    if known_active {
        let newly_seen = !sched.rscs[rsc].running_on.contains(&node);
        if newly_seen {
            sched.rscs[rsc].running_on.push(node);
        }
        if sched.nodes[node].maintenance {
            sched.rscs[rsc].managed = false;
        }
        if newly_seen && !sched.rscs[rsc].managed {
            // Where an unmanaged resource runs is a fact the others must live with.
            sched.resource_location(rsc, node, Score::INFINITY, "not managed, running here");
        }
        match effective {
            OnFail::Ignore => {}
            OnFail::Block => sched.rscs[rsc].failed = true,
            _ => {
                let r = &mut sched.rscs[rsc];
                r.failed = true;
                r.stop_if_failed = true;
            }
        }
    } else {
        let stops: Vec<usize> = sched.rscs[rsc]
            .actions
            .iter()
            .copied()
            .filter(|&a| sched.actions[a].task == Task::Stop && sched.actions[a].node == Some(node))
            .collect();
        for a in stops {
            sched.actions[a].optional = true;
        }
    }
}
