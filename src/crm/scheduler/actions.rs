//! Phase 3: actions and their orderings. Start and stop actions per primitive (optional when
//! nothing forces them), group pseudo-actions, recurring monitors, probes, fencing and
//! shutdown; then the ordering relations (group-internal, stop-before-start, configured
//! order constraints and their symmetric inverses) and Pacemaker's propagation of the
//! optional/runnable flags along them, which is what turns "rsc1 restarts" into "rsc2 must
//! restart too" and "X cannot start" into "Y cannot start either".

use super::super::cib::OrderKind;
use super::assign::current_node;
use super::task::Task;
use super::unpack::{
    Action, NoQuorum, OrderSpec, Role, Sched, Variant, add_clear_failcount, can_fence,
    new_colocation,
};

/// Ordering relation flags (Pacemaker's `pcmk__ar_*`).
pub(super) mod flags {
    use super::{OrderKind, Task};

    pub(in super::super) const ORDERED: u32 = 1;
    pub(in super::super) const FIRST_IMPLIES_THEN: u32 = 1 << 1;
    pub(in super::super) const THEN_IMPLIES_FIRST: u32 = 1 << 2;
    pub(in super::super) const UNRUNNABLE_FIRST_BLOCKS: u32 = 1 << 3;
    pub(in super::super) const INTERMEDIATE_STOP: u32 = 1 << 4;
    pub(in super::super) const ASYMMETRIC: u32 = 1 << 5;
    pub(in super::super) const FIRST_IMPLIES_THEN_GRAPHED: u32 = 1 << 6;
    pub(in super::super) const THEN_IMPLIES_FIRST_GRAPHED: u32 = 1 << 7;
    pub(in super::super) const SERIALIZE: u32 = 1 << 8;
    /// A required `then` makes `first` unnecessary (a required stop cancels a reload).
    pub(in super::super) const THEN_CANCELS_FIRST: u32 = 1 << 9;
    /// Between two interleaved clones: the instances' own edges carry the ordering, so this
    /// one changes no flag.
    pub(in super::super) const INTERLEAVED: u32 = 1 << 10;
    /// `first` counts towards the runnable instances `then` needs (see
    /// `Action::min_runnable_before`).
    pub(in super::super) const MIN_RUNNABLE: u32 = 1 << 11;

    /// Flags for a configured order constraint (`inverse`: the symmetric stop-side copy).
    pub(in super::super) fn for_kind(
        kind: OrderKind,
        first_action: Task,
        symmetric: bool,
        inverse: bool,
    ) -> u32 {
        match kind {
            OrderKind::Optional => ORDERED,
            OrderKind::Serialize => SERIALIZE,
            OrderKind::Mandatory => {
                let mut f = ORDERED;
                if inverse {
                    f |= THEN_IMPLIES_FIRST;
                } else if symmetric {
                    f |= FIRST_IMPLIES_THEN;
                    if first_action == Task::Start || first_action == Task::Promote {
                        f |= UNRUNNABLE_FIRST_BLOCKS;
                    }
                } else {
                    f |= ASYMMETRIC;
                }
                f
            }
        }
    }
}

use flags::*;

const CHANGED_THEN: u32 = 1;
const CHANGED_FIRST: u32 = 2;

/// Finds or creates an action (Pacemaker's `custom_action`), updating its optional and
/// runnable flags the same way.
pub(super) fn custom_action(
    sched: &mut Sched,
    rsc: Option<usize>,
    task: Task,
    interval_ms: u64,
    node: Option<usize>,
    optional: bool,
) -> usize {
    // An action required before its node was known (a restart forced by a definition change)
    // is taken over by the first request for it on a node, as Pacemaker assigns it there.
    if sched.unplaced_actions > 0
        && let (Some(r), Some(n)) = (rsc, node)
        && sched.rscs[r].variant == Variant::Primitive
        && sched
            .find_action_exact(rsc, task, interval_ms, node)
            .is_none()
        && let Some(unplaced) = sched.find_action_exact(rsc, task, interval_ms, None)
    {
        sched.place_action(unplaced, n);
    }
    let index = match sched.claim_action_slot(rsc, task, interval_ms, node) {
        Ok(i) => i,
        Err(index) => {
            if node.is_none() && rsc.is_some_and(|r| sched.rscs[r].variant == Variant::Primitive) {
                sched.unplaced_actions += 1;
            }
            let needs = matches!(task, Task::Start | Task::Promote);
            sched.actions.push(Action {
                rsc,
                task,
                interval_ms,
                node,
                optional,
                runnable: true,
                pseudo: false,
                reason: None,
                needs_quorum_or_fencing: needs,
                ..Action::EMPTY
            });
            if let Some(r) = rsc {
                sched.rscs[r].actions.push(index);
                if task != Task::Monitor {
                    sched.rscs[r].main_actions.push(index);
                }
            }
            index
        }
    };
    // update_action_optional
    if let Some(r) = rsc {
        let a = &sched.actions[index];
        if a.node.is_some() && !a.pseudo && !sched.rscs[r].managed && a.interval_ms == 0 {
            sched.actions[index].optional = true;
        } else if !optional {
            sched.actions[index].optional = false;
        }
        update_runnable(sched, index);
    } else if !optional {
        sched.actions[index].optional = false;
    }
    index
}

fn update_runnable(sched: &mut Sched, index: usize) {
    let a = &sched.actions[index];
    if a.pseudo {
        return;
    }
    let Some(rsc) = a.rsc else { return };
    let Some(node) = a.node else {
        sched.actions[index].runnable = false;
        return;
    };
    let is_stop = a.task == Task::Stop;
    let needs_check = a.needs_quorum_or_fencing;
    if !sched.nodes[node].online {
        sched.actions[index].runnable = false;
        if sched.rscs[rsc].managed && is_stop && !sched.nodes[node].unclean {
            sched.fence_node(node, "stop is unrunnable".into());
        }
        return;
    }
    if sched.nodes[node].pending {
        sched.actions[index].runnable = false;
        return;
    }
    let needs = needs_check && sched.rscs[rsc].needs_quorum;
    if !needs {
        // Nothing (quorum, fencing) stands in its way, so no earlier reason holds either.
        sched.actions[index].runnable = true;
        sched.actions[index].reason = None;
        return;
    }
    // With quorum every policy acts as "ignore".
    if sched.options.quorate {
        sched.actions[index].runnable = true;
        return;
    }
    match sched.options.no_quorum {
        NoQuorum::Stop | NoQuorum::Demote => {
            sched.actions[index].runnable = false;
            set_reason(sched, index, "no quorum", true);
        }
        NoQuorum::Freeze => {
            let r = &sched.rscs[rsc];
            if r.running_on.is_empty() || r.next_role > r.orig_role {
                sched.actions[index].runnable = false;
                set_reason(sched, index, "quorum freeze", true);
            }
        }
        NoQuorum::Ignore | NoQuorum::Fence => sched.actions[index].runnable = true,
    }
}

fn set_reason(sched: &mut Sched, action: usize, reason: &str, overwrite: bool) {
    let a = &mut sched.actions[action];
    if a.reason.is_none() || overwrite {
        a.reason = Some(reason.to_string());
    }
}

pub(super) fn stop_action(sched: &mut Sched, rsc: usize, node: usize, optional: bool) -> usize {
    custom_action(sched, Some(rsc), Task::Stop, 0, Some(node), optional)
}

