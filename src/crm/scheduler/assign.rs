//! Phase 2: node scores and placement. Location constraints, stickiness and fail-count bans
//! first; then each resource in priority order is placed: its colocation primaries before it,
//! mandatory colocations before optional ones, dependents' preferences folded in scaled by
//! score/INFINITY, and the best node chosen with Pacemaker's tie-breaks (score, fewer
//! resources already placed, current node, name).

use super::super::score::{INFINITY, Score};
use super::task::Task;
use super::unpack::{NoQuorum, Role, Sched, Variant, push_term};
use super::utilization::Placement;

pub(super) fn apply_node_criteria(sched: &mut Sched) {
    let locations = std::mem::take(&mut sched.locations);
    for location in &locations {
        apply_location(sched, location.rsc, &location.nodes, &location.id);
    }
    sched.locations = locations;
    for r in 0..sched.rscs.len() {
        apply_stickiness(sched, r);
    }
    for node in 0..sched.nodes.len() {
        for r in 0..sched.rscs.len() {
            if sched.rscs[r].variant == Variant::Primitive {
                check_failure_threshold(sched, r, node);
            }
        }
    }
}

fn apply_location(sched: &mut Sched, rsc: usize, nodes: &[(usize, Score)], id: &str) {
    let tag = format!("location {id}");
    add_location_scores(sched, rsc, nodes, &tag);
    if sched.rscs[rsc].variant == Variant::Clone {
        for instance in sched.rscs[rsc].children.clone() {
            apply_location(sched, instance, nodes, id);
        }
    }
    if sched.rscs[rsc].variant == Variant::Group {
        let children = sched.rscs[rsc].children.clone();
        for (i, child) in children.into_iter().enumerate() {
            if i == 0 {
                apply_location(sched, child, nodes, id);
            } else {
                // Later members only learn that the nodes are allowed; the first member carries
                // the preference and the group colocation passes it on.
                let zeros: Vec<(usize, Score)> =
                    nodes.iter().map(|&(n, _)| (n, Score::ZERO)).collect();
                add_location_scores(sched, child, &zeros, &tag);
            }
        }
    }
}

fn add_location_scores(sched: &mut Sched, rsc: usize, nodes: &[(usize, Score)], tag: &str) {
    for &(node, score) in nodes {
        let r = &mut sched.rscs[rsc];
        let current = r.allowed[node].unwrap_or(Score::ZERO);
        r.allowed[node] = Some(current + score);
        if score != Score::ZERO || !sched.options.symmetric {
            push_term(&mut r.terms, node, || (tag.to_string(), score));
        }
    }
}

fn apply_stickiness(sched: &mut Sched, rsc: usize) {
    let r = &sched.rscs[rsc];
    if r.variant != Variant::Primitive || !r.managed || r.stickiness < 1 || r.running_on.len() != 1
    {
        return;
    }
    let node = r.running_on[0];
    if !sched.options.symmetric && r.allowed[node].is_none() {
        return;
    }
    let score = Score::new(r.stickiness);
    sched.resource_location(rsc, node, score, "stickiness (running here)");
}

fn check_failure_threshold(sched: &mut Sched, rsc: usize, node: usize) {
    let clearing = sched.rscs[rsc].main_actions.iter().any(|&a| {
        sched.actions[a].task == Task::ClearFailcount && sched.actions[a].node == Some(node)
    });
    if clearing {
        return;
    }
    let r = &sched.rscs[rsc];
    if r.migration_threshold == 0 || r.ignore_failure {
        return;
    }
    let count = sched.fail_count(rsc, node, true);
    if count <= 0 {
        return;
    }
    let threshold = sched.rscs[rsc].migration_threshold;
    // A failed instance of an anonymous clone keeps the whole clone off the node.
    let banned = super::unpack::ban_target(sched, rsc);
    if threshold - count <= 0 {
        let text = format!(
            "fail count {} >= migration-threshold {}",
            Score::new(count),
            Score::new(threshold)
        );
        sched.resource_location(banned, node, Score::NEG_INFINITY, &text);
    }
}

