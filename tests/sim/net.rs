//! SimNet: N ring cores, a virtual clock, a seeded in-flight queue and fault verbs, with
//! cluster-wide checkers run after every delivery.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hakit::ring::{
    AuthKey, GroupEvent, Input, Member, Node, NodeId, Output, QuorumConfig, Request, RingConfig,
    RingEvent, RingId, RingNode,
};
use hakit::rng::Rng;

pub(crate) const GROUP: &str = "sim";
pub(crate) const CLIENT: u64 = 1;

pub(crate) fn addr(id: NodeId) -> SocketAddr {
    SocketAddr::from(([10, 0, (id >> 8) as u8, id as u8], 5405))
}

fn id_of(addr: SocketAddr) -> NodeId {
    match addr.ip() {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            (u32::from(o[2]) << 8) | u32::from(o[3])
        }
        std::net::IpAddr::V6(_) => 0,
    }
}

/// Sequences one node delivered in one ring, in order.
type DeliveryLog = Vec<u64>;

struct SimNode {
    node: Node,
    alive: bool,
    view: Option<(RingId, Vec<NodeId>)>,
    /// Ring → sequences delivered there, in order.
    delivered: BTreeMap<RingId, Vec<u64>>,
    /// Group messages received: (sender node, payload).
    received: Vec<(NodeId, Vec<u8>)>,
    /// The members of [`GROUP`] as last reported to this node's client.
    group: Vec<Member>,
    /// The position of the last delivered fragment, and how many group messages the node
    /// has delivered since: a message comes out with its last fragment, or later, together
    /// with others held back while a ring change settles (the same ones everywhere).
    last_delivered: Option<(RingId, u64, usize)>,
}

struct InFlight {
    from: NodeId,
    to: NodeId,
    bytes: Vec<u8>,
}

/// The simulated network.
pub(crate) struct SimNet {
    epoch: Instant,
    now: Instant,
    rng: Rng,
    seed: u64,
    ids: Vec<NodeId>,
    nodes: BTreeMap<NodeId, SimNode>,
    configs: BTreeMap<NodeId, RingConfig>,
    key: AuthKey,
    queue: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    flights: HashMap<usize, InFlight>,
    next_flight: usize,
    counter: u64,
    loss_percent: u32,
    duplicate_percent: u32,
    delay_ms: (u64, u64),
    blocked: BTreeSet<(NodeId, NodeId)>,
    restarts: BTreeMap<NodeId, u64>,
    /// Nodes stopped until the given time (like SIGSTOP): no ticks, input held back.
    clogged: BTreeMap<NodeId, Instant>,
    // checkers
    view_members: HashMap<RingId, Vec<NodeId>>,
    canonical: HashMap<(RingId, u64), (NodeId, u64)>,
    transitions: HashMap<(RingId, RingId), Vec<(NodeId, DeliveryLog)>>,
    /// Where a group message came out (see `SimNode::last_delivered`) → the group's members
    /// at that point.
    group_at: HashMap<(RingId, u64, usize), Vec<Member>>,
    check_quorum: bool,
    pub(crate) trace: Vec<String>,
    pub(crate) datagrams: u64,
    steps: u64,
    /// `HAKIT_SIM_STEPS`: a run taking more steps is a livelock.
    max_steps: u64,
}

impl SimNet {
    /// `n` nodes with ids 1..=n, default timeouts, HMAC on, encryption as given.
    pub(crate) fn new(seed: u64, n: u32, encrypt: bool) -> SimNet {
        Self::with(seed, n, |config| config.encrypt = encrypt)
    }