fn start_action(sched: &mut Sched, rsc: usize, node: Option<usize>, optional: bool) -> usize {
    custom_action(sched, Some(rsc), Task::Start, 0, node, optional)
}

fn pseudo_op(sched: &mut Sched, rsc: usize, task: Task) -> usize {
    let a = custom_action(sched, Some(rsc), task, 0, None, true);
    sched.actions[a].pseudo = true;
    sched.actions[a].runnable = true;
    a
}

/// Orders every `t1` action of `r1` before every `t2` action of `r2` (resolved once all
/// actions exist).
pub(super) fn order_actions_by_task(
    sched: &mut Sched,
    r1: usize,
    t1: Task,
    r2: usize,
    t2: Task,
    f: u32,
) {
    order_resource_actions(sched, r1, t1, r2, t2, f);
}

/// Orders the existing action `first` before every `then` action of `rsc`.
pub(super) fn order_action_before_task(
    sched: &mut Sched,
    first: usize,
    rsc: usize,
    then: Task,
    f: u32,
) {
    sched.orderings.push(OrderSpec {
        rsc1: sched.actions[first].rsc,
        task1: sched.actions[first].task,
        action1: Some(first),
        rsc2: Some(rsc),
        task2: then,
        action2: None,
        flags: f,
    });
}

fn order_resource_actions(sched: &mut Sched, r1: usize, t1: Task, r2: usize, t2: Task, f: u32) {
    sched.orderings.push(OrderSpec {
        rsc1: Some(r1),
        task1: t1,
        action1: None,
        rsc2: Some(r2),
        task2: t2,
        action2: None,
        flags: f,
    });
}

pub(super) fn create_internal_constraints(sched: &mut Sched) {
    let order = sched.order.clone();
    for r in order {
        internal_constraints(sched, r);
    }
}

fn internal_constraints(sched: &mut Sched, rsc: usize) {
    match sched.rscs[rsc].variant {
        Variant::Primitive => primitive_internal_constraints(sched, rsc),
        Variant::Group => group_internal_constraints(sched, rsc),
        Variant::Clone => clone_internal_constraints(sched, rsc),
    }
}

/// A clone's start and stop pseudo-actions bracket every instance's, in instance-number
/// order for ordered clones.
fn clone_internal_constraints(sched: &mut Sched, clone: usize) {
    order_resource_actions(sched, clone, Task::Stopped, clone, Task::Start, ORDERED);
    order_resource_actions(
        sched,
        clone,
        Task::Start,
        clone,
        Task::Running,
        UNRUNNABLE_FIRST_BLOCKS,
    );
    order_resource_actions(
        sched,
        clone,
        Task::Stop,
        clone,
        Task::Stopped,
        UNRUNNABLE_FIRST_BLOCKS,
    );
    let ordered = sched.rscs[clone].clone.is_some_and(|c| c.ordered);
    let mut instances = sched.rscs[clone].children.clone();
    if ordered {
        instances.sort_by_key(|&i| super::clone::instance_number(&sched.rscs[i].id));
        sched.rscs[clone].children = instances.clone();
    }
    for (i, &instance) in instances.iter().enumerate() {
        internal_constraints(sched, instance);
        order_resource_actions(
            sched,
            clone,
            Task::Start,
            instance,
            Task::Start,
            UNRUNNABLE_FIRST_BLOCKS | THEN_IMPLIES_FIRST_GRAPHED,
        );
        order_resource_actions(
            sched,
            instance,
            Task::Start,
            clone,
            Task::Running,
            FIRST_IMPLIES_THEN_GRAPHED,
        );
        order_resource_actions(
            sched,
            clone,
            Task::Stop,
            instance,
            Task::Stop,
            THEN_IMPLIES_FIRST_GRAPHED,
        );
        order_resource_actions(
            sched,
            instance,
            Task::Stop,
            clone,
            Task::Stopped,
            FIRST_IMPLIES_THEN_GRAPHED,
        );
        if ordered {
            for &later in &instances[i + 1..] {
                order_resource_actions(sched, instance, Task::Start, later, Task::Start, ORDERED);
                order_resource_actions(sched, later, Task::Stop, instance, Task::Stop, ORDERED);
            }
        }
    }
}

fn primitive_internal_constraints(sched: &mut Sched, rsc: usize) {
    if !sched.rscs[rsc].managed {
        return;
    }
    order_resource_actions(
        sched,
        rsc,
        Task::Stop,
        rsc,
        Task::Start,
        ORDERED | FIRST_IMPLIES_THEN | INTERMEDIATE_STOP,
    );
}

fn group_internal_constraints(sched: &mut Sched, group: usize) {
    order_resource_actions(
        sched,
        group,
        Task::Stop,
        group,
        Task::Stopped,
        UNRUNNABLE_FIRST_BLOCKS,
    );
    order_resource_actions(sched, group, Task::Stopped, group, Task::Start, ORDERED);
    order_resource_actions(
        sched,
        group,
        Task::Start,
        group,
        Task::Running,
        UNRUNNABLE_FIRST_BLOCKS,
    );
    let ordered = sched.rscs[group]
        .meta
        .get("ordered")
        .and_then(super::super::xml::parse_bool)
        .unwrap_or(true);
    let colocated = sched.rscs[group]
        .meta
        .get("collocated")
        .and_then(super::super::xml::parse_bool)
        .unwrap_or(true);
    let members = sched.rscs[group].children.clone();
    let mut previous: Option<usize> = None;
    let mut last_active: Option<usize> = None;
    for &member in &members {
        primitive_internal_constraints(sched, member);
        let mut down_flags = THEN_IMPLIES_FIRST_GRAPHED;
        let mut post_down_flags = FIRST_IMPLIES_THEN_GRAPHED;
        match previous {
            None => {
                if ordered {
                    down_flags |= ORDERED;
                    post_down_flags = FIRST_IMPLIES_THEN;
                }
            }
            Some(prev) if colocated => {
                let influence = true;
                new_colocation(
                    sched,
                    "#group-members",
                    member,
                    prev,
                    super::super::score::Score::INFINITY,
                    influence,
                    false,
                );
            }
            Some(_) => {}
        }
        order_resource_actions(sched, group, Task::Stop, member, Task::Stop, down_flags);
        order_resource_actions(
            sched,
            member,
            Task::Stop,
            group,
            Task::Stopped,
            post_down_flags,
        );
        order_resource_actions(
            sched,
            group,
            Task::Start,
            member,
            Task::Start,
            THEN_IMPLIES_FIRST_GRAPHED,
        );
        order_resource_actions(
            sched,
            member,
            Task::Start,
            group,
            Task::Running,
            UNRUNNABLE_FIRST_BLOCKS | FIRST_IMPLIES_THEN | FIRST_IMPLIES_THEN_GRAPHED,
        );
        if !ordered {
            order_resource_actions(
                sched,
                group,
                Task::Start,
                member,
                Task::Start,
                FIRST_IMPLIES_THEN | UNRUNNABLE_FIRST_BLOCKS | THEN_IMPLIES_FIRST_GRAPHED,
            );
        } else if let Some(prev) = previous {
            order_resource_actions(
                sched,
                prev,
                Task::Start,
                member,
                Task::Start,
                FIRST_IMPLIES_THEN | UNRUNNABLE_FIRST_BLOCKS,
            );
            order_resource_actions(
                sched,
                member,
                Task::Stop,
                prev,
                Task::Stop,
                ORDERED | INTERMEDIATE_STOP,
            );
            if !sched.rscs[member].running_on.is_empty() && sched.rscs[prev].running_on.is_empty() {
                order_resource_actions(
                    sched,
                    member,
                    Task::Stop,
                    prev,
                    Task::Start,
                    THEN_IMPLIES_FIRST | UNRUNNABLE_FIRST_BLOCKS,
                );
            }
        } else {
            order_resource_actions(sched, group, Task::Start, member, Task::Start, 0);
        }
        if !sched.rscs[member].running_on.is_empty() {
            if ordered
                && let Some(prev) = previous
                && sched.rscs[prev].running_on.is_empty()
                && let Some(last) = last_active
                && !sched.rscs[last].running_on.is_empty()
            {
                order_resource_actions(sched, member, Task::Stop, last, Task::Stop, ORDERED);
            }
            last_active = Some(member);
        }
        previous = Some(member);
    }
}

