//! Utilization-based placement (`placement-strategy` other than `default`): nodes offer
//! capacities, primitives use some, and a resource may only go where what is left covers it
//! and the resources that must run with it (Pacemaker's `pcmk_sched_utilization.c`). With the
//! default strategy nothing here runs.

use std::cmp::Ordering;

use super::super::cib::NvList;
use super::super::score::Score;
use super::unpack::{Sched, Variant};

/// The cluster's `placement-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// Utilization is ignored.
    Default,
    /// Capacity limits apply; otherwise as default.
    Utilization,
    /// Capacity limits apply; ties go by node name only (fill nodes one after the other).
    Minimal,
    /// Capacity limits apply; ties go to the node with more free capacity.
    Balanced,
}

impl Placement {
    pub(super) fn parse(value: Option<&str>) -> Placement {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("utilization") => Placement::Utilization,
            Some("minimal") => Placement::Minimal,
            Some("balanced") => Placement::Balanced,
            _ => Placement::Default,
        }
    }
}

/// A utilization amount as Pacemaker reads it: an integer (clamped to 32 bits), 0 when not one.
fn amount(text: &str) -> i64 {
    text.trim()
        .parse::<i64>()
        .map_or(0, |v| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)))
}

/// Interns the attribute names of `list` and returns its amounts by name index.
pub(super) fn intern(names: &mut Vec<String>, list: &NvList) -> Vec<(usize, i64)> {
    let mut out: Vec<(usize, i64)> = Vec::new();
    for (name, value) in list.iter() {
        let index = match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.to_string());
                names.len() - 1
            }
        };
        // The first value of a name wins, as for other nvsets.
        if !out.iter().any(|&(i, _)| i == index) {
            out.push((index, amount(value)));
        }
    }
    out
}

/// Every node's capacity as a dense vector over the interned names (absent counts as 0).
pub(super) fn init_capacities(sched: &mut Sched, raw: Vec<Vec<(usize, i64)>>) {
    let width = sched.util_names.len();
    sched.capacity = raw
        .into_iter()
        .map(|pairs| {
            let mut dense = vec![0; width];
            for (i, v) in pairs {
                dense[i] = v;
            }
            dense
        })
        .collect();
}

/// Negative when `a` has more free capacity than `b` (counting attributes either way).
pub(super) fn compare_capacities(sched: &Sched, a: usize, b: usize) -> i32 {
    let mut result = 0;
    for (x, y) in sched.capacity[a].iter().zip(&sched.capacity[b]) {
        match x.cmp(y) {
            Ordering::Greater => result -= 1,
            Ordering::Less => result += 1,
            Ordering::Equal => {}
        }
    }
    result
}

/// A placed primitive uses its amounts on `node` (`sign` -1), or gives them back (+1).
pub(super) fn adjust(sched: &mut Sched, rsc: usize, node: usize, sign: i64) {
    if sched.options.placement == Placement::Default {
        return;
    }
    for &(i, v) in &sched.rscs[rsc].utilization {
        let cell = &mut sched.capacity[node][i];
        *cell = (*cell + sign * v).clamp(i64::from(i32::MIN), i64::from(i32::MAX));
    }
}

fn has_room(sched: &Sched, node: usize, need: &[i64]) -> bool {
    need.iter()
        .zip(&sched.capacity[node])
        .all(|(need, left)| need <= left)
}