    pub(crate) fn with(seed: u64, n: u32, tweak: impl Fn(&mut RingConfig)) -> SimNet {
        let ids: Vec<NodeId> = (1..=n).collect();
        let nodes_list: Vec<RingNode> = ids
            .iter()
            .map(|&id| RingNode {
                id,
                name: format!("node{id}"),
                addr: addr(id),
                votes: 1,
            })
            .collect();
        let epoch = Instant::now();
        let mut net = SimNet {
            epoch,
            now: epoch,
            rng: Rng::new(seed),
            seed,
            ids: ids.clone(),
            nodes: BTreeMap::new(),
            configs: BTreeMap::new(),
            key: AuthKey::new(vec![7; 64]).unwrap(),
            queue: BinaryHeap::new(),
            flights: HashMap::new(),
            next_flight: 0,
            counter: 0,
            loss_percent: 0,
            duplicate_percent: 0,
            delay_ms: (0, 2),
            blocked: BTreeSet::new(),
            restarts: BTreeMap::new(),
            clogged: BTreeMap::new(),
            view_members: HashMap::new(),
            canonical: HashMap::new(),
            transitions: HashMap::new(),
            group_at: HashMap::new(),
            check_quorum: true,
            trace: Vec::new(),
            datagrams: 0,
            steps: 0,
            max_steps: std::env::var("HAKIT_SIM_STEPS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(3_000_000),
        };
        for &id in &ids {
            let mut config = RingConfig::new("sim", id, nodes_list.clone());
            tweak(&mut config);
            config.validate().unwrap();
            net.check_quorum &= !config.quorum.two_node;
            net.configs.insert(id, config);
            net.start(id);
        }
        net
    }

    pub(crate) fn set_quorum(&mut self, quorum: QuorumConfig) {
        self.check_quorum = !quorum.two_node;
        for config in self.configs.values_mut() {
            config.quorum = quorum;
        }
    }

    fn start(&mut self, id: NodeId) {
        let restarts = self.restarts.entry(id).or_insert(0);
        *restarts += 1;
        let mut config = self.configs[&id].clone();
        config.incarnation = *restarts;
        let mut node = Node::new(
            config,
            self.key.clone(),
            self.seed ^ (*restarts << 32),
            self.now,
        );
        // The order and virtual-synchrony checks read every delivery.
        node.set_delivery_trace(true);
        self.nodes.insert(
            id,
            SimNode {
                node,
                alive: true,
                view: None,
                delivered: BTreeMap::new(),
                received: Vec::new(),
                group: Vec::new(),
                last_delivered: None,
            },
        );
        self.request(
            id,
            Request::GroupJoin {
                client: CLIENT,
                group: GROUP.into(),
            },
        );
    }

    pub(crate) fn ms(&self) -> u64 {
        self.now.duration_since(self.epoch).as_millis() as u64
    }

    // ---- fault verbs ---------------------------------------------------------------------

    pub(crate) fn loss(&mut self, percent: u32) {
        self.loss_percent = percent;
    }
    pub(crate) fn duplicate(&mut self, percent: u32) {
        self.duplicate_percent = percent;
    }
    pub(crate) fn delay(&mut self, min_ms: u64, max_ms: u64) {
        self.delay_ms = (min_ms, max_ms);
    }
    /// Nodes in different groups cannot hear each other; nodes in no group hear nobody.
    pub(crate) fn partition(&mut self, groups: &[&[NodeId]]) {
        self.blocked.clear();
        let side = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        for &a in &self.ids {
            for &b in &self.ids {
                if a != b && (side(a).is_none() || side(a) != side(b)) {
                    self.blocked.insert((a, b));
                }
            }
        }
    }
    /// `from` can no longer reach `to` (the other direction is untouched).
    pub(crate) fn cut_one_way(&mut self, from: NodeId, to: NodeId) {
        self.blocked.insert((from, to));
    }
    pub(crate) fn heal(&mut self) {
        self.blocked.clear();
        self.loss_percent = 0;
        self.duplicate_percent = 0;
    }
    pub(crate) fn crash(&mut self, id: NodeId) {
        if let Some(sim) = self.nodes.get_mut(&id) {
            sim.alive = false;
            self.trace.push(format!("{} crash {id}", self.ms()));
        }
    }
    pub(crate) fn restart(&mut self, id: NodeId) {
        self.trace.push(format!("{} restart {id}", self.ms()));
        self.clogged.remove(&id);
        self.start(id);
    }
    /// Freezes `id` for `ms` (a stopped or overloaded process): its timers do not fire and
    /// datagrams to it wait, in order, until it runs again.
    pub(crate) fn clog(&mut self, id: NodeId, ms: u64) {
        self.trace.push(format!("{} clog {id} {ms}", self.ms()));
        self.clogged
            .insert(id, self.now + Duration::from_millis(ms));
    }
    fn clogged_until(&self, id: NodeId) -> Option<Instant> {
        self.clogged
            .get(&id)
            .copied()
            .filter(|until| *until > self.now)
    }
    pub(crate) fn is_alive(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|s| s.alive)
    }

