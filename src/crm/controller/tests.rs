//! Controller cores wired to a simulated ordered group and simulated executors.

use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::crm::cib::{Primitive, Resource};

/// A test planner: keep each primitive running on one online, non-standby node (the first by
/// name), with a 10 s monitor; stop copies elsewhere. Enough to drive the controller's
/// replication and graph logic; placement semantics are the scheduler's own tests.
fn simple_planner() -> Planner {
    Box::new(|cib: &Cib, _wall: i64| {
        let online: Vec<&NodeState> = cib
            .status
            .nodes
            .iter()
            .filter(|n| n.crmd.as_deref() == Some("online"))
            .filter(|n| {
                let standby = cib
                    .configuration
                    .find_node(&n.uname)
                    .and_then(|c| c.attributes.get("standby"));
                standby != Some("on")
            })
            .collect();
        let mut actions = Vec::new();
        for primitive in cib.configuration.primitives() {
            let active: Vec<&str> = cib
                .status
                .nodes
                .iter()
                .filter(|n| n.crmd.as_deref() == Some("online"))
                .filter(|n| is_active(n, &primitive.id))
                .map(|n| n.uname.as_str())
                .collect();
            let target = online.first().map(|n| n.uname.as_str());
            let failed: Vec<&str> = cib
                .status
                .nodes
                .iter()
                .filter(|n| active.contains(&n.uname.as_str()) && is_failed(n, &primitive.id))
                .map(|n| n.uname.as_str())
                .collect();
            let mut stops = Vec::new();
            for node in &active {
                if Some(*node) != target || failed.contains(node) {
                    stops.push(actions.len());
                    actions.push(action(primitive, "stop", 0, node, vec![]));
                }
            }
            if let Some(target) = target
                && (!active.contains(&target) || failed.contains(&target))
            {
                let start = actions.len();
                actions.push(action(primitive, "start", 0, target, stops));
                actions.push(action(primitive, "monitor", 10_000, target, vec![start]));
            }
        }
        Ok(Plan { actions })
    })
}

fn is_active(node: &NodeState, rsc: &str) -> bool {
    node.resources.iter().filter(|h| h.id == rsc).any(|h| {
        h.ops
            .iter()
            .filter(|r| r.interval_ms == 0 && !r.id.ends_with("_last_failure_0"))
            .max_by_key(|r| r.call_id)
            .is_some_and(|r| r.rc_code == 0 && r.operation != "stop")
    })
}

fn is_failed(node: &NodeState, rsc: &str) -> bool {
    node.resources.iter().filter(|h| h.id == rsc).any(|h| {
        let started = h
            .ops
            .iter()
            .filter(|r| r.interval_ms == 0)
            .map(|r| r.call_id)
            .max();
        h.ops
            .iter()
            .any(|r| r.interval_ms > 0 && r.rc_code != 0 && Some(r.call_id) > started)
    })
}

fn action(
    p: &Primitive,
    operation: &str,
    interval_ms: u64,
    node: &str,
    deps: Vec<usize>,
) -> graph::PlannedAction {
    graph::PlannedAction {
        key: format!("{}_{}_{}", p.id, operation, interval_ms),
        kind: ActionKind::Resource(ResourceOp {
            rsc: p.id.clone(),
            class: p.class.clone(),
            provider: p.provider.clone(),
            kind: p.kind.clone(),
            operation: operation.into(),
            interval_ms,
            node: node.into(),
            params: p.params.clone(),
            meta: NvList::new(),
            timeout_ms: 20_000,
        }),
        deps,
    }
}

/// One simulated node: its controller and what its executor runs.
struct SimNode {
    core: Controller,
    running: BTreeMap<String, bool>,
    recurring: BTreeMap<u64, ResourceOp>,
    replies: Vec<AdminReply>,
    events: Vec<CrmEvent>,
    done: bool,
    /// Where every resource ran when this node reported its shutdown complete.
    running_at_done: BTreeMap<String, Vec<NodeId>>,
}