pub(super) fn schedule_resource_actions(sched: &mut Sched) {
    // Orphans with fail counts get them cleared where the node is up.
    for r in 0..sched.rscs.len() {
        if !sched.rscs[r].orphan || !sched.options.stop_orphans {
            continue;
        }
        for node in 0..sched.nodes.len() {
            if sched.nodes[node].online && sched.fail_count(r, node, true) != 0 {
                add_clear_failcount(sched, r, node, "it is removed");
            }
        }
    }
    schedule_probes(sched);
    let order = sched.order.clone();
    for r in order {
        create_actions(sched, r);
    }
}

fn create_actions(sched: &mut Sched, rsc: usize) {
    match sched.rscs[rsc].variant {
        Variant::Group => {
            let children = sched.rscs[rsc].children.clone();
            for c in children {
                create_actions(sched, c);
            }
            for task in [Task::Start, Task::Running, Task::Stop, Task::Stopped] {
                pseudo_op(sched, rsc, task);
            }
        }
        Variant::Primitive => primitive_create_actions(sched, rsc),
        Variant::Clone => clone_create_actions(sched, rsc),
    }
}

/// What the instances of a collective do in this transition.
#[derive(Debug, Default, Clone, Copy)]
struct InstanceState {
    starting: bool,
    stopping: bool,
    restarting: bool,
    active: bool,
}

fn check_instance_state(sched: &Sched, rsc: usize, state: &mut InstanceState) {
    let r = &sched.rscs[rsc];
    if r.variant != Variant::Primitive {
        for &child in &r.children {
            check_instance_state(sched, child, state);
        }
        return;
    }
    let (mut starting, mut stopping) = (false, false);
    for &a in &r.main_actions {
        let action = &sched.actions[a];
        match action.task {
            Task::Start if !action.optional && action.runnable => starting = true,
            Task::Stop if !action.optional && (action.pseudo || action.runnable) => stopping = true,
            _ => {}
        }
    }
    state.active |= !r.running_on.is_empty();
    state.starting |= starting;
    state.stopping |= stopping;
    state.restarting |= starting && stopping;
}

/// Instance actions, then the clone's start/running/stop/stopped pseudo-actions, required
/// when some instance starts (stops).
fn clone_create_actions(sched: &mut Sched, clone: usize) {
    let mut state = InstanceState::default();
    for instance in sched.rscs[clone].children.clone() {
        create_actions(sched, instance);
        check_instance_state(sched, instance, &mut state);
    }
    let start = collective_pseudo_op(sched, clone, Task::Start, !state.starting, true);
    let running = collective_pseudo_op(sched, clone, Task::Running, !state.starting, false);
    if state.active || state.starting {
        sched.actions[running].runnable = true;
    }
    let stop = collective_pseudo_op(sched, clone, Task::Stop, !state.stopping, true);
    let stopped = collective_pseudo_op(sched, clone, Task::Stopped, !state.stopping, true);
    let _ = (start, stop, stopped, state.restarting);
}

fn collective_pseudo_op(
    sched: &mut Sched,
    rsc: usize,
    task: Task,
    optional: bool,
    runnable: bool,
) -> usize {
    let a = custom_action(sched, Some(rsc), task, 0, None, optional);
    sched.actions[a].pseudo = true;
    sched.actions[a].runnable = runnable;
    a
}

fn primitive_create_actions(sched: &mut Sched, rsc: usize) {
    if sched.rscs[rsc].next_role == Role::Unknown {
        sched.rscs[rsc].next_role = if sched.rscs[rsc].assigned.is_none() {
            Role::Stopped
        } else {
            Role::Started
        };
    }
    let current = current_node(sched, rsc);
    let assigned = sched.rscs[rsc].assigned;
    let mut need_stop = false;
    let mut is_moving = false;
    if let (Some(c), Some(a)) = (current, assigned)
        && c != a
        && sched.rscs[rsc].next_role >= Role::Started
    {
        is_moving = true;
        need_stop = true;
    }
    let num_all = sched.rscs[rsc].running_on.len();
    let num_clean = sched.rscs[rsc]
        .running_on
        .iter()
        .filter(|&&n| !sched.nodes[n].unclean)
        .count();
    let multiply_active = if sched.rscs[rsc].needs_fencing {
        num_all > 1
    } else {
        num_clean > 1
    };
    if multiply_active {
        need_stop = true;
    }
    if sched.rscs[rsc].start_pending && assigned.is_some() {
        start_action(sched, rsc, assigned, true);
    }
    if !is_moving {
        let r = &sched.rscs[rsc];
        if (r.failed && r.stop_if_failed) || (!r.failed && r.blocked) {
            need_stop = true;
        }
    }
    // Restart: down to stopped on the current node(s), back up on the next one.
    let orig = sched.rscs[rsc].orig_role;
    if orig == Role::Started {
        stop_resource(sched, rsc, !need_stop);
        if sched.rscs[rsc].next_role >= orig
            && !sched.rscs[rsc].blocked
            && let Some(a) = assigned
        {
            start_resource(sched, rsc, a, !need_stop);
        }
    }
    // Role transition.
    let next = sched.rscs[rsc].next_role;
    if orig != Role::Started && next == Role::Started {
        if let Some(a) = assigned {
            start_resource(sched, rsc, a, false);
        }
    } else if orig == Role::Started && next == Role::Stopped {
        stop_resource(sched, rsc, false);
    }
    create_recurring_actions(sched, rsc);
}

fn stop_resource(sched: &mut Sched, rsc: usize, optional: bool) {
    let running = sched.rscs[rsc].running_on.clone();
    for node in running {
        let stop = stop_action(sched, rsc, node, optional);
        if sched.rscs[rsc].assigned.is_none() {
            set_reason(sched, stop, "node availability", true);
        }
        if !sched.rscs[rsc].managed {
            sched.actions[stop].runnable = false;
        }
    }
}

fn start_resource(sched: &mut Sched, rsc: usize, node: usize, optional: bool) {
    let start = start_action(sched, rsc, Some(node), true);
    if sched.actions[start].runnable && !optional {
        sched.actions[start].optional = false;
    }
}