    // ---- driving ---------------------------------------------------------------------------

    pub(crate) fn request(&mut self, id: NodeId, request: Request) -> Vec<Output> {
        let now = self.now;
        let outputs = self
            .nodes
            .get_mut(&id)
            .unwrap()
            .node
            .handle(now, Input::Request(request));
        self.apply(id, outputs.clone());
        outputs
    }

    pub(crate) fn send(&mut self, id: NodeId, data: Vec<u8>) {
        let outputs = self.request(
            id,
            Request::GroupSend {
                client: CLIENT,
                group: GROUP.into(),
                data,
            },
        );
        assert!(
            outputs.iter().any(|o| matches!(o, Output::Reply(Ok(())))),
            "send refused: {outputs:?}"
        );
    }

    pub(crate) fn inject(&mut self, to: NodeId, from: SocketAddr, bytes: &[u8]) {
        let now = self.now;
        let outputs = self
            .nodes
            .get_mut(&to)
            .unwrap()
            .node
            .handle(now, Input::Datagram { from, bytes });
        self.apply(to, outputs);
    }

    fn next_event(&self) -> Option<Instant> {
        let flight = self.queue.peek().map(|Reverse((at, _, _))| *at);
        let timer = self
            .nodes
            .iter()
            .filter(|(_, s)| s.alive)
            .filter_map(|(id, s)| {
                let deadline = s.node.next_deadline()?;
                Some(
                    self.clogged_until(*id)
                        .map_or(deadline, |until| deadline.max(until)),
                )
            })
            .min();
        match (flight, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn write_trace(&self) {
        if let Ok(path) = std::env::var("HAKIT_SIM_TRACE") {
            let _ = std::fs::write(path, self.trace.join("\n"));
        }
    }

    fn step(&mut self) -> bool {
        self.steps += 1;
        if self.steps >= self.max_steps {
            self.write_trace();
        }
        assert!(
            self.steps < self.max_steps,
            "seed {}: runaway simulation at {} ms; trace tail: {:?}",
            self.seed,
            self.ms(),
            &self.trace[self.trace.len().saturating_sub(30)..]
        );
        let Some(at) = self.next_event() else {
            return false;
        };
        self.now = self.now.max(at);
        let now = self.now;
        while let Some(Reverse((at, _, key))) = self.queue.peek().copied() {
            if at > now {
                break;
            }
            self.queue.pop();
            if let Some(until) = self.clogged_until(self.flights[&key].to) {
                self.counter += 1;
                self.queue.push(Reverse((until, self.counter, key)));
                continue;
            }
            let flight = self.flights.remove(&key).unwrap();
            if !self.is_alive(flight.to) {
                continue;
            }
            let outputs = self.nodes.get_mut(&flight.to).unwrap().node.handle(
                now,
                Input::Datagram {
                    from: addr(flight.from),
                    bytes: &flight.bytes,
                },
            );
            self.apply(flight.to, outputs);
        }
        let due: Vec<NodeId> = self
            .nodes
            .iter()
            .filter(|(_, s)| s.alive && s.node.next_deadline().is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .filter(|id| self.clogged_until(*id).is_none())
            .collect();
        for id in due {
            let outputs = self
                .nodes
                .get_mut(&id)
                .unwrap()
                .node
                .handle(now, Input::Tick);
            self.apply(id, outputs);
        }
        true
    }

    pub(crate) fn run_for(&mut self, ms: u64) {
        let end = self.now + Duration::from_millis(ms);
        while self.next_event().is_some_and(|at| at <= end) {
            self.step();
        }
        self.now = end;
    }

    /// Runs until `done` holds, failing after `limit_ms` of virtual time.
    pub(crate) fn run_until(&mut self, done: impl Fn(&SimNet) -> bool, limit_ms: u64) -> u64 {
        let start = self.now;
        let end = start + Duration::from_millis(limit_ms);
        loop {
            if done(self) {
                return self.now.duration_since(start).as_millis() as u64;
            }
            match self.next_event() {
                Some(at) if at <= end => {
                    self.step();
                }
                _ => {
                    self.write_trace();
                    let phases: Vec<String> = self
                        .nodes
                        .iter()
                        .filter(|(_, s)| s.alive)
                        .map(|(id, s)| {
                            let st = s.node.status();
                            let next = s.node.next_deadline().map(|d| {
                                d.saturating_duration_since(self.epoch).as_millis() as u64
                            });
                            format!(
                                "{id}: {} next tick at {next:?} ms, queued {} {:?}",
                                st.phase, st.queued_messages, st.counters
                            )
                        })
                        .collect();
                    panic!(
                        "seed {}: condition not reached within {limit_ms} ms (at {} ms); views: {:?}; nodes: {phases:#?}; trace tail:\n{}",
                        self.seed,
                        self.ms(),
                        self.views(),
                        self.trace[self.trace.len().saturating_sub(60)..].join("\n")
                    )
                }
            }
        }
    }

    fn apply(&mut self, id: NodeId, outputs: Vec<Output>) {
        if !self.is_alive(id) {
            return;
        }
        for output in outputs {
            match output {
                Output::Send { to, bytes } => self.transmit(id, id_of(to), bytes),
                Output::Event(event) => self.on_event(id, event),
                Output::Group { client: _, event } => self.on_group_event(id, event),
                Output::Reply(_) => {}
            }
        }
        self.nodes[&id].node.check_invariants();
        self.check_quorum_overlap();
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, bytes: Vec<u8>) {
        self.datagrams += 1;
        if !self.blocked.contains(&(from, to)) && !self.rng.chance(self.loss_percent) {
            self.enqueue_flights(from, to, &bytes);
        }
        // Handed back once sent, as the daemon does; scribbled over first, so a node that
        // reused a buffer without clearing it would send garbage and fail the run.
        let mut spent = bytes;
        spent.fill(0xA5);
        self.nodes.get_mut(&from).unwrap().node.recycle(spent);
    }

    fn enqueue_flights(&mut self, from: NodeId, to: NodeId, bytes: &[u8]) {
        let copies = if self.rng.chance(self.duplicate_percent) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let (min, max) = self.delay_ms;
            let delay_us = min * 1000 + self.rng.below((max - min) * 1000 + 1);
            let at = self.now + Duration::from_micros(delay_us);
            self.counter += 1;
            let key = self.next_flight;
            self.next_flight += 1;
            self.flights.insert(
                key,
                InFlight {
                    from,
                    to,
                    bytes: bytes.to_vec(),
                },
            );
            self.queue.push(Reverse((at, self.counter, key)));
        }
    }

    fn on_event(&mut self, id: NodeId, event: RingEvent) {
        let ms = self.ms();
        match event {
            RingEvent::View { ring, members, .. } => {
                self.trace
                    .push(format!("{ms} {id} view {ring} {members:?}"));
                // Guarantee 1: one ring id, one member list.
                let known = self
                    .view_members
                    .entry(ring)
                    .or_insert_with(|| members.clone());
                assert_eq!(
                    known, &members,
                    "seed {}: ring {ring} has two member lists",
                    self.seed
                );
                let sim = self.nodes.get_mut(&id).unwrap();
                if let Some((previous, _)) = sim.view.replace((ring, members)) {
                    // Guarantee 4: members moving together delivered the same messages.
                    let log = sim.delivered.get(&previous).cloned().unwrap_or_default();
                    let together = self.transitions.entry((previous, ring)).or_default();
                    for (other, other_log) in together.iter() {
                        assert_eq!(
                            other_log, &log,
                            "seed {}: nodes {other} and {id} moved {previous} -> {ring} with different deliveries",
                            self.seed
                        );
                    }
                    together.push((id, log));
                }
            }
            RingEvent::Delivered {
                ring,
                seq,
                origin,
                digest,
            } => {
                self.trace.push(format!("{ms} {id} deliver {ring}/{seq}"));
                self.nodes.get_mut(&id).unwrap().last_delivered = Some((ring, seq, 0));
                // Guarantee 2: one message per position, positions in increasing order.
                let known = self
                    .canonical
                    .entry((ring, seq))
                    .or_insert((origin, digest));
                assert_eq!(
                    *known,
                    (origin, digest),
                    "seed {}: {ring}/{seq} differs at node {id}",
                    self.seed
                );
                let log = self
                    .nodes
                    .get_mut(&id)
                    .unwrap()
                    .delivered
                    .entry(ring)
                    .or_default();
                assert!(
                    log.last().is_none_or(|last| *last < seq),
                    "seed {}: node {id} delivered out of order",
                    self.seed
                );
                log.push(seq);
            }
            RingEvent::Gather { reason } => self.trace.push(format!("{ms} {id} gather {reason:?}")),
            RingEvent::Quorum(q) => self.trace.push(format!("{ms} {id} quorate {}", q.quorate)),
            RingEvent::Dropped { .. } | RingEvent::Stopped => {}
        }
    }

    fn on_group_event(&mut self, id: NodeId, event: GroupEvent) {
        let sim = self.nodes.get_mut(&id).unwrap();
        match event {
            GroupEvent::Joined { members, .. } | GroupEvent::Left { members, .. } => {
                sim.group = members;
            }
            GroupEvent::Message { from, data, .. } => {
                // The daemon hands delivered data back for reuse; a dirty buffer of the same
                // size stands in for it (the data itself is kept for the checks).
                sim.node.recycle(vec![0xA5; data.len()]);
                sim.received.push((from.node, data));
                // Guarantee 7 (group changes at one point): every member delivers a group
                // message with the same group membership.
                let at = sim
                    .last_delivered
                    .as_mut()
                    .expect("a message comes after a fragment");
                at.2 += 1;
                let at = *at;
                let known = self.group_at.entry(at).or_insert_with(|| sim.group.clone());
                assert_eq!(
                    *known, sim.group,
                    "seed {}: node {id} delivered message {} after {}/{} with another group membership",
                    self.seed, at.2, at.0, at.1
                );
            }
        }
    }

    /// Two quorate nodes in different views must share a member (else both sides of a
    /// split would run resources).
    fn check_quorum_overlap(&self) {
        if !self.check_quorum {
            return;
        }
        let quorate: Vec<&(RingId, Vec<NodeId>)> = self
            .nodes
            .values()
            .filter(|s| s.alive && !s.node.is_stopped() && s.node.quorum().quorate)
            .filter_map(|s| s.view.as_ref())
            .collect();
        for a in &quorate {
            for b in &quorate {
                if a.0 != b.0 {
                    assert!(
                        a.1.iter().any(|m| b.1.contains(m)),
                        "seed {}: disjoint quorate views {:?} and {:?}",
                        self.seed,
                        a,
                        b
                    );
                }
            }
        }
    }

    // ---- observations --------------------------------------------------------------------

    pub(crate) fn views(&self) -> BTreeMap<NodeId, Option<(String, Vec<NodeId>)>> {
        self.nodes
            .iter()
            .filter(|(_, s)| s.alive)
            .map(|(id, s)| {
                (
                    *id,
                    s.view.as_ref().map(|(r, m)| (r.to_string(), m.clone())),
                )
            })
            .collect()
    }

    pub(crate) fn view_of(&self, id: NodeId) -> Option<(RingId, Vec<NodeId>)> {
        self.nodes[&id].view.clone()
    }

    pub(crate) fn status(&self, id: NodeId) -> hakit::ring::RingStatus {
        self.nodes[&id].node.status()
    }

    pub(crate) fn received(&self, id: NodeId) -> &[(NodeId, Vec<u8>)] {
        &self.nodes[&id].received
    }

    pub(crate) fn alive(&self) -> Vec<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, s)| s.alive && !s.node.is_stopped())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Every node of `group` is operational in one view whose members are exactly `group`.
    pub(crate) fn in_one_view(&self, group: &[NodeId]) -> bool {
        let mut ring = None;
        for id in group {
            let s = &self.nodes[id];
            if !s.alive || s.node.status().phase != "operational" {
                return false;
            }
            let Some((r, members)) = &s.view else {
                return false;
            };
            if members != group || ring.is_some_and(|x| x != *r) {
                return false;
            }
            ring = Some(*r);
        }
        true
    }

    /// All live nodes are in one view holding all of them.
    pub(crate) fn all_in_one_view(&self) -> bool {
        self.in_one_view(&self.alive())
    }
}