/// Ordered group delivery to the members of the current view.
struct Sim {
    t0: Instant,
    /// Simulated time since `t0`.
    elapsed: Duration,
    nodes: BTreeMap<NodeId, SimNode>,
    members: Vec<NodeId>,
    view: u64,
    queue: VecDeque<(NodeId, CrmMessage)>,
    pending_exec: VecDeque<(NodeId, u64, ResourceOp)>,
}

impl Sim {
    fn new(ids: &[NodeId]) -> Sim {
        Sim::with_planner(ids, simple_planner)
    }

    fn with_planner(ids: &[NodeId], planner: fn() -> Planner) -> Sim {
        let t0 = Instant::now();
        let mut nodes = BTreeMap::new();
        for &id in ids {
            let member = Member {
                id,
                name: format!("node{id}"),
            };
            nodes.insert(
                id,
                SimNode {
                    core: Controller::new(member, Cib::default(), planner(), t0, 1_700_000_000),
                    running: BTreeMap::new(),
                    recurring: BTreeMap::new(),
                    replies: Vec::new(),
                    events: Vec::new(),
                    done: false,
                    running_at_done: BTreeMap::new(),
                },
            );
        }
        Sim {
            t0,
            elapsed: Duration::ZERO,
            nodes,
            members: Vec::new(),
            view: 0,
            queue: VecDeque::new(),
            pending_exec: VecDeque::new(),
        }
    }

    fn feed(&mut self, id: NodeId, input: Input) {
        let node = self.nodes.get_mut(&id).expect("known node");
        let now = self.t0 + self.elapsed;
        let wall = 1_700_000_000 + self.elapsed.as_secs() as i64;
        let outputs = node.core.handle(now, wall, input);
        for output in outputs {
            match output {
                Output::Broadcast(message) => {
                    if self.members.contains(&id) {
                        self.queue.push_back((id, message));
                    }
                }
                Output::Execute { token, op } => self.pending_exec.push_back((id, token, op)),
                Output::CancelRecurring { rsc, .. } => {
                    let node = self.nodes.get_mut(&id).expect("known node");
                    node.recurring.retain(|_, op| op.rsc != rsc);
                }
                Output::Forget { .. } | Output::Persist(_) => {}
                Output::Reply { reply, .. } => self.nodes.get_mut(&id).unwrap().replies.push(reply),
                Output::Event(event) => self.nodes.get_mut(&id).unwrap().events.push(event),
                Output::ShutdownComplete => {
                    let mut placement: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
                    for (node, sim) in &self.nodes {
                        for (rsc, _) in sim.running.iter().filter(|(_, on)| **on) {
                            placement.entry(rsc.clone()).or_default().push(*node);
                        }
                    }
                    let node = self.nodes.get_mut(&id).unwrap();
                    node.done = true;
                    node.running_at_done = placement;
                }
            }
        }
    }

    fn set_view(&mut self, members: &[NodeId]) {
        self.view += 1;
        self.members = members.to_vec();
        // Virtual synchrony: what the old view had queued is delivered before the change.
        self.deliver_queued();
        let list: Vec<Member> = members
            .iter()
            .map(|&id| Member {
                id,
                name: format!("node{id}"),
            })
            .collect();
        for &id in members {
            self.feed(
                id,
                Input::View {
                    view: self.view,
                    members: list.clone(),
                },
            );
            self.feed(id, Input::Quorum { quorate: true });
        }
    }

    fn deliver_queued(&mut self) {
        while let Some((from, message)) = self.queue.pop_front() {
            for id in self.members.clone() {
                self.feed(
                    id,
                    Input::Delivered {
                        from,
                        message: message.clone(),
                    },
                );
            }
        }
    }