fn create_recurring_actions(sched: &mut Sched, rsc: usize) {
    let Some(node) = sched.rscs[rsc].assigned else {
        return;
    };
    if sched.rscs[rsc].next_role != Role::Started || !sched.rscs[rsc].managed {
        return;
    }
    let start = sched.rscs[rsc]
        .actions
        .iter()
        .copied()
        .find(|&a| sched.actions[a].task == Task::Start && sched.actions[a].node == Some(node));
    for op_index in 0..sched.rscs[rsc].ops.len() {
        let op = &sched.rscs[rsc].ops[op_index];
        let interval = op.interval_ms();
        if op.name != "monitor" || interval == 0 {
            continue;
        }
        if op
            .attrs
            .get("enabled")
            .and_then(super::super::xml::parse_bool)
            == Some(false)
        {
            continue;
        }
        if op
            .attrs
            .get("role")
            .is_some_and(|r| !r.eq_ignore_ascii_case("started"))
        {
            continue;
        }
        let start_optional = start.is_none_or(|s| sched.actions[s].optional);
        let active = sched.rscs[rsc]
            .active_recurring
            .iter()
            .any(|a| a.node == node && a.interval_ms == interval);
        // A recurring op whose parameters changed runs again even when already active.
        let rescheduled = sched.rscs[rsc].rescheduled.contains(&(node, interval));
        let optional = start_optional && active && !rescheduled;
        let mon = custom_action(
            sched,
            Some(rsc),
            Task::Monitor,
            interval,
            Some(node),
            optional,
        );
        if let Some(s) = start {
            if !sched.actions[s].runnable {
                sched.actions[mon].runnable = false;
            }
            sched.orderings.push(OrderSpec {
                rsc1: Some(rsc),
                task1: Task::Start,
                action1: Some(s),
                rsc2: Some(rsc),
                task2: Task::Monitor,
                action2: Some(mon),
                flags: FIRST_IMPLIES_THEN | UNRUNNABLE_FIRST_BLOCKS,
            });
        }
    }
}

/// What gets probed for one top-level resource.
enum ProbeUnit {
    Primitive(usize),
    /// An anonymous clone probes one instance per node, a unique one every instance.
    Clone(usize),
}

fn schedule_probes(sched: &mut Sched) {
    let order = sched.order.clone();
    let mut units = Vec::new();
    let mut count = 0;
    for r in order {
        match sched.rscs[r].variant {
            Variant::Primitive => units.push(ProbeUnit::Primitive(r)),
            Variant::Group => {
                units.extend(
                    sched.rscs[r]
                        .children
                        .iter()
                        .map(|&m| ProbeUnit::Primitive(m)),
                );
            }
            Variant::Clone => {
                // Instances are probed (and later listed) by instance number.
                let mut instances = sched.rscs[r].children.clone();
                instances.sort_by_key(|&i| super::clone::instance_number(&sched.rscs[i].id));
                sched.rscs[r].children = instances;
                units.push(ProbeUnit::Clone(r));
            }
        }
        count += 1;
    }
    // Probes are most of a large transition: size the tables once instead of growing them.
    let probe_nodes = sched
        .nodes
        .iter()
        .filter(|n| n.online && !n.unclean)
        .count();
    let expected = units.len().max(count) * (probe_nodes + 4);
    sched.actions.reserve(expected);
    sched.action_index.reserve(expected);
    sched.orderings.reserve(units.len() * probe_nodes);
    for unit in &units {
        if let ProbeUnit::Primitive(r) = *unit {
            sched.rscs[r].actions.reserve(probe_nodes + 2);
        }
    }
    for node in 0..sched.nodes.len() {
        let n = &sched.nodes[node];
        if !n.online || n.unclean {
            continue;
        }
        for unit in &units {
            match *unit {
                ProbeUnit::Primitive(r) => probe_primitive(sched, r, node),
                ProbeUnit::Clone(c) => probe_clone(sched, c, node),
            }
        }
    }
}

fn probe_primitive(sched: &mut Sched, r: usize, node: usize) {
    if sched.rscs[r].orphan || sched.rscs[r].removed || sched.rscs[r].probed[node] {
        return;
    }
    let probe = custom_action(sched, Some(r), Task::Monitor, 0, Some(node), false);
    // A resource that cannot be probed somewhere must not start until it can.
    let mut flags = ORDERED;
    if !sched.actions[probe].runnable && sched.rscs[r].running_on.is_empty() {
        flags |= UNRUNNABLE_FIRST_BLOCKS;
    }
    sched.orderings.push(OrderSpec {
        rsc1: Some(r),
        task1: Task::Monitor,
        action1: Some(probe),
        rsc2: Some(r),
        task2: Task::Start,
        action2: None,
        flags,
    });
}

/// Probes every primitive in `rsc` (an instance, a group or a primitive).
fn probe_tree(sched: &mut Sched, rsc: usize, node: usize) {
    match sched.rscs[rsc].variant {
        Variant::Primitive => probe_primitive(sched, rsc, node),
        Variant::Group | Variant::Clone => {
            for child in sched.rscs[rsc].children.clone() {
                probe_tree(sched, child, node);
            }
        }
    }
}

fn probed_on(sched: &Sched, rsc: usize, node: usize) -> bool {
    let r = &sched.rscs[rsc];
    if r.variant == Variant::Primitive {
        return r.probed[node];
    }
    r.children.iter().any(|&c| probed_on(sched, c, node))
}

fn probe_clone(sched: &mut Sched, clone: usize, node: usize) {
    let instances = sched.rscs[clone].children.clone();
    if sched.rscs[clone].clone.is_some_and(|c| c.unique) {
        for instance in instances {
            probe_tree(sched, instance, node);
        }
        return;
    }
    // Any instance tells whether the clone runs there: the one already probed or placed
    // there, else the first.
    let placed = |i: usize| {
        let first = match sched.rscs[i].variant {
            Variant::Primitive => i,
            _ => sched.rscs[i].children.first().copied().unwrap_or(i),
        };
        sched.rscs[first].assigned == Some(node)
    };
    let chosen = instances
        .iter()
        .copied()
        .find(|&i| probed_on(sched, i, node))
        .or_else(|| instances.iter().copied().find(|&i| placed(i)))
        .or_else(|| instances.first().copied());
    if let Some(instance) = chosen {
        probe_tree(sched, instance, node);
    }
}

pub(super) fn schedule_fencing_and_shutdowns(sched: &mut Sched) {
    let have_managed = sched.rscs.iter().any(|r| r.managed);
    for node in 0..sched.nodes.len() {
        let n = &sched.nodes[node];
        if have_managed && n.unclean && can_fence(sched, node) {
            let reason = n
                .fence_reason
                .clone()
                .unwrap_or_else(|| "node is unclean".to_string());
            let fence = custom_action(sched, None, Task::Stonith, 0, Some(node), false);
            sched.actions[fence].reason = Some(reason);
            order_vs_fencing(sched, fence, node);
        } else if n.online && n.shutdown {
            let down = custom_action(sched, None, Task::DoShutdown, 0, Some(node), false);
            // Everything running there stops first.
            for r in 0..sched.rscs.len() {
                let stops: Vec<usize> = sched.rscs[r]
                    .actions
                    .iter()
                    .copied()
                    .filter(|&a| {
                        sched.actions[a].task == Task::Stop && sched.actions[a].node == Some(node)
                    })
                    .collect();
                for s in stops {
                    order_actions(sched, s, down, ORDERED | THEN_IMPLIES_FIRST);
                }
            }
        }
    }
}

