//! Clones: placing the instances (`rsc:0`, `rsc:1`, …) of a clone, colocations with a clone,
//! and the helpers the other phases need to treat a clone as the collective of its instances
//! (Pacemaker's `pcmk_sched_clone.c` and `pcmk_sched_instances.c`).

use std::cmp::Ordering;

use super::super::score::Score;
use super::assign::{
    add_dependent_scores, apply_coloc_score, assign, assign_resource_with, assign_with,
    current_node, sorted_nodes_preferring, unassign,
};
use super::unpack::{Sched, Variant};

/// The clone an instance (or a member of a cloned group) belongs to.
pub(super) fn clone_of(sched: &Sched, rsc: usize) -> Option<usize> {
    let mut cur = sched.rscs[rsc].parent;
    while let Some(p) = cur {
        if sched.rscs[p].variant == Variant::Clone {
            return Some(p);
        }
        cur = sched.rscs[p].parent;
    }
    None
}

/// Nodes a resource (or, for a collective, any of its primitives) runs on, first seen first.
pub(super) fn active_nodes(sched: &Sched, rsc: usize) -> Vec<usize> {
    let r = &sched.rscs[rsc];
    if r.variant == Variant::Primitive {
        return r.running_on.clone();
    }
    let mut out = Vec::new();
    for &child in &r.children {
        for n in active_nodes(sched, child) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// The node an instance counts as running on (its first member's for a cloned group).
fn instance_current(sched: &Sched, instance: usize) -> Option<usize> {
    match sched.rscs[instance].variant {
        Variant::Primitive => current_node(sched, instance),
        _ => active_nodes(sched, instance).first().copied(),
    }
}

/// Whether a resource or anything in it failed.
fn did_fail(sched: &Sched, rsc: usize) -> bool {
    sched.rscs[rsc].failed || sched.rscs[rsc].children.iter().any(|&c| did_fail(sched, c))
}

/// Whether a resource or anything in it is blocked.
fn is_blocked(sched: &Sched, rsc: usize) -> bool {
    sched.rscs[rsc].blocked
        || sched.rscs[rsc]
            .children
            .iter()
            .any(|&c| is_blocked(sched, c))
}

/// The instance number after the last colon (`rsc:3` is 3).
pub(super) fn instance_number(id: &str) -> u64 {
    id.rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Pacemaker's `pcmk__cmp_instance`: the order instances are placed in.
fn cmp_instance(sched: &Sched, clone: usize, a: usize, b: usize) -> Ordering {
    let nodes_a = active_nodes(sched, a);
    let nodes_b = active_nodes(sched, b);
    // Both active, one on more nodes: the less multiply active first.
    if !nodes_a.is_empty() && !nodes_b.is_empty() && nodes_a.len() != nodes_b.len() {
        return nodes_a.len().cmp(&nodes_b.len());
    }
    let allowed_here = |r: usize, node: Option<usize>| -> Option<usize> {
        node.filter(|&n| sched.rscs[r].allowed[n].is_some_and(|s| s.value() >= 0))
    };
    let current_a = instance_current(sched, a);
    let current_b = instance_current(sched, b);
    let node_a = allowed_here(a, current_a);
    let node_b = allowed_here(b, current_b);
    // Inactive or active where allowed, before active where no longer allowed.
    let ok_a = current_a.is_none() || node_a.is_some();
    let ok_b = current_b.is_none() || node_b.is_some();
    if ok_a != ok_b {
        return ok_b.cmp(&ok_a);
    }
    let priority = sched.rscs[b].priority.cmp(&sched.rscs[a].priority);
    if priority != Ordering::Equal {
        return priority;
    }
    let (node_a, node_b) = match (node_a, node_b) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => return Ordering::Greater,
        (Some(_), None) => return Ordering::Less,
        (Some(x), Some(y)) => (x, y),
    };
    let can_a = sched.nodes[node_a].is_available();
    let can_b = sched.nodes[node_b].is_available();
    if can_a != can_b {
        return can_b.cmp(&can_a);
    }
    // The clone must be allowed on the instance's node.
    let top = &sched.rscs[clone];
    let top_a = top.allowed[node_a].is_some();
    let top_b = top.allowed[node_b].is_some();
    match (top_a, top_b) {
        (false, false) => return Ordering::Equal,
        (false, true) => return Ordering::Greater,
        (true, false) => return Ordering::Less,
        (true, true) => {}
    }
    let counts = top.instance_counts[node_a].cmp(&top.instance_counts[node_b]);
    if counts != Ordering::Equal {
        return counts;
    }
    let failed = did_fail(sched, a).cmp(&did_fail(sched, b));
    if failed != Ordering::Equal {
        return failed;
    }
    instance_number(&sched.rscs[a].id).cmp(&instance_number(&sched.rscs[b].id))
}

/// Whether `instance` may be placed on `node`: not removed, the node usable, the clone allowed
/// there and below its per-node limit.
fn can_run_instance(sched: &Sched, clone: usize, instance: usize, node: usize) -> bool {
    if sched.rscs[instance].removed || !sched.nodes[node].is_available() {
        return false;
    }
    let c = &sched.rscs[clone];
    let Some(score) = c.allowed[node] else {
        return false;
    };
    let node_max = c.clone.map_or(1, |i| i.node_max);
    score.value() >= 0 && c.instance_counts[node] < node_max
}

/// Bans an instance (and its members) from the nodes it may not take.
fn ban_unavailable(sched: &mut Sched, clone: usize, instance: usize) {
    for node in 0..sched.nodes.len() {
        if sched.rscs[instance].allowed[node].is_none()
            || can_run_instance(sched, clone, instance, node)
        {
            continue;
        }
        sched.rscs[instance].allowed[node] = Some(Score::NEG_INFINITY);
        for child in sched.rscs[instance].children.clone() {
            if sched.rscs[child].allowed[node].is_some() {
                sched.rscs[child].allowed[node] = Some(Score::NEG_INFINITY);
            }
        }
    }
}

fn assign_instance(
    sched: &mut Sched,
    clone: usize,
    instance: usize,
    prefer: Option<usize>,
) -> Option<usize> {
    if sched.rscs[instance].assigning {
        return None;
    }
    ban_unavailable(sched, clone, instance);
    let chosen = assign_with(sched, instance, prefer, prefer.is_none());
    if let Some(n) = chosen
        && sched.rscs[clone].allowed[n].is_some()
    {
        sched.rscs[clone].instance_counts[n] += 1;
    }
    chosen
}

/// Placement scores of a resource and its children, to try a placement and take it back.
type Snapshot = Vec<(usize, Vec<Option<Score>>, Vec<Vec<(String, Score)>>)>;

fn snapshot(sched: &Sched, rsc: usize, out: &mut Snapshot) {
    let r = &sched.rscs[rsc];
    out.push((rsc, r.allowed.clone(), r.terms.clone()));
    for &child in &r.children {
        snapshot(sched, child, out);
    }
}

fn restore(sched: &mut Sched, saved: &Snapshot) {
    for (rsc, allowed, terms) in saved {
        sched.rscs[*rsc].allowed = allowed.clone();
        sched.rscs[*rsc].terms = terms.clone();
    }
}

/// Tries to keep an active instance on its current node; gives the node up when other nodes
/// are preferred more strongly (Pacemaker's `assign_instance_early`).
fn assign_instance_early(
    sched: &mut Sched,
    clone: usize,
    instance: usize,
    current: usize,
    available: usize,
) -> bool {
    let usable = sched.rscs[instance].allowed[current].is_some_and(|s| s.value() >= 0)
        && sched.nodes[current].is_available();
    if !usable {
        return false;
    }
    let mut saved = Vec::new();
    snapshot(sched, instance, &mut saved);
    let counts = sched.rscs[clone].instance_counts.clone();
    let mut reserved = 0;
    let mut chosen = None;
    while reserved < available {
        chosen = assign_instance(sched, clone, instance, Some(current));
        if chosen == Some(current) {
            break;
        }
        restore(sched, &saved);
        if chosen.is_none() {
            sched.rscs[instance].unassigned = true;
            break;
        }
        // The chosen node keeps the instance it counted; try again for the current one.
        reserved += 1;
        unassign(sched, instance);
        chosen = None;
    }
    sched.rscs[clone].instance_counts = counts;
    match chosen {
        Some(n) => {
            sched.rscs[clone].instance_counts[n] += 1;
            true
        }
        None => false,
    }
}

/// An active, healthy, unplaced instance's current node, when still usable and not already
/// holding its share of instances.
fn preferred_node(sched: &Sched, clone: usize, instance: usize, optimal: usize) -> Option<usize> {
    let r = &sched.rscs[instance];
    if active_nodes(sched, instance).is_empty() || !r.unassigned || r.failed {
        return None;
    }
    let node = instance_current(sched, instance)?;
    if !sched.nodes[node].is_available()
        || sched.rscs[instance].allowed[node].is_none_or(|s| s.value() < 0)
    {
        return None;
    }
    if sched.rscs[clone].allowed[node].is_some()
        && sched.rscs[clone].instance_counts[node] >= optimal
    {
        return None;
    }
    Some(node)
}

/// Places a clone: its primaries first, its dependents' preferences folded in, then the
/// instances, active ones on their current nodes where possible.
pub(super) fn assign_clone(sched: &mut Sched, clone: usize) -> Option<usize> {
    if !sched.rscs[clone].unassigned || sched.rscs[clone].assigning {
        return None;
    }
    sched.rscs[clone].assigning = true;
    for c in sched.rscs[clone].this_with.clone() {
        let primary = sched.colocs[c].primary;
        assign(sched, primary);
    }
    for c in sched.rscs[clone].with_this.clone() {
        add_dependent_scores(sched, c, clone);
    }
    let mut instances = sched.rscs[clone].children.clone();
    instances.sort_by(|&a, &b| cmp_instance(sched, clone, a, b));
    sched.rscs[clone].children = instances.clone();
    let info = sched.rscs[clone].clone.expect("a clone has clone settings");
    let max_total = info.max;
    sched.rscs[clone].instance_counts = vec![0; sched.nodes.len()];
    let available_nodes = (0..sched.nodes.len())
        .filter(|&n| sched.rscs[clone].allowed[n].is_some() && sched.nodes[n].is_available())
        .count();
    let optimal = max_total.checked_div(available_nodes).unwrap_or(1).max(1);
    let mut assigned = 0;
    for &instance in &instances {
        if assigned >= max_total {
            break;
        }
        if !sched.rscs[instance].unassigned {
            continue;
        }
        let available = max_total - assigned;
        if let Some(current) = preferred_node(sched, clone, instance, optimal)
            && assign_instance_early(sched, clone, instance, current, available)
        {
            assigned += 1;
        }
    }
    for &instance in &instances {
        if !sched.rscs[instance].unassigned {
            continue;
        }
        if assigned >= max_total {
            sched.resource_location_all(
                instance,
                Score::NEG_INFINITY,
                "clone-max instances already placed",
            );
            assign_resource_with(sched, instance, None, true, true);
        } else if assign_instance(sched, clone, instance, None).is_some() {
            assigned += 1;
        }
    }
    let c = &mut sched.rscs[clone];
    c.unassigned = false;
    c.assigning = false;
    None
}

/// Where an instance is placed (its first member's node for a cloned group), unless blocked.
fn placed_node(sched: &Sched, instance: usize) -> Option<usize> {
    if is_blocked(sched, instance) {
        return None;
    }
    match sched.rscs[instance].variant {
        Variant::Primitive => sched.rscs[instance].assigned,
        _ => sched.rscs[instance]
            .children
            .first()
            .and_then(|&m| sched.rscs[m].assigned),
    }
}

/// Whether an instance (for a cloned group, its first member) is placed on a node.
pub(super) fn is_placed(sched: &Sched, instance: usize) -> bool {
    match sched.rscs[instance].variant {
        Variant::Primitive => sched.rscs[instance].assigned.is_some(),
        _ => sched.rscs[instance]
            .children
            .first()
            .is_some_and(|&m| sched.rscs[m].assigned.is_some()),
    }
}

/// Whether a colocation between two clones goes instance by instance.
fn can_interleave(sched: &Sched, coloc: usize) -> bool {
    let c = &sched.colocs[coloc];
    let (Some(dep), Some(pri)) = (sched.rscs[c.dependent].clone, sched.rscs[c.primary].clone)
    else {
        return false;
    };
    dep.interleave && dep.node_max == pri.node_max
}

/// The instance of `clone` placed on the best node `dependent` could take.
fn compatible_instance(sched: &Sched, dependent: usize, clone: usize) -> Option<usize> {
    let on = |node: usize| {
        sched.rscs[clone]
            .children
            .iter()
            .copied()
            .find(|&i| placed_node(sched, i) == Some(node))
    };
    if let Some(node) = sched.rscs[dependent].assigned {
        return on(node);
    }
    // The dependent's nodes in the order it would choose them (score, then the nodes with
    // fewer resources placed so far, then name), with no node preferred for running it.
    sorted_nodes_preferring(sched, dependent, None)
        .into_iter()
        .find_map(on)
}

/// The instance of `clone` on the node `instance` (of another clone) is on: the current nodes
/// when `current`, else the placements.
pub(super) fn compatible_instance_for(
    sched: &Sched,
    instance: usize,
    clone: usize,
    current: bool,
) -> Option<usize> {
    if current {
        let node = instance_current(sched, instance)?;
        return sched.rscs[clone]
            .children
            .iter()
            .copied()
            .find(|&i| !is_blocked(sched, i) && instance_current(sched, i) == Some(node));
    }
    let placed = match sched.rscs[instance].variant {
        Variant::Primitive => instance,
        _ => *sched.rscs[instance].children.first()?,
    };
    compatible_instance(sched, placed, clone)
}

/// Applies colocation `coloc` of `dependent` (a primitive) with the clone `primary`.
pub(super) fn apply_coloc_with_clone(
    sched: &mut Sched,
    dependent: usize,
    primary: usize,
    coloc: usize,
) {
    if sched.rscs[primary].unassigned {
        return;
    }
    let score = sched.colocs[coloc].score;
    if can_interleave(sched, coloc) {
        match compatible_instance(sched, dependent, primary) {
            Some(instance) => apply_coloc_score(sched, dependent, instance, coloc),
            None if score.is_infinity() => {
                assign_resource_with(sched, dependent, None, true, true);
            }
            None => {}
        }
        return;
    }
    if score.is_infinity() {
        // Only where the clone has unblocked instances.
        let nodes: Vec<usize> = sched.rscs[primary]
            .children
            .iter()
            .filter_map(|&i| placed_node(sched, i))
            .collect();
        let id = sched.rscs[primary].id.clone();
        for node in 0..sched.nodes.len() {
            if sched.rscs[dependent].allowed[node].is_some() && !nodes.contains(&node) {
                sched.rscs[dependent].allowed[node] = Some(Score::NEG_INFINITY);
                super::unpack::push_term(&mut sched.rscs[dependent].terms, node, || {
                    (format!("no instance of {id} here"), Score::NEG_INFINITY)
                });
            }
        }
        return;
    }
    for instance in sched.rscs[primary].children.clone() {
        apply_coloc_score(sched, dependent, instance, coloc);
    }
}

#[cfg(test)]
mod tests {
    //! Clone rules on small CIBs; each expectation was checked against `crm_simulate`.

    use crate::crm::scheduler::{Transition, simulate};
    use crate::crm::xml::parse_cib;

    /// A CIB with fencing off, `nodes` online, `resources` and `constraints` as given, and
    /// `history[i]` inside node i's `lrm_resources`.
    fn cib(nodes: &[&str], resources: &str, constraints: &str, history: &[&str]) -> String {
        let mut node_list = String::new();
        let mut states = String::new();
        for (i, name) in nodes.iter().enumerate() {
            let id = i + 1;
            let lrm = history.get(i).copied().unwrap_or("");
            node_list.push_str(&format!(r#"<node id="{id}" uname="{name}"/>"#));
            states.push_str(&format!(
                r#"<node_state id="{id}" uname="{name}" in_ccm="true" crmd="online" join="member" expected="member"><lrm><lrm_resources>{lrm}</lrm_resources></lrm></node_state>"#
            ));
        }
        format!(
            r#"<cib have-quorum="1"><configuration><crm_config><cluster_property_set id="o">
<nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes>{node_list}</nodes><resources>{resources}</resources>
<constraints>{constraints}</constraints></configuration><status>{states}</status></cib>"#
        )
    }

    /// A successful start of the lsb resource `id`, as the history records it.
    fn started(id: &str, call: u32) -> String {
        format!(
            r#"<lrm_resource id="{id}" class="lsb" type="dummy"><lrm_rsc_op id="{id}_last_0" operation_key="{id}_start_0" operation="start" call-id="{call}" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>"#
        )
    }

    /// A clone of the lsb primitive `child` with the given meta attributes.
    fn clone(id: &str, child: &str, meta: &[(&str, &str)]) -> String {
        let pairs: String = meta
            .iter()
            .map(|(k, v)| format!(r#"<nvpair id="{id}-{k}" name="{k}" value="{v}"/>"#))
            .collect();
        format!(
            r#"<clone id="{id}"><meta_attributes id="{id}-m">{pairs}</meta_attributes><primitive id="{child}" class="lsb" type="dummy"/></clone>"#
        )
    }

    fn run(xml: &str) -> Transition {
        simulate(&parse_cib(xml).unwrap(), 1_800_000_000)
    }

    fn summary(t: &Transition) -> Vec<String> {
        t.summary
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    /// An interleaved instance looks for its partner over its nodes in placement order: score,
    /// then fewer resources already placed, then name.
    #[test]
    fn interleaved_partner_is_sought_on_the_least_loaded_node_first() {
        let resources = format!(
            r#"<primitive id="p" class="lsb" type="dummy"/>{}{}"#,
            clone("b-clone", "b", &[("clone-max", "2")]),
            clone(
                "a-clone",
                "a",
                &[("clone-max", "1"), ("interleave", "true")]
            ),
        );
        let constraints =
            r#"<rsc_colocation id="a-with-b" rsc="a-clone" with-rsc="b-clone" score="INFINITY"/>"#;
        let t = run(&cib(&["node1", "node2"], &resources, constraints, &[]));
        // node1 holds p and b:1, node2 only b:0: a:0 joins b:0.
        assert_eq!(
            summary(&t),
            [
                "Start p ( node1 )",
                "Start b:0 ( node2 )",
                "Start b:1 ( node1 )",
                "Start a:0 ( node2 )"
            ]
        );
    }

    /// An instance taken back after the orderings were made (no partner in a stopped clone)
    /// takes its interleaved dependents down too, whatever order the constraints come in.
    #[test]
    fn unplaced_instances_take_their_interleaved_dependents_down() {
        let resources = format!(
            "{}{}{}",
            clone(
                "base-clone",
                "base",
                &[("interleave", "true"), ("target-role", "Stopped")]
            ),
            clone("mid-clone", "mid", &[("interleave", "true")]),
            clone("top-clone", "top", &[("interleave", "true")]),
        );
        let constraints = r#"<rsc_order id="mid-then-top" first="mid-clone" then="top-clone"/>
<rsc_order id="base-then-mid" first="base-clone" then="mid-clone"/>"#;
        let t = run(&cib(&["node1", "node2"], &resources, constraints, &[]));
        assert_eq!(summary(&t), Vec::<String>::new());
        assert!(t.placements.iter().all(|p| p.node.is_none()));
    }

    /// An ordering after a clone starts from its `running` milestone, yet a change of the
    /// clone's `start` (found unrunnable) must still reach the ordered clone.
    #[test]
    fn a_clone_that_cannot_start_stops_the_clones_ordered_after_it() {
        let resources = format!(
            "{}{}{}",
            clone("q-clone", "q", &[("target-role", "Stopped")]),
            clone("k-clone", "k", &[]),
            clone("g-clone", "g", &[]),
        );
        let constraints = r#"<rsc_order id="q-then-k" first="q-clone" then="k-clone"/>
<rsc_order id="k-then-g" first="k-clone" then="g-clone"/>"#;
        let history = [started("q", 1), started("k", 2), started("g", 3)].concat();
        let t = run(&cib(&["node1"], &resources, constraints, &[&history]));
        assert_eq!(
            summary(&t),
            [
                "Stop q:0 ( node1 ) due to node availability",
                "Stop k:0 ( node1 ) due to unrunnable q-clone running",
                "Stop g:0 ( node1 ) due to required k-clone running"
            ]
        );
    }

    /// A dependent's ban does not ban the clone it is colocated with: the clone keeps a zero
    /// score there.
    #[test]
    fn a_dependents_ban_leaves_a_clone_in_place() {
        let resources = format!(
            r#"<primitive id="svc" class="lsb" type="dummy"/>{}"#,
            clone("t-clone", "t", &[])
        );
        let constraints = r#"<rsc_location id="svc-not-node1" rsc="svc" node="node1" score="-INFINITY"/>
<rsc_colocation id="svc-with-t" rsc="svc" with-rsc="t-clone" score="INFINITY"/>"#;
        let history = [started("t", 1), started("t", 2)];
        let t = run(&cib(
            &["node1", "node2"],
            &resources,
            constraints,
            &[&history[0], &history[1]],
        ));
        assert_eq!(summary(&t), ["Start svc ( node2 )"]);
    }

    /// A positive clone score that a dependent's preference would turn negative ends at 1.
    #[test]
    fn a_dependents_ban_turns_a_clones_preference_into_1() {
        let resources = format!(
            r#"<primitive id="svc" class="lsb" type="dummy"/>{}"#,
            clone("t-clone", "t", &[("clone-max", "1")])
        );
        let constraints = r#"<rsc_location id="svc-not-node1" rsc="svc" node="node1" score="-INFINITY"/>
<rsc_location id="t-node1" rsc="t-clone" node="node1" score="50"/>
<rsc_location id="t-node2" rsc="t-clone" node="node2" score="10"/>
<rsc_colocation id="svc-with-t" rsc="svc" with-rsc="t-clone" score="INFINITY"/>"#;
        let t = run(&cib(
            &["node1", "node2", "node3"],
            &resources,
            constraints,
            &[],
        ));
        let scores = t.scores_text();
        for line in [
            "pcmk__clone_assign: t-clone allocation score on node1: 1",
            "pcmk__clone_assign: t-clone allocation score on node2: 10",
            "pcmk__clone_assign: t-clone allocation score on node3: 0",
        ] {
            assert!(scores.contains(line), "{line} missing from\n{scores}");
        }
        assert_eq!(summary(&t), ["Start svc ( node2 )", "Start t:0 ( node2 )"]);
    }
}