    /// Runs executors and delivery until nothing is left to do.
    fn settle(&mut self) {
        for _ in 0..1000 {
            self.deliver_queued();
            let Some((id, token, op)) = self.pending_exec.pop_front() else {
                return;
            };
            if !self.members.contains(&id) {
                continue;
            }
            let node = self.nodes.get_mut(&id).unwrap();
            let rc = match op.operation.as_str() {
                "start" => {
                    node.running.insert(op.rsc.clone(), true);
                    0
                }
                "stop" => {
                    node.running.insert(op.rsc.clone(), false);
                    0
                }
                _ => {
                    if op.interval_ms > 0 {
                        node.recurring.insert(token, op.clone());
                    }
                    if node.running.get(&op.rsc).copied().unwrap_or(false) {
                        0
                    } else {
                        7
                    }
                }
            };
            self.feed(id, op_done(token, rc));
        }
        panic!("simulation did not settle");
    }

    /// Node `id` alone in a view of its own (cut off, or just started), with this quorum.
    fn alone(&mut self, id: NodeId, view: u64, quorate: bool) {
        self.members = vec![id];
        let member = Member {
            id,
            name: format!("node{id}"),
        };
        self.feed(id, Input::Quorum { quorate });
        self.feed(
            id,
            Input::View {
                view,
                members: vec![member],
            },
        );
    }

    /// Lets simulated time pass and wakes every node.
    fn advance(&mut self, by: Duration) {
        self.elapsed += by;
        for id in self.nodes.keys().copied().collect::<Vec<_>>() {
            self.feed(id, Input::Tick);
        }
    }

    /// The resource dies on `id`; its recurring monitor notices.
    fn fail_resource(&mut self, id: NodeId, rsc: &str) {
        let node = self.nodes.get_mut(&id).unwrap();
        node.running.insert(rsc.into(), false);
        let token = node
            .recurring
            .iter()
            .find(|(_, op)| op.rsc == rsc)
            .map(|(t, _)| *t)
            .expect("monitored");
        self.feed(id, op_done(token, 7));
    }

    fn core(&self, id: NodeId) -> &Controller {
        &self.nodes[&id].core
    }

    fn where_running(&self, rsc: &str) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.running.get(rsc).copied().unwrap_or(false))
            .map(|(id, _)| *id)
            .collect()
    }

    fn commit(&mut self, id: NodeId, edit: impl FnOnce(&mut Configuration)) {
        let cib = self.core(id).cib().clone();
        let mut configuration = cib.configuration.clone();
        edit(&mut configuration);
        let request = AdminRequest::Commit {
            base_epoch: cib.epoch,
            configuration: Box::new(configuration),
        };
        self.feed(id, Input::Admin { client: 1, request });
    }
}

fn op_done(token: u64, rc: i32) -> Input {
    Input::OpDone {
        token,
        rc,
        op_status: 0,
        exit_reason: None,
        exec_time_ms: 5,
        at: 1_700_000_000,
    }
}

fn dummy(id: &str) -> Resource {
    Resource::Primitive(Primitive {
        id: id.into(),
        class: "ocf".into(),
        provider: Some("heartbeat".into()),
        kind: "Dummy".into(),
        ..Primitive::default()
    })
}

#[test]
fn members_agree_on_cib_and_dc_after_joining() {
    let mut sim = Sim::new(&[2, 1]);
    sim.set_view(&[1, 2]);
    sim.settle();
    for id in [1, 2] {
        assert!(sim.core(id).is_synced());
        assert_eq!(sim.core(id).dc().map(|m| m.id), Some(1));
    }
    assert_eq!(sim.core(1).cib(), sim.core(2).cib());
    let names: Vec<_> = sim
        .core(1)
        .cib()
        .configuration
        .nodes
        .iter()
        .map(|n| n.uname.clone())
        .collect();
    assert_eq!(names, ["node1", "node2"]);
}