fn order_vs_fencing(sched: &mut Sched, fence: usize, node: usize) {
    for r in 0..sched.rscs.len() {
        if sched.rscs[r].variant != Variant::Primitive || !sched.rscs[r].managed {
            continue;
        }
        let actions = sched.rscs[r].main_actions.clone();
        for a in actions {
            let task = sched.actions[a].task;
            if task == Task::Stop && sched.actions[a].node == Some(node) {
                sched.actions[a].pseudo = true;
                sched.actions[a].runnable = true;
                if sched.rscs[r].needs_fencing {
                    order_actions(sched, fence, a, ORDERED);
                }
            } else if task == Task::Start && sched.rscs[r].needs_fencing {
                order_actions(sched, fence, a, ORDERED);
            }
        }
    }
}

/// Adds the edge `first` → `then` unless an edge between them already shares a flag.
/// Relations are kept in creation order and walked newest first, as Pacemaker prepends them.
pub(super) fn order_actions(sched: &mut Sched, first: usize, then: usize, f: u32) -> bool {
    if first == then || f == 0 {
        return false;
    }
    // Every edge sits in both lists, so scanning the shorter one is enough; a hub (a fencing
    // action before every start, a probe-rich start) then costs nothing per new edge.
    let duplicate = if sched.actions[first].after_len <= sched.actions[then].before_len {
        sched
            .after(first)
            .any(|(a, existing)| a == then && existing & f != 0)
    } else {
        sched
            .before(then)
            .any(|(a, existing)| a == first && existing & f != 0)
    };
    if duplicate {
        return false;
    }
    sched.push_edge(first, then, f);
    true
}

/// The resource's actions for `task` (interval 0), newest first, into `out` (cleared first).
fn find_actions_by_task(sched: &Sched, rsc: usize, task: Task, out: &mut Vec<usize>) {
    let list = if task == Task::Monitor {
        &sched.rscs[rsc].actions
    } else {
        &sched.rscs[rsc].main_actions
    };
    out.clear();
    out.extend(
        list.iter()
            .rev()
            .copied()
            .filter(|&a| sched.actions[a].task == task && sched.actions[a].interval_ms == 0),
    );
}

fn is_ancestor(sched: &Sched, ancestor: usize, rsc: usize) -> bool {
    let mut cur = sched.rscs[rsc].parent;
    while let Some(p) = cur {
        if p == ancestor {
            return true;
        }
        cur = sched.rscs[p].parent;
    }
    false
}

/// A group's start/stop stands for its running/stopped milestone when something outside the
/// group is ordered after it.
fn action_for_ordering(sched: &Sched, first: usize, then: usize) -> usize {
    let (Some(fr), Some(tr)) = (sched.actions[first].rsc, sched.actions[then].rsc) else {
        return first;
    };
    if fr == tr || is_ancestor(sched, fr, tr) || sched.rscs[fr].variant == Variant::Primitive {
        return first;
    }
    let milestone = match sched.actions[first].task {
        Task::Start => Task::Running,
        Task::Stop => Task::Stopped,
        _ => return first,
    };
    sched
        .find_action_exact(Some(fr), milestone, 0, None)
        .unwrap_or(first)
}

/// The action an ordering from `first` to `then` really starts from (see
/// [`action_for_ordering`]). When that is a collective's milestone rather than `first` itself,
/// `first` keeps a link to `then` that orders nothing and changes no flag: a change of `first`
/// (a clone's start found unrunnable) still re-evaluates `then`, which then reads the
/// milestone's flags as its instances left them.
fn wake_on_change(sched: &mut Sched, first: usize, then: usize) -> usize {
    let milestone = action_for_ordering(sched, first, then);
    if milestone != first && !sched.after(first).any(|(a, f)| a == then && f == 0) {
        sched.push_edge(first, then, 0);
    }
    milestone
}

pub(super) fn apply_orderings(sched: &mut Sched) {
    let specs = std::mem::take(&mut sched.orderings);
    // Most specs make one edge: size the edge table once instead of growing (copying) it.
    sched.edges.reserve(specs.len());
    // Reused across specs: most resolve to one action on each side.
    let mut firsts = Vec::new();
    let mut thens = Vec::new();
    for spec in &specs {
        let r1 = match (spec.action1, spec.rsc1) {
            (Some(a), r1) => {
                firsts.clear();
                firsts.push(a);
                r1
            }
            (None, Some(r1)) => {
                find_actions_by_task(sched, r1, spec.task1, &mut firsts);
                Some(r1)
            }
            (None, None) => continue,
        };
        if firsts.is_empty()
            && let Some(r1) = r1
        {
            if Some(r1) == spec.rsc2 {
                continue;
            }
            let role = sched.rscs[r1].orig_role;
            if role <= Role::Stopped && spec.task1 == Task::Stop {
                continue;
            }
            let a = custom_action(sched, Some(r1), spec.task1, 0, None, true);
            firsts.push(a);
        }
        match (spec.action2, spec.rsc2) {
            (Some(a), _) => {
                thens.clear();
                thens.push(a);
            }
            (None, Some(r2)) => find_actions_by_task(sched, r2, spec.task2, &mut thens),
            (None, None) => continue,
        }
        for &first in &firsts {
            for &then in &thens {
                let first = wake_on_change(sched, first, then);
                if can_interleave_actions(sched, first, then) {
                    order_actions(sched, first, then, spec.flags | INTERLEAVED);
                    interleave(sched, first, then, spec.flags);
                } else {
                    order_actions(sched, first, then, spec.flags);
                }
            }
        }
    }
    sched.orderings = specs;
    let mut depth = 0;
    for a in (0..sched.actions.len()).rev() {
        block_colocation_dependents(sched, a, &mut depth);
    }
    for a in (0..sched.actions.len()).rev() {
        update_action_for_orderings(sched, a, &mut depth);
    }
}

fn flag_bits(a: &Action) -> (bool, bool) {
    (a.optional, a.runnable)
}

/// Whether an ordering between two clones' actions goes instance by instance: the clone
/// whose instances move second (the `then` one, or the `first` one when stopping) must be
/// `interleave`d.
fn can_interleave_actions(sched: &Sched, first: usize, then: usize) -> bool {
    let (Some(fr), Some(tr)) = (sched.actions[first].rsc, sched.actions[then].rsc) else {
        return false;
    };
    if fr == tr
        || sched.rscs[fr].variant != Variant::Clone
        || sched.rscs[tr].variant != Variant::Clone
    {
        return false;
    }
    let decider = if matches!(sched.actions[then].task, Task::Stop | Task::Demote) {
        fr
    } else {
        tr
    };
    sched.rscs[decider].clone.is_some_and(|c| c.interleave)
}

/// The task an instance carries for a collective action: primitives have no milestones, so
/// `running` is their `start` and `stopped` their `stop`.
fn instance_task(sched: &Sched, instance: usize, task: Task) -> Task {
    if sched.rscs[instance].variant != Variant::Primitive {
        return task;
    }
    match task {
        Task::Running => Task::Start,
        Task::Stopped => Task::Stop,
        other => other,
    }
}

/// The instance's action for `task` (its first one, on `node` when given).
fn instance_action(
    sched: &Sched,
    instance: usize,
    task: Task,
    node: Option<usize>,
) -> Option<usize> {
    let node = node.filter(|_| sched.rscs[instance].variant == Variant::Primitive);
    sched.rscs[instance]
        .main_actions
        .iter()
        .copied()
        .find(|&a| {
            let action = &sched.actions[a];
            action.task == task
                && action.interval_ms == 0
                && (node.is_none() || action.node == node)
        })
}