/// Resources that must run where `rsc` runs (mandatory colocations either way, transitively;
/// Pacemaker's `colocated_resources`).
fn colocated(sched: &Sched, rsc: usize, orig: usize, out: &mut Vec<usize>) {
    if out.contains(&rsc) {
        return;
    }
    let r = &sched.rscs[rsc];
    let cloned = r
        .parent
        .is_some_and(|p| sched.rscs[p].variant == Variant::Clone);
    if r.variant == Variant::Group {
        let collocated = r
            .meta
            .get("collocated")
            .and_then(super::super::xml::parse_bool);
        if collocated != Some(false) || cloned {
            out.push(rsc);
            for &member in &r.children {
                colocated(sched, member, orig, out);
            }
            return;
        }
    }
    out.push(rsc);
    for &c in &super::assign::this_with_colocations(sched, rsc) {
        let coloc = &sched.colocs[c];
        if coloc.primary != orig && coloc.score.is_infinity() {
            colocated(sched, coloc.primary, orig, out);
        }
    }
    for &c in &super::assign::with_this_colocations(sched, rsc) {
        let coloc = &sched.colocs[c];
        if coloc.dependent == orig {
            continue;
        }
        // Whether a primitive follows a clone instance is not known in advance.
        if r.variant == Variant::Clone && sched.rscs[coloc.dependent].variant != Variant::Clone {
            continue;
        }
        if coloc.score.is_infinity() {
            colocated(sched, coloc.dependent, orig, out);
        }
    }
}

/// Adds what `rsc` (not yet placed) would use to `sum` (Pacemaker's `add_utilization`).
fn add_utilization(sched: &Sched, rsc: usize, all: &[usize], sum: &mut [i64]) {
    let r = &sched.rscs[rsc];
    if !r.unassigned {
        return;
    }
    match r.variant {
        Variant::Primitive => {
            for &(i, v) in &r.utilization {
                sum[i] += v;
            }
        }
        Variant::Group => {
            let collocated = r
                .meta
                .get("collocated")
                .and_then(super::super::xml::parse_bool);
            let cloned = r
                .parent
                .is_some_and(|p| sched.rscs[p].variant == Variant::Clone);
            let members: &[usize] = if collocated != Some(false) || cloned {
                &r.children
            } else {
                &r.children[..r.children.len().min(1)]
            };
            for &m in members {
                if sched.rscs[m].unassigned && !all.contains(&m) {
                    add_utilization(sched, m, all, sum);
                }
            }
        }
        Variant::Clone => {
            let mut existing = false;
            for &child in &r.children {
                if all.contains(&child) {
                    existing = true;
                } else if sched.rscs[child].children.iter().any(|m| all.contains(m)) {
                    add_utilization(sched, child, all, sum);
                    existing = true;
                }
            }
            if !existing && let Some(&first) = r.children.first() {
                add_utilization(sched, first, all, sum);
            }
        }
    }
}

/// Bans `rsc` from nodes without room for it and the resources that must run with it (or, when
/// no node has room for them all, for it alone). Returns the node with the most free capacity
/// in that second case, to be preferred.
pub(super) fn ban_insufficient_capacity(sched: &mut Sched, rsc: usize) -> Option<usize> {
    if sched.options.placement == Placement::Default {
        return None;
    }
    let mut group = Vec::new();
    colocated(sched, rsc, rsc, &mut group);
    if !group.contains(&rsc) {
        group.push(rsc);
    }
    let mut need = vec![0; sched.util_names.len()];
    for &r in &group {
        add_utilization(sched, r, &group, &mut need);
    }
    let usable = |sched: &Sched, n: usize| {
        sched.nodes[n].is_available() && sched.rscs[rsc].allowed[n].is_some_and(|s| s.value() >= 0)
    };
    let mut any_capable = false;
    let mut most_free: Option<usize> = None;
    for n in 0..sched.nodes.len() {
        if !usable(sched, n) {
            continue;
        }
        any_capable |= has_room(sched, n, &need);
        if most_free.is_none_or(|m| compare_capacities(sched, n, m) < 0) {
            most_free = Some(n);
        }
    }
    if !any_capable {
        need = vec![0; sched.util_names.len()];
        for &(i, v) in &sched.rscs[rsc].utilization {
            need[i] += v;
        }
    }
    for n in 0..sched.nodes.len() {
        if usable(sched, n) && !has_room(sched, n, &need) {
            sched.resource_location(rsc, n, Score::NEG_INFINITY, "not enough capacity left");
        }
    }
    if any_capable { None } else { most_free }
}