pub(super) fn assign_resources(sched: &mut Sched) {
    sched.with_this_cache = vec![None; sched.rscs.len()];
    // Node states do not change while resources are placed.
    sched.available = sched.nodes.iter().map(|n| n.is_available()).collect();
    super::utilization::sort_resources(sched);
    let order = sched.order.clone();
    for r in order {
        assign(sched, r);
    }
}

pub(super) fn assign(sched: &mut Sched, rsc: usize) -> Option<usize> {
    assign_with(sched, rsc, None, true)
}

/// Places `rsc`, on `prefer` when that is as good as the best node. Without `stop_if_fail`
/// a failed placement leaves roles and actions alone, so it can be retried (clone instances
/// tried on their current node).
pub(super) fn assign_with(
    sched: &mut Sched,
    rsc: usize,
    prefer: Option<usize>,
    stop_if_fail: bool,
) -> Option<usize> {
    match sched.rscs[rsc].variant {
        Variant::Group => assign_group(sched, rsc, prefer, stop_if_fail),
        Variant::Primitive => assign_primitive(sched, rsc, prefer, stop_if_fail),
        Variant::Clone => super::clone::assign_clone(sched, rsc),
    }
}

fn assign_group(
    sched: &mut Sched,
    rsc: usize,
    prefer: Option<usize>,
    stop_if_fail: bool,
) -> Option<usize> {
    if !sched.rscs[rsc].unassigned {
        return sched.rscs[rsc].assigned;
    }
    if sched.rscs[rsc].assigning {
        return None;
    }
    let children = sched.rscs[rsc].children.clone();
    if children.is_empty() {
        sched.rscs[rsc].unassigned = false;
        return None;
    }
    sched.rscs[rsc].assigning = true;
    sched.rscs[rsc].orig_role = sched.rscs[children[0]].orig_role;
    let mut first = None;
    for child in &children {
        let node = assign_with(sched, *child, prefer, stop_if_fail);
        if first.is_none() {
            first = node;
        }
    }
    let first_next = sched.rscs[children[0]].next_role;
    let g = &mut sched.rscs[rsc];
    g.next_role = first_next;
    g.assigning = false;
    g.unassigned = false;
    g.assigned = first;
    first
}

/// "This with" colocations of a primitive: its own, then its group's when it is the first
/// member (plus the other members' explicit ones), sorted by primary priority.
pub(super) fn this_with_colocations(sched: &Sched, rsc: usize) -> Vec<usize> {
    let mut list = sched.rscs[rsc].this_with.clone();
    if let Some(parent) = sched.rscs[rsc].parent
        && sched.rscs[parent].variant == Variant::Clone
    {
        // Every instance of a clone carries the clone's colocations.
        for &c in &sched.rscs[parent].this_with {
            super::unpack::insert_sorted(sched, &mut list, c, false);
        }
        return list;
    }
    if let Some(parent) = sched.rscs[rsc].parent {
        let children = &sched.rscs[parent].children;
        if children.first() == Some(&rsc) {
            for &c in &sched.rscs[parent].this_with {
                super::unpack::insert_sorted(sched, &mut list, c, false);
            }
            // A cloned group's first member carries the clone's too.
            if let Some(clone) = sched.rscs[parent].parent {
                for &c in &sched.rscs[clone].this_with {
                    super::unpack::insert_sorted(sched, &mut list, c, false);
                }
            }
            for &member in children {
                if member == rsc {
                    continue;
                }
                for &c in &sched.rscs[member].this_with {
                    if sched.colocs[c].explicit {
                        super::unpack::insert_sorted(sched, &mut list, c, false);
                    }
                }
            }
        } else {
            for &member in children {
                if member == rsc {
                    break;
                }
                if !sched.rscs[member].managed {
                    for &c in &sched.rscs[parent].this_with {
                        if sched.colocs[c].score.is_infinity() {
                            super::unpack::insert_sorted(sched, &mut list, c, false);
                        }
                    }
                    break;
                }
            }
        }
    }
    list
}