/// Orders each instance of `then`'s clone after the instance of `first`'s clone on the same
/// node (the current one when stopping). An instance with no partner may not start when the
/// ordering requires `first`.
fn interleave(sched: &mut Sched, first: usize, then: usize, flags: u32) {
    let (Some(first_clone), Some(then_clone)) = (sched.actions[first].rsc, sched.actions[then].rsc)
    else {
        return;
    };
    let current = sched.actions[first].task == Task::Stopped;
    let then_task = sched.actions[then].task;
    let first_task = sched.actions[first].task;
    for then_instance in sched.rscs[then_clone].children.clone() {
        let partner =
            super::clone::compatible_instance_for(sched, then_instance, first_clone, current);
        let Some(first_instance) = partner else {
            if !current && flags & (UNRUNNABLE_FIRST_BLOCKS | FIRST_IMPLIES_THEN) != 0 {
                super::assign::assign_resource_with(sched, then_instance, None, true, true);
            }
            continue;
        };
        let Some(first_action) = instance_action(
            sched,
            first_instance,
            instance_task(sched, first_instance, first_task),
            None,
        ) else {
            continue;
        };
        let Some(then_action) = instance_action(sched, then_instance, then_task, None) else {
            continue;
        };
        order_actions(sched, first_action, then_action, flags);
    }
}

/// Takes back the placement of every placed instance of `then`'s clone that no longer has a
/// partner in `first`'s clone, when the ordering requires `first`: an instance of `first`
/// taken back after the orderings were made takes its partners down with it. Returns whether
/// any instance changed.
fn inhibit_unpartnered_instances(sched: &mut Sched, first: usize, then: usize, flags: u32) -> bool {
    if sched.actions[first].task == Task::Stopped
        || flags & (UNRUNNABLE_FIRST_BLOCKS | FIRST_IMPLIES_THEN) == 0
    {
        return false;
    }
    let (Some(first_clone), Some(then_clone)) = (sched.actions[first].rsc, sched.actions[then].rsc)
    else {
        return false;
    };
    let mut changed = false;
    for then_instance in sched.rscs[then_clone].children.clone() {
        if !super::clone::is_placed(sched, then_instance) {
            continue;
        }
        if super::clone::compatible_instance_for(sched, then_instance, first_clone, false).is_none()
        {
            super::assign::assign_resource_with(sched, then_instance, None, true, true);
            changed = true;
        }
    }
    changed
}

/// The flags of `action` as seen by an ordering: a group action is required when any member's
/// matching action is, and its milestones are unrunnable when a member's action is.
fn action_flags_for_ordering(sched: &mut Sched, action: usize) -> (bool, bool) {
    action_flags_on(sched, action, None)
}

/// The flags of `action` as seen from the other end of an ordering on `node` (Pacemaker's
/// `action_flags_for_ordering`): a clone action counts only its instances there, except that
/// it stays runnable when it is runnable anywhere.
fn flags_seen_from(sched: &mut Sched, action: usize, node: Option<usize>) -> (bool, bool) {
    let base = action_flags_on(sched, action, None);
    let is_clone = sched.actions[action]
        .rsc
        .is_some_and(|r| sched.rscs[r].variant == Variant::Clone);
    match node {
        Some(n) if is_clone => {
            let (optional, runnable) = action_flags_on(sched, action, Some(n));
            (optional, runnable || base.1)
        }
        _ => base,
    }
}

/// The node an ordering sees for `action`: its own, or for a group's start the group's
/// placement.
fn ordering_node(sched: &Sched, action: usize) -> Option<usize> {
    let a = &sched.actions[action];
    match a.rsc {
        Some(r) if a.task == Task::Start && sched.rscs[r].variant == Variant::Group => {
            sched.rscs[r].assigned
        }
        _ => a.node,
    }
}

fn action_flags_on(sched: &mut Sched, action: usize, on: Option<usize>) -> (bool, bool) {
    let Some(rsc) = sched.actions[action].rsc else {
        return flag_bits(&sched.actions[action]);
    };
    match sched.rscs[rsc].variant {
        Variant::Primitive => return flag_bits(&sched.actions[action]),
        Variant::Clone => {
            let node = on.or(sched.actions[action].node);
            return clone_action_flags(sched, rsc, action, node);
        }
        Variant::Group => {}
    }
    let mut optional = true;
    let mut runnable = true;
    let task = sched.actions[action].task;
    let member_task = match task {
        Task::Running => Task::Start,
        Task::Stopped => Task::Stop,
        other => other,
    };
    let node = on.or(sched.actions[action].node);
    // By index: only action flags change here, and this runs for every edge at a group.
    for i in 0..sched.rscs[rsc].children.len() {
        let member = sched.rscs[rsc].children[i];
        let member_action = sched.rscs[member]
            .main_actions
            .iter()
            .rev()
            .copied()
            .find(|&a| {
                sched.actions[a].task == member_task
                    && sched.actions[a].interval_ms == 0
                    && (node.is_none() || sched.actions[a].node == node)
            });
        match member_action {
            Some(ma) => {
                let (mo, mr) = flag_bits(&sched.actions[ma]);
                if optional && !mo {
                    optional = false;
                    sched.actions[action].optional = false;
                }
                if member_task != task && runnable && !mr {
                    runnable = false;
                    sched.actions[action].runnable = false;
                }
            }
            None => {
                if member_task != Task::Stop && member_task != Task::Demote {
                    runnable = false;
                }
            }
        }
    }
    (optional, runnable)
}

/// A clone action is required when any instance's is, and runnable when any instance's is.
fn clone_action_flags(
    sched: &mut Sched,
    clone: usize,
    action: usize,
    node: Option<usize>,
) -> (bool, bool) {
    let task = sched.actions[action].task;
    let mut optional = true;
    let mut any_runnable = false;
    for instance in sched.rscs[clone].children.clone() {
        let itask = instance_task(sched, instance, task);
        let Some(ia) = instance_action(sched, instance, itask, node) else {
            continue;
        };
        let (io, ir) = action_flags_on(sched, ia, node);
        if optional && !io {
            optional = false;
            sched.actions[action].optional = false;
        }
        any_runnable |= ir;
    }
    if !any_runnable && node.is_none() {
        sched.actions[action].runnable = false;
    }
    (optional, any_runnable)
}

fn reason_text(sched: &Sched, action: usize, runnable_flag: bool) -> String {
    let a = &sched.actions[action];
    let change = if runnable_flag {
        "unrunnable"
    } else {
        "required"
    };
    match (a.rsc, a.task, &a.note) {
        (Some(r), _, _) => format!("{change} {} {}", sched.rscs[r].id, a.task),
        (None, Task::OneOrMore, Some(name)) => format!("{change} {name}"),
        (None, _, _) => format!("{change} {}", a.task),
    }
}

/// Clears `optional` (or `runnable`) on `action` because of `because`, recording the reason.
fn clear_because(sched: &mut Sched, action: usize, runnable_flag: bool, because: usize) {
    let is_set = if runnable_flag {
        sched.actions[action].runnable
    } else {
        sched.actions[action].optional
    };
    if !is_set {
        return;
    }
    if runnable_flag {
        sched.actions[action].runnable = false;
    } else {
        sched.actions[action].optional = false;
    }
    if sched.actions[action].rsc != sched.actions[because].rsc {
        let text = reason_text(sched, because, runnable_flag);
        set_reason(sched, action, &text, false);
    }
}