#[test]
fn commit_from_any_node_reaches_all_before_the_reply() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    let before = sim.core(2).cib().epoch;
    sim.commit(2, |c| c.properties.set("stonith-enabled", "false"));
    assert!(
        sim.nodes[&2].replies.is_empty(),
        "no reply before every member applied it"
    );
    sim.settle();
    assert_eq!(
        sim.nodes[&2].replies,
        vec![AdminReply::Committed { epoch: before + 1 }]
    );
    assert_eq!(
        sim.core(1)
            .cib()
            .configuration
            .properties
            .get("stonith-enabled"),
        Some("false")
    );
    assert_eq!(
        sim.core(1).cib().configuration,
        sim.core(2).cib().configuration
    );
}

#[test]
fn a_commit_made_against_an_old_epoch_is_refused_and_changes_nothing() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    let stale = sim.core(1).cib().epoch;
    sim.commit(1, |c| c.properties.set("a", "1"));
    sim.settle();
    let request = AdminRequest::Commit {
        base_epoch: stale,
        configuration: Box::new(Configuration::default()),
    };
    sim.feed(2, Input::Admin { client: 9, request });
    sim.settle();
    assert!(
        matches!(sim.nodes[&2].replies.last(), Some(AdminReply::Error { code, .. }) if code == "conflict")
    );
    assert_eq!(
        sim.core(2).cib().configuration.properties.get("a"),
        Some("1")
    );
}

#[test]
fn the_dc_starts_a_resource_once_and_monitors_it() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(2, |c| c.resources.push(dummy("r1")));
    sim.settle();
    assert_eq!(sim.where_running("r1"), vec![1]);
    assert_eq!(sim.nodes[&1].recurring.len(), 1);
    assert_eq!(sim.core(1).cib().status, sim.core(2).cib().status);
}

#[test]
fn standby_moves_the_resource_and_stops_its_monitor() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| c.resources.push(dummy("r1")));
    sim.settle();
    sim.commit(1, |c| {
        let node = c.nodes.iter_mut().find(|n| n.uname == "node1").unwrap();
        node.attributes.set("standby", "on");
    });
    sim.settle();
    assert_eq!(sim.where_running("r1"), vec![2]);
    assert!(
        sim.nodes[&1].recurring.is_empty(),
        "monitor cancelled with the stop"
    );
}

#[test]
fn a_lost_node_s_resource_is_started_on_the_survivor() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| c.resources.push(dummy("r1")));
    sim.settle();
    assert_eq!(sim.where_running("r1"), vec![1]);
    // node1 crashes: its process is gone with it.
    sim.nodes.get_mut(&1).unwrap().running.clear();
    sim.set_view(&[2]);
    sim.settle();
    assert_eq!(sim.where_running("r1"), vec![2]);
    assert_eq!(sim.core(2).dc().map(|m| m.id), Some(2));
    let lost = sim.core(2).cib().status.node("node1").unwrap();
    assert_eq!(lost.crmd.as_deref(), Some("offline"));
}

#[test]
fn a_monitor_failure_counts_and_recovers() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| c.resources.push(dummy("r1")));
    sim.settle();
    sim.fail_resource(1, "r1");
    sim.settle();
    assert_eq!(sim.where_running("r1"), vec![1], "recovered in place");
    let attributes = &sim
        .core(2)
        .cib()
        .status
        .node("node1")
        .unwrap()
        .transient_attributes;
    assert_eq!(attributes.get("fail-count-r1#monitor_10000"), Some("1"));
}

#[test]
fn after_a_partition_heals_the_newer_configuration_wins_everywhere() {
    let mut sim = Sim::new(&[1, 2, 3]);
    sim.set_view(&[1, 2, 3]);
    sim.settle();
    // Partition: {1,2} and {3}; the majority side changes the configuration twice.
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(2, |c| c.properties.set("no-quorum-policy", "stop"));
    sim.settle();
    sim.commit(1, |c| c.properties.set("stonith-enabled", "false"));
    sim.settle();
    sim.set_view(&[1, 2, 3]);
    sim.settle();
    let cib = sim.core(3).cib();
    assert_eq!(
        cib.configuration.properties.get("stonith-enabled"),
        Some("false")
    );
    assert_eq!(cib.configuration, sim.core(1).cib().configuration);
    assert_eq!(cib.version(), sim.core(1).cib().version());
}