/// "With this" colocations (dependents) of a primitive: its own, then its group's when it is the
/// last member (plus the other members' explicit ones).
pub(super) fn with_this_colocations(sched: &Sched, rsc: usize) -> Vec<usize> {
    let mut list = sched.rscs[rsc].with_this.clone();
    if let Some(parent) = sched.rscs[rsc].parent
        && sched.rscs[parent].variant == Variant::Clone
    {
        for &c in &sched.rscs[parent].with_this {
            super::unpack::insert_sorted(sched, &mut list, c, true);
        }
        return list;
    }
    if let Some(parent) = sched.rscs[rsc].parent {
        let children = &sched.rscs[parent].children;
        if children.last() == Some(&rsc) {
            for &c in &sched.rscs[parent].with_this {
                super::unpack::insert_sorted(sched, &mut list, c, true);
            }
            if let Some(clone) = sched.rscs[parent].parent {
                for &c in &sched.rscs[clone].with_this {
                    super::unpack::insert_sorted(sched, &mut list, c, true);
                }
            }
            for &member in children {
                if member == rsc {
                    continue;
                }
                for &c in &sched.rscs[member].with_this {
                    if sched.colocs[c].explicit {
                        super::unpack::insert_sorted(sched, &mut list, c, true);
                    }
                }
            }
        }
    }
    list
}

fn is_mandatory(score: Score) -> bool {
    score.is_infinity() || score.is_neg_infinity()
}

fn assign_primitive(
    sched: &mut Sched,
    rsc: usize,
    prefer: Option<usize>,
    stop_if_fail: bool,
) -> Option<usize> {
    if let Some(parent) = sched.rscs[rsc].parent
        && !sched.rscs[parent].assigning
    {
        assign_with(sched, parent, prefer, stop_if_fail);
    }
    if !sched.rscs[rsc].unassigned {
        return sched.rscs[rsc].assigned;
    }
    if sched.rscs[rsc].assigning {
        return None;
    }
    sched.rscs[rsc].assigning = true;
    let this_with = this_with_colocations(sched, rsc);
    let with_this = with_this_colocations(sched, rsc);
    for &c in &this_with {
        if is_mandatory(sched.colocs[c].score) {
            apply_this_with(sched, c, rsc);
        }
    }
    for &c in &with_this {
        if is_mandatory(sched.colocs[c].score) {
            add_dependent_scores(sched, c, rsc);
        }
    }
    for &c in &this_with {
        if !is_mandatory(sched.colocs[c].score) {
            apply_this_with(sched, c, rsc);
        }
    }
    for &c in &with_this {
        if !is_mandatory(sched.colocs[c].score) {
            add_dependent_scores(sched, c, rsc);
        }
    }
    if sched.rscs[rsc].next_role == Role::Stopped {
        sched.resource_location_all(rsc, Score::NEG_INFINITY, "target-role Stopped");
    } else if sched.rscs[rsc].next_role > sched.rscs[rsc].orig_role
        && !sched.options.quorate
        && sched.options.no_quorum == NoQuorum::Freeze
    {
        sched.rscs[rsc].next_role = sched.rscs[rsc].orig_role;
    }
    if sched.options.fencing_enabled && !sched.options.have_fencing {
        sched.rscs[rsc].managed = false;
    }
    if !sched.rscs[rsc].managed {
        sched.rscs[rsc].next_role = sched.rscs[rsc].orig_role;
        let current = current_node(sched, rsc);
        assign_resource_with(sched, rsc, current, true, stop_if_fail);
    } else if sched.options.stop_all {
        if stop_if_fail {
            sched.rscs[rsc].stop_reason = Some("stop-all-resources".into());
        }
        assign_resource_with(sched, rsc, None, true, stop_if_fail);
    } else {
        assign_best_node(sched, rsc, prefer, stop_if_fail);
    }
    sched.rscs[rsc].assigning = false;
    sched.rscs[rsc].assigned
}