#[allow(clippy::too_many_arguments)]
fn primitive_update(
    sched: &mut Sched,
    first: usize,
    then: usize,
    first_optional: bool,
    first_runnable: bool,
    filter_optional: bool,
    filter_runnable: bool,
    kind: u32,
    depth: &mut usize,
) -> u32 {
    let then_before = flag_bits(&sched.actions[then]);
    let first_before = flag_bits(&sched.actions[first]);
    if kind & ASYMMETRIC != 0 {
        handle_asymmetric(sched, first, then);
    }
    if kind & THEN_IMPLIES_FIRST != 0
        && !then_before.0
        && filter_optional
        && !first_optional
        && first_before.0
    {
        clear_because(sched, first, false, then);
    }
    if kind & UNRUNNABLE_FIRST_BLOCKS != 0
        && filter_runnable
        && sched.actions[then].runnable
        && !first_runnable
    {
        clear_because(sched, then, true, first);
    }
    if kind & FIRST_IMPLIES_THEN != 0
        && filter_optional
        && sched.actions[then].optional
        && !first_optional
    {
        clear_because(sched, then, false, first);
    }
    if kind & INTERMEDIATE_STOP != 0 {
        handle_restart_ordering(sched, first, then, filter_optional, filter_runnable);
    }
    let mut changed = 0;
    if then_before != flag_bits(&sched.actions[then]) {
        changed |= CHANGED_THEN;
        if let Some(r) = sched.actions[then].rsc
            && sched.rscs[r].parent.is_some()
        {
            update_action_for_orderings(sched, then, depth);
        }
    }
    if first_before != flag_bits(&sched.actions[first]) {
        changed |= CHANGED_FIRST;
    }
    changed
}

fn handle_asymmetric(sched: &mut Sched, first: usize, then: usize) {
    let Some(then_rsc) = sched.actions[then].rsc else {
        return;
    };
    if sched.actions[first].runnable {
        return;
    }
    if sched.actions[then].optional {
        let role = sched.rscs[then_rsc].orig_role;
        let task = sched.actions[then].task;
        if role <= Role::Stopped && task == Task::Stop {
            return;
        }
        let running = &sched.rscs[then_rsc].running_on;
        if role >= Role::Started
            && task == Task::Start
            && running.len() == 1
            && Some(running[0]) == sched.actions[then].node
        {
            return;
        }
    }
    clear_because(sched, then, false, first);
    clear_because(sched, then, true, first);
}

fn handle_restart_ordering(
    sched: &mut Sched,
    first: usize,
    then: usize,
    filter_optional: bool,
    filter_runnable: bool,
) {
    let then_rsc = sched.actions[then].rsc;
    let mut needed = false;
    if filter_optional && !sched.actions[then].optional {
        needed = true;
    }
    if filter_runnable
        && !sched.actions[then].runnable
        && then_rsc.is_some_and(|r| sched.rscs[r].managed)
        && sched.actions[first].rsc == then_rsc
    {
        needed = true;
    }
    if !needed {
        return;
    }
    if sched.actions[first].runnable {
        clear_because(sched, first, false, then);
    }
    if !sched.actions[then].optional {
        clear_because(sched, first, false, then);
    }
    if !sched.actions[first].optional && !sched.actions[first].runnable {
        clear_because(sched, then, true, first);
    }
}

/// Dispatches an update to the resource's method: for a group "then", the group's own action
/// and each member's matching action are updated.
#[allow(clippy::too_many_arguments)]
fn update(
    sched: &mut Sched,
    dispatch_rsc: usize,
    first: usize,
    then: usize,
    first_optional: bool,
    first_runnable: bool,
    filter_optional: bool,
    filter_runnable: bool,
    kind: u32,
    depth: &mut usize,
) -> u32 {
    let mut changed = primitive_update(
        sched,
        first,
        then,
        first_optional,
        first_runnable,
        filter_optional,
        filter_runnable,
        kind,
        depth,
    );
    if sched.rscs[dispatch_rsc].variant == Variant::Clone
        && let Some(then_rsc) = sched.actions[then].rsc
        && sched.rscs[then_rsc].variant == Variant::Clone
    {
        // Each instance's matching action follows too, when it can run at all.
        let task = sched.actions[then].task;
        let node = sched.actions[then].node;
        for instance in sched.rscs[then_rsc].children.clone() {
            let Some(ia) = instance_action(sched, instance, task, node) else {
                continue;
            };
            if !action_flags_for_ordering(sched, ia).1 {
                continue;
            }
            let c = update(
                sched,
                instance,
                first,
                ia,
                first_optional,
                first_runnable,
                filter_optional,
                filter_runnable,
                kind,
                depth,
            );
            if c & CHANGED_THEN != 0 {
                update_successors(sched, ia, depth);
            }
            changed |= c;
        }
    }
    if sched.rscs[dispatch_rsc].variant == Variant::Group
        && let Some(then_rsc) = sched.actions[then].rsc
        && sched.rscs[then_rsc].variant == Variant::Group
    {
        let task = sched.actions[then].task;
        let node = sched.actions[then].node;
        for member in sched.rscs[then_rsc].children.clone() {
            let member_action = sched.rscs[member]
                .main_actions
                .iter()
                .rev()
                .copied()
                .find(|&a| {
                    sched.actions[a].task == task
                        && sched.actions[a].interval_ms == 0
                        && (node.is_none() || sched.actions[a].node == node)
                });
            if let Some(ma) = member_action {
                changed |= primitive_update(
                    sched,
                    first,
                    ma,
                    first_optional,
                    first_runnable,
                    filter_optional,
                    filter_runnable,
                    kind,
                    depth,
                );
            }
        }
    }
    changed
}

fn update_for_ordering_flags(
    sched: &mut Sched,
    first: usize,
    then: usize,
    first_flags: (bool, bool),
    then_flags: (bool, bool),
    relation: u32,
    depth: &mut usize,
) -> u32 {
    let mut changed = 0;
    let (first_optional, first_runnable) = first_flags;
    let then_rsc = sched.actions[then].rsc;
    let first_rsc = sched.actions[first].rsc;
    if relation & FIRST_IMPLIES_THEN != 0 {
        if let Some(tr) = then_rsc {
            changed |= update(
                sched,
                tr,
                first,
                then,
                first_optional,
                true,
                true,
                false,
                FIRST_IMPLIES_THEN,
                depth,
            );
        } else if !first_optional && sched.actions[then].optional {
            sched.actions[then].optional = false;
            changed |= CHANGED_THEN;
        }
    }
    if relation & INTERMEDIATE_STOP != 0
        && let Some(tr) = then_rsc
    {
        changed |= update(
            sched,
            tr,
            first,
            then,
            first_optional,
            first_runnable,
            true,
            true,
            INTERMEDIATE_STOP,
            depth,
        );
    }
    if relation & THEN_IMPLIES_FIRST != 0 {
        if let Some(fr) = first_rsc {
            changed |= update(
                sched,
                fr,
                first,
                then,
                first_optional,
                first_runnable,
                true,
                false,
                THEN_IMPLIES_FIRST,
                depth,
            );
        } else if !first_optional && sched.actions[first].runnable {
            sched.actions[first].runnable = false;
            changed |= CHANGED_FIRST;
        }
    }
    if relation & UNRUNNABLE_FIRST_BLOCKS != 0 {
        if let Some(tr) = then_rsc {
            changed |= update(
                sched,
                tr,
                first,
                then,
                first_optional,
                first_runnable,
                false,
                true,
                UNRUNNABLE_FIRST_BLOCKS,
                depth,
            );
        } else if !first_runnable && sched.actions[then].runnable {
            sched.actions[then].runnable = false;
            changed |= CHANGED_THEN;
        }
    }
    if relation & ASYMMETRIC != 0
        && let Some(tr) = then_rsc
    {
        changed |= update(
            sched,
            tr,
            first,
            then,
            first_optional,
            first_runnable,
            false,
            true,
            ASYMMETRIC,
            depth,
        );
    }
    if relation & MIN_RUNNABLE != 0 && then_rsc.is_none() && first_runnable {
        // One more runnable instance: enough of them make `then` runnable.
        let a = &mut sched.actions[then];
        a.runnable_before += 1;
        if a.runnable_before >= a.min_runnable_before && !a.runnable {
            a.runnable = true;
            changed |= CHANGED_THEN;
        }
    }
    let _ = then_flags;
    if relation & (FIRST_IMPLIES_THEN | THEN_IMPLIES_FIRST | INTERMEDIATE_STOP) != 0
        && let Some(fr) = first_rsc
        && !sched.rscs[fr].managed
        && sched.rscs[fr].blocked
        && !sched.actions[first].runnable
        && sched.actions[first].task == Task::Stop
        && sched.actions[then].runnable
    {
        sched.actions[then].runnable = false;
        changed |= CHANGED_THEN;
    }
    changed
}