/// The node order used when sorting resources: available nodes first, then (balanced) more
/// free capacity, then the name.
fn sorted_nodes(sched: &Sched) -> Vec<usize> {
    let mut nodes: Vec<usize> = (0..sched.nodes.len()).collect();
    nodes.sort_by(|&a, &b| {
        let score = |n: usize| {
            if sched.nodes[n].is_available() {
                sched.nodes[n].weight
            } else {
                Score::NEG_INFINITY
            }
        };
        score(b)
            .cmp(&score(a))
            .then_with(|| {
                if sched.options.placement == Placement::Balanced {
                    compare_capacities(sched, a, b).cmp(&0)
                } else {
                    Ordering::Equal
                }
            })
            .then_with(|| {
                if sched.options.placement == Placement::Minimal {
                    Ordering::Equal
                } else {
                    sched.nodes[a]
                        .num_resources
                        .cmp(&sched.nodes[b].num_resources)
                }
            })
            .then_with(|| sched.nodes[a].name.cmp(&sched.nodes[b].name))
    });
    nodes
}

/// The scores a resource is judged by when ordering resources: its own (a group's first
/// member's).
fn judged_scores(sched: &Sched, rsc: usize) -> &[Option<Score>] {
    let r = &sched.rscs[rsc];
    match (r.variant, r.children.first()) {
        (Variant::Group, Some(&first)) => &sched.rscs[first].allowed,
        _ => &r.allowed,
    }
}

/// Orders the top-level resources for placement (Pacemaker's `pcmk__sort_resources`): higher
/// priority, then the higher score on the current node, then the higher score node by node.
pub(super) fn sort_resources(sched: &mut Sched) {
    if sched.options.placement == Placement::Default {
        return;
    }
    let nodes = sorted_nodes(sched);
    let score = |scores: &[Option<Score>], n: Option<usize>| {
        n.and_then(|n| scores[n]).unwrap_or(Score::NEG_INFINITY)
    };
    let mut order = std::mem::take(&mut sched.order);
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&sched.rscs[a], &sched.rscs[b]);
        rb.priority.cmp(&ra.priority).then_with(|| {
            let (sa, sb) = (judged_scores(sched, a), judged_scores(sched, b));
            let ca = super::clone::active_nodes(sched, a).first().copied();
            let cb = super::clone::active_nodes(sched, b).first().copied();
            score(sb, cb).cmp(&score(sa, ca)).then_with(|| {
                nodes
                    .iter()
                    .map(|&n| score(sb, Some(n)).cmp(&score(sa, Some(n))))
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
        })
    });
    sched.order = order;
}

/// Pacemaker's `compare_nodes` for a non-default strategy: score, then free capacity
/// (balanced), then fewer placed resources and the current node (not for minimal), then name.
pub(super) fn compare_nodes(
    sched: &Sched,
    rsc: usize,
    preferred: Option<usize>,
    a: usize,
    b: usize,
) -> Ordering {
    let score = |n: usize| {
        if sched.nodes[n].is_available() {
            sched.rscs[rsc].allowed[n].unwrap_or(Score::NEG_INFINITY)
        } else {
            Score::NEG_INFINITY
        }
    };
    score(b)
        .cmp(&score(a))
        .then_with(|| match sched.options.placement {
            Placement::Minimal => Ordering::Equal,
            placement => {
                let capacity = if placement == Placement::Balanced {
                    compare_capacities(sched, a, b).cmp(&0)
                } else {
                    Ordering::Equal
                };
                capacity
                    .then_with(|| {
                        sched.nodes[a]
                            .num_resources
                            .cmp(&sched.nodes[b].num_resources)
                    })
                    .then_with(|| (Some(b) == preferred).cmp(&(Some(a) == preferred)))
            }
        })
        .then_with(|| sched.nodes[a].name.cmp(&sched.nodes[b].name))
}