/// The node a resource is considered running on (first clean one when several).
pub(super) fn current_node(sched: &Sched, rsc: usize) -> Option<usize> {
    let running = &sched.rscs[rsc].running_on;
    running
        .iter()
        .copied()
        .find(|&n| !sched.nodes[n].unclean)
        .or_else(|| running.first().copied())
}

fn apply_this_with(sched: &mut Sched, coloc: usize, rsc: usize) {
    let primary = sched.colocs[coloc].primary;
    let score = sched.colocs[coloc].score;
    let archive = if score.value() < 0 && !score.is_neg_infinity() {
        Some((
            sched.rscs[rsc].allowed.clone(),
            sched.rscs[rsc].terms.clone(),
        ))
    } else {
        None
    };
    if sched.rscs[primary].unassigned {
        assign(sched, primary);
    }
    apply_coloc_score(sched, rsc, primary, coloc);
    if let Some((allowed, terms)) = archive
        && !any_node_available(sched, &sched.rscs[rsc].allowed)
    {
        sched.rscs[rsc].allowed = allowed;
        sched.rscs[rsc].terms = terms;
    }
}

/// Applies a colocation on behalf of the dependent primitive `dependent`, whose primary may be
/// a group (then its first or, for mandatory ones, last member stands for it).
pub(super) fn apply_coloc_score(sched: &mut Sched, dependent: usize, primary: usize, coloc: usize) {
    let primary = match sched.rscs[primary].variant {
        Variant::Clone => {
            if sched.rscs[dependent].unassigned {
                super::clone::apply_coloc_with_clone(sched, dependent, primary, coloc);
            }
            return;
        }
        Variant::Group => {
            if sched.rscs[primary].unassigned {
                return;
            }
            let children = &sched.rscs[primary].children;
            let member = if sched.colocs[coloc].score.is_infinity() {
                children.last()
            } else {
                children.first()
            };
            match member {
                Some(&m) => m,
                None => return,
            }
        }
        Variant::Primitive => primary,
    };
    if sched.rscs[primary].unassigned || !sched.rscs[dependent].unassigned {
        return;
    }
    apply_coloc_to_scores(sched, dependent, primary, coloc);
}

fn apply_coloc_to_scores(sched: &mut Sched, dependent: usize, primary: usize, coloc: usize) {
    let score = sched.colocs[coloc].score;
    let primary_node = sched.rscs[primary].assigned;
    if primary_node.is_none() && score.value() < 0 {
        return;
    }
    let primary_id = &sched.rscs[sched.colocs[coloc].primary].id;
    let mut work = sched.rscs[dependent].allowed.clone();
    let mut terms = sched.rscs[dependent].terms.clone();
    for (node, slot) in work.iter_mut().enumerate() {
        let Some(current) = *slot else { continue };
        match primary_node {
            None => {
                let delta = Score::new(-score.value());
                *slot = Some(delta + current);
                push_term(&mut terms, node, || {
                    (format!("{primary_id} is not running (colocation)"), delta)
                });
            }
            Some(p) if p == node => {
                if !score.is_infinity() {
                    *slot = Some(score + current);
                    push_term(&mut terms, node, || {
                        (format!("colocated with {primary_id}"), score)
                    });
                }
            }
            Some(_) => {
                if score.is_infinity() {
                    *slot = Some(Score::NEG_INFINITY);
                    push_term(&mut terms, node, || {
                        (
                            format!("must run with {primary_id}, which is elsewhere"),
                            Score::NEG_INFINITY,
                        )
                    });
                }
            }
        }
    }
    if is_mandatory(score) || any_node_available(sched, &work) {
        sched.rscs[dependent].allowed = work;
        sched.rscs[dependent].terms = terms;
    }
}