/// Pacemaker's `pcmk__update_action_for_orderings`: re-evaluates `then` against everything
/// ordered before it, cascading to neighbours whenever a flag changes. Flags only ever get
/// cleared, so this terminates; `depth` bounds the recursion on pathological inputs.
fn update_action_for_orderings(sched: &mut Sched, then: usize, depth: &mut usize) {
    const DEPTH_MAX: usize = 2_000;
    if *depth >= DEPTH_MAX {
        return;
    }
    *depth += 1;
    let last_flags = flag_bits(&sched.actions[then]);
    let mut changed = 0;
    let counts_before = sched.actions[then].min_runnable_before > 0;
    if counts_before {
        // Counted afresh over the edges below.
        sched.actions[then].runnable_before = 0;
        sched.actions[then].runnable = false;
    }
    // Edges are not added while flags propagate, so walking the lists by index is safe while
    // `sched` is mutated.
    let then_is_group = is_group_action(sched, then);
    let mut edge = sched.actions[then].before_head;
    while let Some(&e) = sched.edges.get(edge as usize) {
        edge = e.next_before;
        let (first, relation) = (e.first as usize, e.flags);
        if relation == 0 {
            continue;
        }
        if relation & INTERLEAVED != 0 {
            if inhibit_unpartnered_instances(sched, first, then, relation) {
                changed |= CHANGED_THEN;
            }
            continue;
        }
        // A required `then` abandons `first` (a required stop cancels an agent reload).
        if relation & THEN_CANCELS_FIRST != 0
            && !sched.actions[then].optional
            && let Some(r) = sched.actions[first].rsc
        {
            sched.actions[first].optional = true;
            if sched.actions[first].task == Task::ReloadAgent {
                sched.rscs[r].reload = false;
            }
        }
        // An edge that only orders (a probe before its start, the commonest edge) changes no
        // flag; reading group flags has side effects, so only edges between primitives skip.
        if relation & FLAG_CHANGING == 0 && !then_is_group && !is_group_action(sched, first) {
            continue;
        }
        changed &= !CHANGED_FIRST;
        let then_node = ordering_node(sched, then);
        let first_node = ordering_node(sched, first);
        let first_flags = flags_seen_from(sched, first, then_node);
        let then_flags = flags_seen_from(sched, then, first_node);
        changed |=
            update_for_ordering_flags(sched, first, then, first_flags, then_flags, relation, depth);
        if changed & CHANGED_FIRST != 0 {
            update_successors(sched, first, depth);
            update_action_for_orderings(sched, first, depth);
        }
    }
    if counts_before {
        if last_flags == flag_bits(&sched.actions[then]) {
            changed &= !CHANGED_THEN;
        } else {
            changed |= CHANGED_THEN;
        }
    }
    if changed & CHANGED_THEN != 0 {
        if last_flags.1 && !sched.actions[then].runnable {
            block_colocation_dependents(sched, then, depth);
        }
        update_action_for_orderings(sched, then, depth);
        update_successors(sched, then, depth);
    }
    *depth -= 1;
}

/// The relation bits [`update_for_ordering_flags`] acts on.
const FLAG_CHANGING: u32 = FIRST_IMPLIES_THEN
    | MIN_RUNNABLE
    | THEN_IMPLIES_FIRST
    | UNRUNNABLE_FIRST_BLOCKS
    | INTERMEDIATE_STOP
    | ASYMMETRIC;

fn is_group_action(sched: &Sched, action: usize) -> bool {
    sched.actions[action]
        .rsc
        .is_some_and(|r| sched.rscs[r].variant == Variant::Group)
}

/// Re-evaluates every action ordered after `first`, newest edge first.
fn update_successors(sched: &mut Sched, first: usize, depth: &mut usize) {
    let mut edge = sched.actions[first].after_head;
    while let Some(&e) = sched.edges.get(edge as usize) {
        edge = e.next_after;
        update_action_for_orderings(sched, e.then as usize, depth);
    }
}

fn top_level(sched: &Sched, mut rsc: usize) -> usize {
    while let Some(p) = sched.rscs[rsc].parent {
        rsc = p;
    }
    rsc
}

/// When a resource as a whole cannot start, whatever must run with it (mandatory colocation)
/// cannot start either (Pacemaker's `pcmk__block_colocation_dependents`).
fn block_colocation_dependents(sched: &mut Sched, action: usize, depth: &mut usize) {
    let a = &sched.actions[action];
    if a.runnable || a.task != Task::Start {
        return;
    }
    let Some(rsc) = a.rsc else { return };
    let top = top_level(sched, rsc);
    for &child in &sched.rscs[top].children {
        let child_start = sched.rscs[child]
            .main_actions
            .iter()
            .rev()
            .copied()
            .find(|&c| sched.actions[c].task == Task::Start);
        match child_start {
            Some(c) if !sched.actions[c].runnable => {}
            _ => return,
        }
    }
    let mut colocations = sched.rscs[top].with_this.clone();
    for &child in &sched.rscs[top].children {
        for &c in &sched.rscs[child].with_this {
            if sched.colocs[c].explicit && !colocations.contains(&c) {
                colocations.push(c);
            }
        }
    }
    for c in colocations {
        if !sched.colocs[c].score.is_infinity() {
            continue;
        }
        let dependent = sched.colocs[c].dependent;
        mark_start_blocked(sched, dependent, rsc, depth);
    }
}

fn mark_start_blocked(sched: &mut Sched, rsc: usize, because: usize, depth: &mut usize) {
    let reason = format!("colocation with {}", sched.rscs[because].id);
    let actions: Vec<usize> = sched.rscs[rsc].main_actions.iter().rev().copied().collect();
    for a in actions {
        if sched.actions[a].runnable && sched.actions[a].task == Task::Start {
            sched.actions[a].runnable = false;
            set_reason(sched, a, &reason, false);
            block_colocation_dependents(sched, a, depth);
            update_action_for_orderings(sched, a, depth);
        }
    }
    for child in sched.rscs[rsc].children.clone() {
        mark_start_blocked(sched, child, because, depth);
    }
}