#[test]
fn cleanup_clears_fail_counts_everywhere() {
    let mut sim = Sim::new(&[1, 2]);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| c.resources.push(dummy("r1")));
    sim.settle();
    sim.fail_resource(1, "r1");
    sim.settle();
    sim.feed(
        2,
        Input::Admin {
            client: 3,
            request: AdminRequest::Cleanup {
                rsc: "r1".into(),
                node: None,
            },
        },
    );
    sim.settle();
    for id in [1, 2] {
        let attributes = &sim
            .core(id)
            .cib()
            .status
            .node("node1")
            .unwrap()
            .transient_attributes;
        assert_eq!(attributes.get("fail-count-r1#monitor_10000"), None);
    }
    assert_eq!(sim.where_running("r1"), vec![1]);
}

#[test]
fn commits_are_refused_before_the_first_view() {
    let mut sim = Sim::new(&[1]);
    sim.commit(1, |c| c.properties.set("a", "b"));
    assert!(
        matches!(&sim.nodes[&1].replies[..], [AdminReply::Error { code, .. }] if code == "not_ready")
    );
}

fn real_scheduler() -> Planner {
    Box::new(plan::schedule_plan)
}

/// The classic guide: a VIP and a web service in a group, fencing off, quorum ignored.
fn guide_configuration(c: &mut Configuration) {
    c.properties.set("stonith-enabled", "false");
    c.properties.set("no-quorum-policy", "ignore");
    let member = |id: &str| {
        let mut p = Primitive {
            id: id.into(),
            class: "ocf".into(),
            provider: Some("heartbeat".into()),
            kind: "Dummy".into(),
            ..Primitive::default()
        };
        p.ops.push(crate::crm::cib::Op {
            id: None,
            name: "monitor".into(),
            attrs: [("interval", "10s")].into_iter().collect(),
            params: Default::default(),
        });
        Resource::Primitive(p)
    };
    c.resources.push(Resource::Group(crate::crm::cib::Group {
        id: "my_group".into(),
        children: vec![member("vip"), member("gohttpd")],
        ..Default::default()
    }));
}

/// Two simulated nodes with the real scheduler running the guide's group; the node it runs
/// on. With `ring_members`, both controllers also know the ring membership.
fn guide_sim(ring_members: bool) -> (Sim, NodeId) {
    let mut sim = Sim::with_planner(&[1, 2], real_scheduler);
    sim.set_view(&[1, 2]);
    sim.settle();
    if ring_members {
        for id in [1, 2] {
            sim.feed(id, Input::RingMembers { nodes: vec![1, 2] });
        }
    }
    sim.commit(1, guide_configuration);
    sim.settle();
    let first = sim.where_running("vip")[0];
    (sim, first)
}