fn any_node_available(sched: &Sched, allowed: &[Option<Score>]) -> bool {
    allowed
        .iter()
        .enumerate()
        .any(|(n, s)| s.is_some_and(|s| s.value() >= 0) && sched.available[n])
}

pub(super) fn add_dependent_scores(sched: &mut Sched, coloc: usize, primary: usize) {
    if !sched.colocs[coloc].influence {
        return;
    }
    let dependent = sched.colocs[coloc].dependent;
    let factor = sched.colocs[coloc].score.value() as f32 / INFINITY as f32;
    let mut nodes = sched.rscs[primary].allowed.clone();
    let mut terms = sched.rscs[primary].terms.clone();
    // A clone takes from its dependents only what keeps a node's score from turning negative:
    // one instance somewhere the dependent avoids must not ban the whole clone there.
    let mut fold = Fold {
        factor,
        label: dependent,
        marked: if sched.rscs[primary].variant == Variant::Clone {
            Some(vec![false; nodes.len()])
        } else {
            None
        },
    };
    if add_colocated_node_scores(sched, dependent, &mut nodes, &mut terms, coloc, &mut fold) {
        sched.rscs[primary].allowed = nodes;
        sched.rscs[primary].terms = terms;
    }
}

/// How one resource's preferences are folded into another's node scores.
struct Fold {
    /// Scale applied to the preferences.
    factor: f32,
    /// The resource named in explanation terms.
    label: usize,
    /// Only when folding into a clone: scores may not turn negative. A node whose positive
    /// score would has been marked (true) and takes no further preference; it ends at 1.
    marked: Option<Vec<bool>>,
}

/// Folds `source`'s node preferences (and, recursively, its own dependents') into `nodes`,
/// as `fold` says. Returns false when the result would leave no node usable (rolled back).
fn add_colocated_node_scores(
    sched: &mut Sched,
    source: usize,
    nodes: &mut Vec<Option<Score>>,
    terms: &mut Vec<Vec<(String, Score)>>,
    coloc: usize,
    fold: &mut Fold,
) -> bool {
    let (factor, label) = (fold.factor, fold.label);
    // A group stands in with its first member.
    let source = match sched.rscs[source].variant {
        Variant::Group => match sched.rscs[source].children.first() {
            Some(&m) => m,
            None => return false,
        },
        Variant::Primitive | Variant::Clone => source,
    };
    if sched.rscs[source].updating_nodes {
        return false;
    }
    sched.rscs[source].updating_nodes = true;
    let mut work = nodes.clone();
    let mut work_terms = terms.clone();
    let primary_stickiness = sched.rscs[sched.colocs[coloc].primary].stickiness;
    let source_scores = scores_with_group_locations(sched, source, coloc);
    // Whether the dependent may run on exactly one node: fixed during this loop (only `work`
    // changes), so counted at most once.
    let mut allowed_on_one: Option<bool> = None;
    // A mandatory colocation's factor of exactly 1 passes every score through unchanged (f32
    // holds ±INFINITY and everything between exactly, so the rounding below is the identity).
    let mut marked = fold.marked.clone();
    let identity = factor == 1.0 && marked.is_none();
    // Whether some node can still run the resource (`any_node_available` on the result),
    // noted as each node is settled instead of in a second pass.
    let mut usable = false;
    // Explanation terms exist only when recorded (`terms` is empty otherwise).
    let record = !work_terms.is_empty();
    if identity {
        // The common case (mandatory colocations, group members), run for every node of
        // every link of every colocation chain: kept to plain slice walks.
        let available = &sched.available[..work.len()];
        let source_scores = &source_scores[..work.len()];
        for (node, slot) in work.iter_mut().enumerate() {
            let Some(current) = *slot else { continue };
            let available = available[node];
            let score = match source_scores[node] {
                Some(s) if available => s,
                _ => Score::NEG_INFINITY,
            };
            if score == Score::ZERO {
                // Adding zero changes no score (nor adds a term).
                usable |= available && current.value() >= 0;
                continue;
            }
            let updated = score + current;
            *slot = Some(updated);
            usable |= available && updated.value() >= 0;
            if record {
                push_term(&mut work_terms, node, || {
                    (
                        format!("preferences of {} (colocated)", sched.rscs[label].id),
                        score,
                    )
                });
            }
        }
    }
    // Any other factor scales each score (with Pacemaker's rounding).
    if !identity {
        let available = &sched.available[..work.len()];
        let source_scores = &source_scores[..work.len()];
        for (node, slot) in work.iter_mut().enumerate() {
            let Some(current) = *slot else { continue };
            if marked.as_ref().is_some_and(|m| m[node]) {
                continue;
            }
            let available = available[node];
            let score = match source_scores[node] {
                Some(s) if available => s,
                _ => Score::NEG_INFINITY,
            };
            if score == Score::ZERO {
                // Any factor scales zero to zero, and adding zero changes no score: skip
                // the float rounding below (most nodes have no preference).
                usable |= available && current.value() >= 0;
                continue;
            }
            if factor < 0.0 && score.value() < 0 {
                let allowed_on_one = *allowed_on_one.get_or_insert_with(|| {
                    sched.rscs[sched.colocs[coloc].dependent]
                        .allowed
                        .iter()
                        .filter(|s| s.is_some_and(|s| s.value() >= 0))
                        .count()
                        == 1
                });
                if primary_stickiness >= -score.value()
                    || !sched.colocs[coloc].influence
                    || !allowed_on_one
                {
                    usable |= available && current.value() >= 0;
                    continue;
                }
            }
            let delta_f = factor * score.value() as f32;
            let mut delta = if delta_f < 0.0 {
                (delta_f - 0.5) as i64
            } else {
                (delta_f + 0.5) as i64
            };
            if delta == 0 && score.value() != 0 {
                if factor > 0.0 {
                    delta = 1;
                } else if factor < 0.0 {
                    delta = -1;
                }
            }
            let delta = Score::new(delta);
            let updated = delta + current;
            if let Some(marked) = marked.as_mut()
                && updated.value() < 0
                && current.value() >= 0
            {
                // A positive score that would turn negative marks the node; zero stays zero.
                if current.value() > 0 {
                    marked[node] = true;
                } else {
                    usable |= available;
                }
                continue;
            }
            *slot = Some(updated);
            usable |= available && updated.value() >= 0;
            if delta != Score::ZERO {
                push_term(&mut work_terms, node, || {
                    (
                        format!("preferences of {} (colocated)", sched.rscs[label].id),
                        delta,
                    )
                });
            }
        }
    }
    drop(source_scores);
    if usable {
        // Colocation lists do not change while resources are placed: each primitive's list
        // is built once. It is out of the cache only while `source` is being updated, and the
        // `updating_nodes` guard keeps the recursion from asking for it then.
        let dependents = match sched.with_this_cache[source].take() {
            Some(list) => list,
            None => with_this_colocations(sched, source),
        };
        for &c in &dependents {
            if !sched.colocs[c].influence {
                continue;
            }
            let other = sched.colocs[c].dependent;
            let mut other_fold = Fold {
                factor: factor * sched.colocs[c].score.value() as f32 / INFINITY as f32,
                label: other,
                marked: marked.clone(),
            };
            if add_colocated_node_scores(
                sched,
                other,
                &mut work,
                &mut work_terms,
                c,
                &mut other_fold,
            ) {
                marked = other_fold.marked;
            }
        }
        sched.with_this_cache[source] = Some(dependents);
    } else {
        sched.rscs[source].updating_nodes = false;
        return false;
    }
    if let Some(marked) = marked.as_mut() {
        for (node, mark) in marked.iter_mut().enumerate() {
            if std::mem::take(mark)
                && let Some(current) = work[node]
            {
                // Usable, barely.
                let kept = Score::new(1);
                work[node] = Some(kept);
                push_term(&mut work_terms, node, || {
                    (
                        format!(
                            "preferences of {} (colocated) would make it negative: kept at 1",
                            sched.rscs[label].id
                        ),
                        Score::new(kept.value() - current.value()),
                    )
                });
            }
        }
    }
    fold.marked = marked;
    *nodes = work;
    *terms = work_terms;
    sched.rscs[source].updating_nodes = false;
    true
}