fn started_order(sim: &Sim, node: NodeId) -> Vec<String> {
    sim.nodes[&node]
        .events
        .iter()
        .filter_map(|e| match e {
            CrmEvent::OpResult {
                node: n,
                rsc,
                operation,
                ..
            } if operation == "start" && *n == format!("node{node}") => Some(rsc.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn guide_group_starts_in_order_and_moves_on_standby_with_the_real_scheduler() {
    let mut sim = Sim::with_planner(&[1, 2], real_scheduler);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(2, guide_configuration);
    sim.settle();
    let active = sim.where_running("vip");
    assert_eq!(active.len(), 1, "vip runs once");
    let first = active[0];
    assert_eq!(
        sim.where_running("gohttpd"),
        vec![first],
        "group members together"
    );
    assert_eq!(
        started_order(&sim, 1)
            .iter()
            .chain(&started_order(&sim, 2))
            .cloned()
            .collect::<Vec<_>>(),
        ["vip", "gohttpd"]
    );
    assert_eq!(
        sim.nodes[&first].recurring.len(),
        2,
        "both members monitored"
    );

    sim.commit(1, |c| {
        let node = c
            .nodes
            .iter_mut()
            .find(|n| n.uname == format!("node{first}"))
            .unwrap();
        node.attributes.set("standby", "on");
    });
    sim.settle();
    let other = 3 - first;
    assert_eq!(sim.where_running("vip"), vec![other]);
    assert_eq!(sim.where_running("gohttpd"), vec![other]);
    assert!(sim.nodes[&first].recurring.is_empty());

    // Back online: no stickiness configured, but equal scores keep it where it is? Pacemaker
    // would rebalance only when scores tie at 0 and the other node is less loaded; with one
    // group it stays put, since moving gains nothing.
    sim.commit(1, |c| {
        let node = c
            .nodes
            .iter_mut()
            .find(|n| n.uname == format!("node{first}"))
            .unwrap();
        node.attributes.set("standby", "off");
    });
    sim.settle();
    assert_eq!(sim.where_running("vip").len(), 1);
}

#[test]
fn guide_group_fails_over_when_its_node_is_lost_with_the_real_scheduler() {
    let (mut sim, first) = guide_sim(false);
    let other = 3 - first;
    sim.nodes.get_mut(&first).unwrap().running.clear();
    sim.set_view(&[other]);
    sim.settle();
    assert_eq!(sim.where_running("vip"), vec![other]);
    assert_eq!(sim.where_running("gohttpd"), vec![other]);
}

#[test]
fn a_failed_monitor_recovers_the_member_in_place_with_the_real_scheduler() {
    let (mut sim, _) = guide_sim(false);
    let first = sim.where_running("gohttpd")[0];
    sim.fail_resource(first, "gohttpd");
    sim.settle();
    assert_eq!(sim.where_running("gohttpd"), vec![first]);
    assert_eq!(sim.where_running("vip"), vec![first]);
    let attributes = &sim
        .core(first)
        .cib()
        .status
        .node(&format!("node{first}"))
        .unwrap()
        .transient_attributes;
    assert_eq!(
        attributes.get("fail-count-gohttpd#monitor_10000"),
        Some("1")
    );
}

#[test]
fn a_controller_restart_on_a_live_node_moves_nothing() {
    let (mut sim, first) = guide_sim(true);
    let other = 3 - first;
    // The controller on `first` goes away; the node and its executor stay in the ring.
    sim.set_view(&[other]);
    sim.settle();
    assert_eq!(
        sim.where_running("vip"),
        vec![first],
        "nothing moved during the grace"
    );
    assert!(sim.core(other).next_deadline().is_some());
    // It comes back with its executor's history: still nothing moves.
    let history = sim.core(first).own_history.clone();
    let member = Member {
        id: first,
        name: format!("node{first}"),
    };
    sim.nodes.get_mut(&first).unwrap().core = Controller::new(
        member,
        sim.core(first).cib().clone(),
        real_scheduler(),
        sim.t0,
        1_700_000_000,
    );
    sim.feed(first, Input::LocalHistory { history });
    sim.feed(first, Input::RingMembers { nodes: vec![1, 2] });
    sim.set_view(&[1, 2]);
    sim.settle();
    assert_eq!(sim.where_running("vip"), vec![first]);
    assert_eq!(sim.where_running("gohttpd"), vec![first]);
}

#[test]
fn a_controller_that_does_not_come_back_is_treated_as_lost_after_the_grace() {
    let (mut sim, first) = guide_sim(true);
    let other = 3 - first;
    sim.nodes.get_mut(&first).unwrap().running.clear();
    sim.set_view(&[other]);
    sim.settle();
    assert_eq!(sim.where_running("vip"), Vec::<NodeId>::new());
    // The node leaves the ring too: recovery starts at once.
    sim.feed(other, Input::RingMembers { nodes: vec![other] });
    sim.settle();
    assert_eq!(sim.where_running("vip"), vec![other]);
}

#[test]
fn a_clean_shutdown_moves_the_group_away_before_reporting_done() {
    let (mut sim, first) = guide_sim(false);
    let other = 3 - first;
    assert!(
        sim.core(first).is_dc(),
        "the DC leaves (the group runs there)"
    );
    sim.feed(first, Input::Shutdown);
    assert!(!sim.nodes[&first].done, "resources still run here");
    sim.settle();
    assert!(sim.nodes[&first].done);
    assert_eq!(sim.where_running("vip"), vec![other]);
    assert_eq!(sim.where_running("gohttpd"), vec![other]);
    // The leaving DC finished the transition before it went: once it is gone, nobody
    // would start the group until the other node noticed and became DC.
    let at_done = &sim.nodes[&first].running_at_done;
    assert_eq!(at_done.get("vip"), Some(&vec![other]), "{at_done:?}");
    assert_eq!(at_done.get("gohttpd"), Some(&vec![other]), "{at_done:?}");
}

/// A restarted node's controller can be alone for a moment before the rings merge: the DC
/// of that view, it starts a transition (probes, then starts of the group there). Once the
/// node with the lower id is in its view it is not the DC any more and sends nothing more of
/// it: the group keeps running where it ran, once.
#[test]
fn a_node_that_was_dc_alone_for_a_moment_sends_nothing_more_once_it_is_not() {
    let (mut sim, first) = guide_sim(true);
    assert_eq!(first, 1, "the group runs on the DC");
    let restarted = 2;
    let stored = sim.core(restarted).cib().clone();
    let now = sim.t0 + sim.elapsed;
    let wall = 1_700_000_000 + sim.elapsed.as_secs() as i64;
    let member = Member {
        id: restarted,
        name: format!("node{restarted}"),
    };
    sim.nodes.get_mut(&restarted).unwrap().core =
        Controller::new(member, stored, real_scheduler(), now, wall);
    sim.alone(restarted, 50, true);
    sim.deliver_queued();
    assert!(sim.core(restarted).is_dc());
    assert!(
        sim.pending_exec.iter().any(|(id, _, _)| *id == restarted),
        "it probes what runs there"
    );
    // The rings merge before any of it ran.
    sim.set_view(&[1, 2]);
    sim.settle();
    assert_eq!(sim.where_running("vip"), vec![1]);
    assert_eq!(sim.where_running("gohttpd"), vec![1]);
    assert!(
        !sim.nodes[&1].events.iter().any(|e| matches!(
            e,
            CrmEvent::OpResult { node, operation, .. } if node == "node2" && operation == "start"
        )),
        "the former DC of one started something"
    );
}

#[test]
fn quorum_regained_before_the_merge_starts_nothing_until_the_view_is_merged() {
    // A lone node without quorum (no-quorum-policy=stop) learns from the ring that quorum is
    // back before the other partition's controllers have announced what they run.
    let mut sim = Sim::with_planner(&[1, 2], real_scheduler);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| {
        guide_configuration(c);
        c.properties.set("no-quorum-policy", "stop");
    });
    sim.settle();
    let active = sim.where_running("vip")[0];
    let other = 3 - active;
    // Split: `other` alone and without quorum.
    sim.alone(other, 99, false);
    sim.settle();
    assert!(sim.core(other).is_synced());
    // The ring says quorate again; the group view has not changed yet.
    sim.feed(other, Input::Quorum { quorate: true });
    sim.deliver_queued();
    assert!(
        sim.pending_exec
            .iter()
            .all(|(id, _, op)| *id != other || op.operation != "start"),
        "started before knowing what the other side runs"
    );
}

#[test]
fn a_constraint_with_a_lifetime_wakes_the_dc_when_it_ends() {
    use crate::crm::cib::{BooleanOp, Constraint, DATE_ATTRIBUTE, Expression, Location, Rule};
    let mut sim = Sim::with_planner(&[1, 2], real_scheduler);
    sim.set_view(&[1, 2]);
    sim.settle();
    let end = 1_700_000_000 + 5;
    sim.commit(1, |c| {
        c.constraints.push(Constraint::Location(Location {
            id: "cli-prefer-r1".into(),
            rsc: "r1".into(),
            score: None,
            node: None,
            rules: vec![Rule {
                id: None,
                score: Some(crate::crm::score::Score::INFINITY),
                score_attribute: None,
                boolean_op: BooleanOp::And,
                role: None,
                expressions: vec![Expression {
                    id: None,
                    attribute: DATE_ATTRIBUTE.into(),
                    operation: "lt".into(),
                    value: Some(crate::crm::date::format_rfc3339(end)),
                    value_type: None,
                }],
            }],
            role: None,
            resource_discovery: None,
        }))
    });
    sim.settle();
    let deadline = sim.core(1).next_deadline().expect("the DC rechecks");
    assert!(
        deadline <= sim.t0 + Duration::from_secs(6),
        "wakes when the lifetime ends"
    );
}

/// Three nodes running the guide's group with `no-quorum-policy=stop`; the node it runs on.
fn three_node_sim_with_quorum_policy_stop() -> (Sim, NodeId) {
    let mut sim = Sim::with_planner(&[1, 2, 3], real_scheduler);
    sim.set_view(&[1, 2, 3]);
    sim.settle();
    sim.commit(1, |c| {
        guide_configuration(c);
        c.properties.set("no-quorum-policy", "stop");
    });
    sim.settle();
    let first = sim.where_running("vip")[0];
    (sim, first)
}

#[test]
fn the_majority_waits_for_a_lost_node_to_stop_by_itself_before_recovering() {
    let (mut sim, first) = three_node_sim_with_quorum_policy_stop();
    let others: Vec<NodeId> = [1, 2, 3].into_iter().filter(|id| *id != first).collect();
    // `first` is cut off; for all the majority knows it still runs the group.
    sim.set_view(&others);
    sim.settle();
    assert_eq!(
        sim.where_running("vip"),
        vec![first],
        "nothing started during the grace"
    );
    let dc = others[0];
    let wake = sim
        .core(dc)
        .next_deadline()
        .expect("the DC waits for the grace");
    assert!(wake <= sim.t0 + LOST_NODE_STOP_GRACE);
    sim.advance(LOST_NODE_STOP_GRACE);
    sim.settle();
    let survivors: Vec<NodeId> = sim
        .where_running("vip")
        .into_iter()
        .filter(|id| *id != first)
        .collect();
    assert_eq!(survivors.len(), 1, "recovered once the grace is over");
    assert_eq!(sim.where_running("gohttpd"), sim.where_running("vip"));
}

#[test]
fn the_minority_stops_at_once_and_a_split_in_halves_does_not_wait() {
    let (mut sim, first) = three_node_sim_with_quorum_policy_stop();
    // `first` alone and without quorum: it stops without waiting.
    sim.alone(first, 99, false);
    sim.settle();
    assert!(sim.where_running("vip").is_empty(), "the minority stopped");

    // Two nodes: a survivor of a 1|1 split is no majority, so nobody is waited for.
    let mut sim = Sim::with_planner(&[1, 2], real_scheduler);
    sim.set_view(&[1, 2]);
    sim.settle();
    sim.commit(1, |c| {
        guide_configuration(c);
        c.properties.set("no-quorum-policy", "stop");
    });
    sim.settle();
    let first = sim.where_running("vip")[0];
    let other = 3 - first;
    sim.nodes.get_mut(&first).unwrap().running.clear();
    sim.set_view(&[other]);
    sim.settle();
    assert_eq!(sim.where_running("vip"), vec![other]);
}