/// A later group member explicitly colocated with something is judged with its group's
/// location constraints applied in full (they normally reach only the first member).
fn scores_with_group_locations(
    sched: &Sched,
    source: usize,
    coloc: usize,
) -> std::borrow::Cow<'_, [Option<Score>]> {
    let allowed = &sched.rscs[source].allowed;
    let c = &sched.colocs[coloc];
    let Some(parent) = sched.rscs[source].parent else {
        return allowed.into();
    };
    if c.dependent != source || !c.explicit || sched.rscs[parent].children.first() == Some(&source)
    {
        return allowed.into();
    }
    let mut scores = allowed.clone();
    for location in sched.locations.iter().filter(|l| l.rsc == parent) {
        for &(node, score) in &location.nodes {
            scores[node] = Some(scores[node].unwrap_or(Score::ZERO) + score);
        }
    }
    scores.into()
}

/// The sort key of an allowed node (Pacemaker's `compare_nodes`), compared as a tuple: score
/// (best first; nodes that cannot run resources count as -INFINITY), fewer resources already
/// placed, the current node, the name (its precomputed rank), then the index.
type NodeKey = (std::cmp::Reverse<Score>, usize, bool, usize, usize);

fn node_key(sched: &Sched, rsc: usize, preferred: Option<usize>, n: usize) -> NodeKey {
    let effective = if sched.nodes[n].is_available() {
        sched.rscs[rsc].allowed[n].unwrap_or(Score::NEG_INFINITY)
    } else {
        Score::NEG_INFINITY
    };
    (
        std::cmp::Reverse(effective),
        sched.nodes[n].num_resources,
        Some(n) != preferred,
        sched.node_name_rank[n],
        n,
    )
}

/// Allowed nodes sorted best first.
pub(super) fn sorted_allowed_nodes(sched: &Sched, rsc: usize) -> Vec<usize> {
    sorted_nodes_preferring(sched, rsc, current_node(sched, rsc))
}

/// Allowed nodes sorted best first, `preferred` winning ties that only a node's name would
/// break.
pub(super) fn sorted_nodes_preferring(
    sched: &Sched,
    rsc: usize,
    preferred: Option<usize>,
) -> Vec<usize> {
    let allowed = &sched.rscs[rsc].allowed;
    if sched.options.placement != Placement::Default {
        let mut nodes: Vec<usize> = (0..sched.nodes.len())
            .filter(|&n| allowed[n].is_some())
            .collect();
        nodes.sort_by(|&a, &b| super::utilization::compare_nodes(sched, rsc, preferred, a, b));
        return nodes;
    }
    let mut keyed: Vec<NodeKey> = (0..sched.nodes.len())
        .filter(|&n| allowed[n].is_some())
        .map(|n| node_key(sched, rsc, preferred, n))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|k| k.4).collect()
}

fn assign_best_node(sched: &mut Sched, rsc: usize, prefer: Option<usize>, stop_if_fail: bool) {
    let most_free = super::utilization::ban_insufficient_capacity(sched, rsc);
    let prefer = prefer.or(most_free);
    let running = current_node(sched, rsc);
    let best = if sched.options.placement == Placement::Default {
        let allowed = &sched.rscs[rsc].allowed;
        (0..sched.nodes.len())
            .filter(|&n| allowed[n].is_some())
            .min_by_key(|&n| node_key(sched, rsc, running, n))
    } else {
        sorted_allowed_nodes(sched, rsc).first().copied()
    };
    let allowed = &sched.rscs[rsc].allowed;
    let score_of = |n: usize| allowed[n].unwrap_or(Score::NEG_INFINITY);
    // A preferred node (a clone instance's current one) wins when it is as good as the best.
    let mut chosen = prefer.filter(|&p| {
        allowed[p].is_some()
            && best.is_some_and(|b| score_of(p) >= score_of(b))
            && score_of(p).value() >= 0
            && sched.nodes[p].is_available()
    });
    if chosen.is_none() {
        chosen = best;
        // A resource stays where it runs when that node ties with the best one. Nodes with
        // the best score are the first ones in sorted order and all available, so a tie is
        // exactly "the running node is available and scores the same". Instances of unique
        // clones were already kept where they run, if anywhere.
        let unique_instance = sched.rscs[rsc]
            .parent
            .and_then(|p| sched.rscs[p].clone)
            .is_some_and(|c| c.unique);
        if let Some(best) = best
            && !unique_instance
            && score_of(best).value() > 0
            && sched.nodes[best].is_available()
            && let Some(running) = running
            && sched.nodes[running].is_available()
            && score_of(running).value() >= 0
            && score_of(running) == score_of(best)
        {
            chosen = Some(running);
        }
    }
    assign_resource_with(sched, rsc, chosen, false, stop_if_fail);
}

/// Records the placement (`None` = stopped), for a resource and its children. Without
/// `force`, a node with a negative score or that cannot run resources is refused and the
/// resource stops; without `stop_if_fail` such a failure changes no role and no action.
pub(super) fn assign_resource_with(
    sched: &mut Sched,
    rsc: usize,
    node: Option<usize>,
    force: bool,
    stop_if_fail: bool,
) {
    if sched.rscs[rsc].variant != Variant::Primitive {
        for child in sched.rscs[rsc].children.clone() {
            assign_resource_with(sched, child, node, force, stop_if_fail);
        }
        let r = &mut sched.rscs[rsc];
        r.unassigned = false;
        r.assigned = node;
        return;
    }
    let mut node = node;
    if !force
        && let Some(n) = node
        && (sched.rscs[rsc].allowed[n]
            .unwrap_or(Score::NEG_INFINITY)
            .value()
            < 0
            || !sched.nodes[n].is_available())
    {
        if stop_if_fail {
            sched.rscs[rsc].next_role = Role::Stopped;
            if sched.rscs[rsc].stop_reason.is_none() {
                sched.rscs[rsc].stop_reason = Some("no node can run it".into());
            }
        }
        node = None;
    }
    unassign(sched, rsc);
    let r = &mut sched.rscs[rsc];
    r.assigned = node;
    r.unassigned = false;
    match node {
        None => {
            if !stop_if_fail {
                return;
            }
            r.next_role = Role::Stopped;
            let actions = r.main_actions.clone();
            for a in actions {
                let action = &mut sched.actions[a];
                if action.task == Task::Stop {
                    action.optional = false;
                } else if action.task == Task::Start {
                    action.runnable = false;
                }
            }
        }
        Some(n) => {
            sched.nodes[n].num_resources += 1;
            super::utilization::adjust(sched, rsc, n, -1);
        }
    }
}

/// Takes back a placement (Pacemaker's `pcmk__unassign_resource`), children included.
pub(super) fn unassign(sched: &mut Sched, rsc: usize) {
    for child in sched.rscs[rsc].children.clone() {
        unassign(sched, child);
    }
    let r = &mut sched.rscs[rsc];
    r.unassigned = true;
    if let Some(old) = r.assigned.take()
        && r.variant == Variant::Primitive
    {
        sched.nodes[old].num_resources = sched.nodes[old].num_resources.saturating_sub(1);
        super::utilization::adjust(sched, rsc, old, 1);
    }
}
