//! Phase 4: everything people read. The Transition Summary in Pacemaker's exact wording (verb
//! choice and reasons follow `rsc_action_default`), the cluster status blocks, the simulated
//! execution order, allocation scores and per-resource explanations.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use super::super::score::Score;
use super::assign::{current_node, sorted_allowed_nodes};
use super::task::Task;
use super::unpack::{Role, Sched, Variant};
use super::{
    ActionView, Explanation, FenceView, NodeScore, OrderingView, Placement, ScoreTerm, Transition,
};

/// How the status blocks are laid out (reserved for future variants such as by-node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusStyle {
    /// Pacemaker's `crm_simulate` layout.
    #[default]
    Simulate,
}

/// Natural, case-insensitive order (`node2` before `node10`), as the status display sorts.
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("0")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("0")
                .trim_start_matches('0');
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            let ord = a[i].to_ascii_lowercase().cmp(&b[j].to_ascii_lowercase());
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

pub(super) fn finish(sched: Sched) -> Transition {
    let summary = summary_lines(&sched);

    // Nearly every action is in a large graph (probes): sized once, not grown by doubling.
    let mut included = Vec::with_capacity(sched.actions.len());
    included.extend((0..sched.actions.len()).filter(|&a| is_in_graph(&sched, a)));
    let mut included_set = vec![false; sched.actions.len()];
    for &a in &included {
        included_set[a] = true;
    }
    // Names shared by every action that mentions them: one allocation per resource and node,
    // not one per action (a large transition has tens of thousands of probes).
    let rsc_names: Vec<Arc<str>> = sched
        .rscs
        .iter()
        .map(|r| Arc::from(r.id.as_str()))
        .collect();
    let node_names: Vec<Arc<str>> = sched
        .nodes
        .iter()
        .map(|n| Arc::from(n.name.as_str()))
        .collect();
    let actions = included
        .iter()
        .map(|&a| {
            let action = &sched.actions[a];
            ActionView {
                id: a,
                task: action.task.as_str(),
                resource: action.rsc.map(|r| Arc::clone(&rsc_names[r])),
                node: action.node.map(|n| Arc::clone(&node_names[n])),
                interval_ms: action.interval_ms,
                optional: action.optional,
                runnable: action.runnable,
                pseudo: action.pseudo,
                reason: action.reason.clone().or_else(|| action.note.clone()),
            }
        })
        .collect();
    let mut orderings = Vec::with_capacity(sched.edges.len());
    let mut edges = Vec::new();
    for &a in &included {
        // Listed oldest first, in the order the edges were made.
        edges.clear();
        edges.extend(sched.before(a));
        for &(first, flags) in edges.iter().rev() {
            if flags != 0 && included_set[first] {
                orderings.push(OrderingView {
                    first,
                    then: a,
                    mandatory: flags & !super::actions::flags::ORDERED != 0,
                });
            }
        }
    }
    let mut placements = Vec::new();
    for r in primitives_in_order(&sched) {
        let rsc = &sched.rscs[r];
        placements.push(Placement {
            resource: rsc.id.clone(),
            node: rsc
                .assigned
                .filter(|_| rsc.next_role == Role::Started)
                .map(|n| sched.nodes[n].name.clone()),
            current: rsc
                .running_on
                .iter()
                .map(|&n| sched.nodes[n].name.clone())
                .collect(),
        });
    }
    let fencing = sched
        .actions
        .iter()
        .filter(|a| a.task == Task::Stonith && !a.optional)
        .filter_map(|a| {
            Some(FenceView {
                node: sched.nodes[a.node?].name.clone(),
                action: sched.options.fencing_action.clone(),
                reason: a.reason.clone().unwrap_or_default(),
            })
        })
        .collect();
    Transition {
        actions,
        orderings,
        summary,
        placements,
        fencing,
        notes: sched.notes.clone(),
        state: Arc::new(sched),
    }
}

/// Whether an action is part of the transition graph: required and runnable (pseudo or not).
#[inline]
fn is_in_graph(sched: &Sched, a: usize) -> bool {
    let action = &sched.actions[a];
    if action.task == Task::OneOrMore && action.rsc.is_none() {
        return one_or_more_in_graph(sched, a);
    }
    !action.optional && action.runnable
}

/// A [`Task::OneOrMore`] pseudo-action stays optional (it must not force `then`), but goes in
/// the graph with the instances' actions it counts.
fn one_or_more_in_graph(sched: &Sched, a: usize) -> bool {
    sched.actions[a].runnable && sched.before(a).any(|(first, _)| is_in_graph(sched, first))
}

pub(super) fn primitives_in_order(sched: &Sched) -> Vec<usize> {
    fn walk(sched: &Sched, r: usize, out: &mut Vec<usize>) {
        match sched.rscs[r].variant {
            Variant::Primitive => out.push(r),
            Variant::Group | Variant::Clone => {
                for &c in &sched.rscs[r].children {
                    walk(sched, c, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    for &r in &sched.order {
        walk(sched, r, &mut out);
    }
    out
}

pub(super) fn preamble(sched: &Sched) -> String {
    let mut out = String::new();
    if let Some(date) = sched.execution_date {
        out.push_str(&format!(
            "Using the original execution date of: {}\n",
            format_date(date)
        ));
    }
    if sched.options.maintenance_mode {
        out.push_str("\n              *** Resource management is DISABLED ***\n");
        out.push_str("  The cluster will not attempt to start, stop or recover services\n");
    } else if sched.options.stop_all {
        out.push_str("\n    *** Resource management is DISABLED ***\n");
        out.push_str("  The cluster will keep all resources stopped\n");
    }
    let mut instances = 0;
    let mut disabled = 0;
    let mut blocked = 0;
    for r in primitives_in_order(sched) {
        let rsc = &sched.rscs[r];
        if rsc.orphan && rsc.orig_role <= Role::Stopped {
            continue;
        }
        instances += 1;
        if rsc
            .meta
            .get("target-role")
            .is_some_and(|v| v.eq_ignore_ascii_case("stopped"))
        {
            disabled += 1;
        }
        if rsc.blocked {
            blocked += 1;
        }
    }
    if disabled > 0 || blocked > 0 {
        out.push_str(&format!(
            "{disabled} of {instances} resource instances DISABLED and {blocked} BLOCKED from further action due to failure\n"
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// `YYYY-MM-DD HH:MM:SSZ` for epoch seconds (UTC), without a date library.
pub(super) fn format_date(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

// ---- Transition Summary ----

fn find_action(sched: &Sched, rsc: usize, task: Task, node: Option<usize>) -> Option<usize> {
    sched.rscs[rsc]
        .main_actions
        .iter()
        .rev()
        .copied()
        .find(|&a| {
            let action = &sched.actions[a];
            action.task == task
                && action.interval_ms == 0
                && (node.is_none() || action.node.is_none() || action.node == node)
        })
}

fn summary_lines(sched: &Sched) -> Vec<String> {
    let mut lines = Vec::new();
    for action in sched.actions.iter().rev() {
        if action.rsc.is_some() || action.optional {
            continue;
        }
        let Some(node) = action.node else { continue };
        let name = &sched.nodes[node].name;
        match action.task {
            Task::Stonith => lines.push(format!(
                "Fence ({}) {name} '{}'",
                sched.options.fencing_action,
                action.reason.clone().unwrap_or_default()
            )),
            // Pacemaker prints node actions only when they carry a reason.
            Task::DoShutdown if action.reason.is_some() => {
                lines.push(format!("Shutdown {name}"));
            }
            _ => {}
        }
    }
    let mut items = Vec::new();
    for r in primitives_in_order(sched) {
        summary_for(sched, r, &mut items);
    }
    // Column widths grow as Pacemaker's static widths do: only ever wider.
    let mut rsc_width = 5;
    let mut detail_width = 5;
    for item in &items {
        if item.rsc.len() > rsc_width {
            rsc_width = item.rsc.len() + 2;
        }
        detail_width = detail_width.max(item.details.len());
        // As `format!("{:<8}   {:<rsc_width$}   ( {:>detail_width$} )  {reason}")`, built
        // directly: a large transition has a line per resource.
        let mut line = String::with_capacity(32 + rsc_width + detail_width);
        pad_after(&mut line, item.change, 8);
        line.push_str("   ");
        pad_after(&mut line, &item.rsc, rsc_width);
        line.push_str("   ( ");
        pad_before(&mut line, &item.details, detail_width);
        line.push_str(" )");
        if let Some(reason) = &item.reason {
            line.push_str("  ");
            line.push_str(reason);
        }
        lines.push(line);
    }
    lines
}

/// Appends `text` left-aligned in `width` characters (as `{:<width$}`).
fn pad_after(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    let len = text.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
}

/// Appends `text` right-aligned in `width` characters (as `{:>width$}`).
fn pad_before(out: &mut String, text: &str, width: usize) {
    let len = text.chars().count();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out.push_str(text);
}

struct SummaryItem {
    change: &'static str,
    rsc: String,
    details: String,
    reason: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn item(
    sched: &Sched,
    change: &'static str,
    rsc: usize,
    origin: Option<usize>,
    destination: Option<usize>,
    action: Option<usize>,
    source: Option<usize>,
    out: &mut Vec<SummaryItem>,
) {
    let name = |n: usize| sched.nodes[n].name.clone();
    let details = match (origin, destination) {
        (None, Some(d)) => name(d),
        (Some(o), None) => name(o),
        (Some(o), Some(d)) if o == d => name(o),
        (Some(o), Some(d)) => format!("{} -> {}", name(o), name(d)),
        (None, None) => return,
    };
    let source = source.or(action);
    let runnable = action.is_some_and(|a| sched.actions[a].runnable);
    let source_reason = source.and_then(|s| sched.actions[s].reason.clone());
    let reason = match (source_reason, runnable) {
        (Some(r), false) => Some(format!("due to {r} (blocked)")),
        (Some(r), true) => Some(format!("due to {r}")),
        (None, false) => Some("blocked".to_string()),
        (None, true) => None,
    };
    out.push(SummaryItem {
        change,
        rsc: sched.rscs[rsc].id.clone(),
        details,
        reason,
    });
}

fn summary_for(sched: &Sched, r: usize, out: &mut Vec<SummaryItem>) {
    let rsc = &sched.rscs[r];
    let next = rsc.assigned;
    let current = if rsc.running_on.is_empty() {
        None
    } else {
        current_node(sched, r)
    };
    let mut orig_role = rsc.orig_role;
    if current.is_some() && orig_role == Role::Stopped {
        orig_role = Role::Started;
    }
    if current.is_none() && rsc.orphan {
        return;
    }
    if !rsc.managed || (current.is_none() && next.is_none()) {
        return;
    }
    let moving = matches!((current, next), (Some(c), Some(n)) if c != n);
    let start = find_action(sched, r, Task::Start, next);
    let start_node = match start {
        Some(s) if sched.actions[s].runnable => current,
        _ => None,
    };
    let stop = find_action(sched, r, Task::Stop, start_node);
    let next_role = if rsc.next_role == Role::Unknown {
        Role::Stopped
    } else {
        rsc.next_role
    };
    let orig_role = if orig_role == Role::Unknown {
        Role::Stopped
    } else {
        orig_role
    };
    if orig_role == next_role {
        if next.is_none() {
            return;
        }
        if rsc.reload {
            item(sched, "Reload", r, current, next, start, None, out);
            return;
        }
        let Some(start) = start.filter(|&s| !sched.actions[s].optional) else {
            return;
        };
        if !sched.actions[start].runnable {
            let reason_op = match stop {
                Some(s) if sched.actions[s].reason.is_some() => s,
                _ => start,
            };
            item(sched, "Stop", r, current, None, stop, Some(reason_op), out);
        } else if moving && current.is_some() {
            let change = if rsc.failed { "Recover" } else { "Move" };
            item(sched, change, r, current, next, stop, None, out);
        } else if rsc.failed {
            item(sched, "Recover", r, current, None, stop, None, out);
        } else {
            item(sched, "Restart", r, current, next, Some(start), None, out);
        }
        return;
    }
    if let Some(_stop) = stop
        && (next_role == Role::Stopped || start.is_some_and(|s| !sched.actions[s].runnable))
    {
        for &node in &rsc.running_on {
            let stop_op = find_action(sched, r, Task::Stop, Some(node))
                .filter(|&a| sched.actions[a].node == Some(node));
            let mut reason_op = start;
            if let Some(s) = stop_op
                && sched.actions[s].reason.is_some()
            {
                reason_op = Some(s);
            }
            item(sched, "Stop", r, Some(node), None, stop_op, reason_op, out);
        }
    } else if stop.is_some() && rsc.failed && rsc.stop_if_failed {
        item(sched, "Recover", r, current, next, stop, start, out);
    } else if moving {
        item(sched, "Move", r, current, next, stop, None, out);
    } else if rsc.reload {
        item(sched, "Reload", r, current, next, start, None, out);
    } else if stop.is_some_and(|s| !sched.actions[s].optional) {
        item(sched, "Restart", r, current, next, start, None, out);
    } else if orig_role == Role::Stopped && next_role > Role::Stopped {
        item(sched, "Start", r, current, next, start, None, out);
    }
}

// ---- status ----

/// Which resources run where, for rendering a status block.
struct StateView {
    running: Vec<Vec<usize>>,
    failed: Vec<bool>,
    pending_start: Vec<bool>,
    fenced: Vec<bool>,
}

impl StateView {
    fn current(sched: &Sched) -> StateView {
        StateView {
            running: sched.rscs.iter().map(|r| r.running_on.clone()).collect(),
            failed: sched.rscs.iter().map(|r| r.failed).collect(),
            pending_start: sched
                .rscs
                .iter()
                .map(|r| r.pending_task.as_ref().is_some_and(|(t, _)| t == "start"))
                .collect(),
            fenced: vec![false; sched.nodes.len()],
        }
    }
}

fn node_state_text(sched: &Sched, view: &StateView, node: usize) -> Option<String> {
    let n = &sched.nodes[node];
    if view.fenced[node] {
        return None;
    }
    let has_rsc = view.running.iter().any(|r| r.contains(&node));
    let text = if n.unclean {
        if n.online {
            "UNCLEAN (online)"
        } else if n.pending {
            "UNCLEAN (pending)"
        } else {
            "UNCLEAN (offline)"
        }
    } else if n.pending {
        "pending"
    } else if n.standby {
        if !n.online {
            "OFFLINE (standby)"
        } else if has_rsc {
            "standby (with active resources)"
        } else {
            "standby"
        }
    } else if n.maintenance {
        if n.online {
            "maintenance"
        } else {
            "OFFLINE (maintenance)"
        }
    } else {
        return None;
    };
    Some(text.to_string())
}

fn status_text(sched: &Sched, view: &StateView) -> String {
    let mut out = String::from("  * Node List:\n");
    let mut nodes: Vec<usize> = (0..sched.nodes.len()).collect();
    nodes.sort_by(|&a, &b| natural_cmp(&sched.nodes[a].name, &sched.nodes[b].name));
    let mut online = Vec::new();
    let mut offline = Vec::new();
    for node in nodes {
        let n = &sched.nodes[node];
        match node_state_text(sched, view, node) {
            Some(text) => out.push_str(&format!("    * Node {}: {text}\n", n.name)),
            None if n.online && !view.fenced[node] => online.push(n.name.clone()),
            None => offline.push(n.name.clone()),
        }
    }
    if !online.is_empty() {
        out.push_str(&format!("    * Online: [ {} ]\n", online.join(" ")));
    }
    if !offline.is_empty() {
        out.push_str(&format!("    * OFFLINE: [ {} ]\n", offline.join(" ")));
    }
    out.push_str("\n  * Full List of Resources:\n");
    if sched.order.is_empty() {
        out.push_str("    * No resources\n");
    }
    for &r in &sched.order {
        let rsc = &sched.rscs[r];
        match rsc.variant {
            Variant::Primitive => {
                if rsc.orphan && view.running[r].is_empty() {
                    continue;
                }
                out.push_str(&format!("    * {}\n", primitive_line(sched, view, r)));
            }
            Variant::Group => {
                let suffix = collective_flags(sched, rsc, Vec::new());
                out.push_str(&format!("    * Resource Group: {}{suffix}:\n", rsc.id));
                for &c in &rsc.children {
                    out.push_str(&format!("      * {}\n", primitive_line(sched, view, c)));
                }
            }
            Variant::Clone => clone_status(sched, view, r, &mut out),
        }
    }
    out
}

fn exit_text(rc: i32) -> &'static str {
    match rc {
        1 => "Error occurred",
        2 => "Invalid parameter",
        3 => "Unimplemented",
        4 => "Insufficient privileges",
        5 => "Not installed",
        6 => "Not configured",
        _ => "Error occurred",
    }
}

fn primitive_line(sched: &Sched, view: &StateView, r: usize) -> String {
    let rsc = &sched.rscs[r];
    let running = &view.running[r];
    let mut out = format!("{}\t({}):\t", rsc.id, rsc.agent());
    if rsc.orphan {
        out.push_str(" ORPHANED");
    }
    let node = if running.len() == 1 {
        Some(running[0])
    } else {
        None
    };
    if view.failed[r] {
        out.push_str(" FAILED");
    } else if view.pending_start[r] {
        out.push_str(" Starting");
    } else if running.is_empty() {
        out.push_str(" Stopped");
    } else {
        out.push_str(" Started");
    }
    if let Some(n) = node {
        out.push(' ');
        out.push_str(&sched.nodes[n].name);
    }
    if running.is_empty()
        && let Some(rc) = failed_probe_rc(sched, r)
    {
        out.push_str(&format!(" ({}) ", exit_text(rc)));
    }
    let mut flags: Vec<&str> = Vec::new();
    if let Some(n) = node
        && !sched.nodes[n].online
        && sched.nodes[n].unclean
        && !view.fenced[n]
    {
        flags.push("UNCLEAN");
    }
    if rsc
        .meta
        .get("target-role")
        .is_some_and(|v| v.eq_ignore_ascii_case("stopped"))
    {
        flags.push("disabled");
    }
    let maintenance = rsc.maintenance
        || sched.options.maintenance_mode
        || running.iter().any(|&n| sched.nodes[n].maintenance);
    if rsc.blocked {
        flags.push("blocked");
    } else if maintenance {
        flags.push("maintenance");
    } else if !rsc.managed && (!sched.options.fencing_enabled || sched.options.have_fencing) {
        flags.push("unmanaged");
    }
    if rsc.ignore_failure {
        flags.push("failure ignored");
    }
    if !flags.is_empty() {
        out.push_str(&format!(" ({})", flags.join(", ")));
    }
    if running.len() > 1 {
        let mut names: Vec<&str> = running
            .iter()
            .map(|&n| sched.nodes[n].name.as_str())
            .collect();
        names.sort_by(|a, b| natural_cmp(a, b));
        out.push_str(&format!(" [ {} ]", names.join(" ")));
    }
    out
}

fn failed_probe_rc(sched: &Sched, r: usize) -> Option<i32> {
    sched
        .failed_probe_rcs
        .get(sched.rscs[r].id.as_str())
        .copied()
}

// ---- simulated execution ----

fn action_line(sched: &Sched, a: usize) -> Option<String> {
    let action = &sched.actions[a];
    let node = action.node.map(|n| sched.nodes[n].name.clone());
    match action.rsc {
        None => match action.task {
            Task::Stonith => Some(format!(
                "Fencing {} ({})",
                node?, sched.options.fencing_action
            )),
            Task::DoShutdown => Some(format!("Cluster action:  do_shutdown on {}", node?)),
            Task::OneOrMore => Some(format!(
                "Pseudo action:   {}",
                action.note.as_deref().unwrap_or("clone-one-or-more")
            )),
            _ => None,
        },
        Some(r) => {
            let id = &sched.rscs[r].id;
            if action.pseudo {
                let key = match (sched.rscs[r].variant, action.task) {
                    (Variant::Group | Variant::Clone, t) => format!("{id}_{t}_0"),
                    (Variant::Primitive, t) => format!("{id}_{t}_0"),
                };
                return Some(format!("Pseudo action:   {key}"));
            }
            let node = node?;
            // Agents know an anonymous clone's instances by the plain id.
            let anonymous = super::clone::clone_of(sched, r)
                .and_then(|c| sched.rscs[c].clone)
                .is_some_and(|c| !c.unique);
            let id = if anonymous {
                super::unpack::strip_instance(id)
            } else {
                id.as_str()
            };
            if action.task == Task::ClearFailcount {
                return Some(format!(
                    "Cluster action:  clear_failcount for {id} on {node}"
                ));
            }
            let task = if action.interval_ms > 0 {
                format!("{}={}", action.task, action.interval_ms)
            } else {
                action.task.as_str().to_string()
            };
            Some(format!("Resource action: {id:<15} {task} on {node}"))
        }
    }
}

/// The current status block.
pub(super) fn status_text_current(sched: &Sched) -> String {
    status_text(sched, &StateView::current(sched))
}

/// The "Executing Cluster Transition" lines and the revised status block.
pub(super) fn execute(sched: &Sched) -> (String, String) {
    let (lines, view) = simulate_execution(sched);
    (lines, status_text(sched, &view))
}

fn simulate_execution(sched: &Sched) -> (String, StateView) {
    let graph: Vec<usize> = (0..sched.actions.len())
        .filter(|&a| is_in_graph(sched, a))
        .collect();
    let in_graph: HashSet<usize> = graph.iter().copied().collect();
    // Probes first, then by readiness; ties in creation order.
    let mut done = vec![false; sched.actions.len()];
    let mut lines = String::new();
    let mut remaining = graph.clone();
    let bound = remaining.len() + 1;
    for _ in 0..bound {
        if remaining.is_empty() {
            break;
        }
        let mut fired = Vec::new();
        for &a in &remaining {
            let ready = sched
                .before(a)
                .all(|(f, flags)| flags == 0 || !in_graph.contains(&f) || done[f]);
            if ready {
                fired.push(a);
                done[a] = true;
            }
        }
        if fired.is_empty() {
            // An ordering loop: fire the rest in creation order rather than hang.
            fired = remaining.clone();
            for &a in &fired {
                done[a] = true;
            }
        }
        for &a in &fired {
            if let Some(line) = action_line(sched, a) {
                lines.push_str("  * ");
                lines.push_str(&line);
                lines.push('\n');
            }
        }
        remaining.retain(|&a| !done[a]);
    }

    // Revised state: apply every fired action as successful.
    let mut view = StateView::current(sched);
    for &a in &graph {
        let action = &sched.actions[a];
        if action.task == Task::Stonith
            && let Some(n) = action.node
        {
            view.fenced[n] = true;
            for running in view.running.iter_mut() {
                running.retain(|&x| x != n);
            }
        }
    }
    for &a in &graph {
        let action = &sched.actions[a];
        let (Some(r), Some(n)) = (action.rsc, action.node) else {
            continue;
        };
        if action.task == Task::Stop {
            view.running[r].retain(|&x| x != n);
            view.pending_start[r] = false;
        }
    }
    for &a in &graph {
        let action = &sched.actions[a];
        let (Some(r), Some(n)) = (action.rsc, action.node) else {
            continue;
        };
        if action.task == Task::Start && !action.pseudo {
            if !view.running[r].contains(&n) {
                view.running[r].push(n);
            }
            view.failed[r] = false;
            view.pending_start[r] = false;
        }
    }
    for r in 0..sched.rscs.len() {
        if view.running[r].is_empty() {
            view.failed[r] = false;
        }
    }
    (lines, view)
}

// ---- scores and explanations ----

pub(super) fn scores_text(sched: &Sched) -> String {
    let mut lines = Vec::new();
    for r in 0..sched.rscs.len() {
        let rsc = &sched.rscs[r];
        let label = match rsc.variant {
            Variant::Primitive => "pcmk__primitive_assign",
            Variant::Group => "pcmk__group_assign",
            Variant::Clone => "pcmk__clone_assign",
        };
        for (n, score) in rsc.allowed.iter().enumerate() {
            if let Some(score) = score {
                lines.push(format!(
                    "{label}: {} allocation score on {}: {}",
                    rsc.id, sched.nodes[n].name, score
                ));
            }
        }
    }
    lines.sort();
    let mut out = String::new();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

pub(super) fn explanations(sched: &Sched) -> Vec<Explanation> {
    let mut out = Vec::new();
    for r in primitives_in_order(sched) {
        out.push(explain_primitive(sched, r));
    }
    for &r in &sched.order {
        if sched.rscs[r].variant == Variant::Group {
            let mut e =
                explain_primitive(sched, sched.rscs[r].children.first().copied().unwrap_or(r));
            e.resource = sched.rscs[r].id.clone();
            out.push(e);
        }
    }
    out
}

/// The explanation for one primitive or group.
pub(super) fn explain(sched: &Sched, id: &str) -> Option<Explanation> {
    // A clone's child id (`d_tomcat` in `cl_tomcat`) stands for the clone.
    let r = sched
        .rscs
        .iter()
        .position(|r| r.id == id)
        .or_else(|| sched.clone_bases.get(id).copied())?;
    match sched.rscs[r].variant {
        Variant::Primitive => Some(explain_primitive(sched, r)),
        Variant::Group | Variant::Clone => {
            let first = primitives_under(sched, r).first().copied()?;
            let mut e = explain_primitive(sched, first);
            e.resource = sched.rscs[r].id.clone();
            Some(e)
        }
    }
}

/// The primitives inside `rsc`, in order.
fn primitives_under(sched: &Sched, rsc: usize) -> Vec<usize> {
    let r = &sched.rscs[rsc];
    if r.variant == Variant::Primitive {
        return vec![rsc];
    }
    r.children
        .iter()
        .flat_map(|&c| primitives_under(sched, c))
        .collect()
}

/// A clone in the status block: unique clones list every instance, anonymous ones group the
/// nodes by state (`Started: [ node1 node2 ]`).
/// The ` (disabled, maintenance)` suffix of a group's or clone's status line, after the
/// `leading` flags given; empty when there is none.
fn collective_flags(
    sched: &Sched,
    rsc: &super::unpack::Rsc,
    mut flags: Vec<&'static str>,
) -> String {
    if rsc
        .meta
        .get("target-role")
        .is_some_and(|v| v.eq_ignore_ascii_case("stopped"))
    {
        flags.push("disabled");
    }
    if rsc.maintenance || sched.options.maintenance_mode {
        flags.push("maintenance");
    } else if !rsc.managed {
        flags.push("unmanaged");
    }
    if flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", flags.join(", "))
    }
}

fn clone_status(sched: &Sched, view: &StateView, clone: usize, out: &mut String) {
    let rsc = &sched.rscs[clone];
    let Some(&first) = rsc.children.first() else {
        return;
    };
    let child_id = super::unpack::strip_instance(&sched.rscs[first].id);
    let unique = rsc.clone.is_some_and(|c| c.unique);
    let suffix = collective_flags(sched, rsc, if unique { vec!["unique"] } else { Vec::new() });
    out.push_str(&format!(
        "    * Clone Set: {} [{child_id}]{suffix}:\n",
        rsc.id
    ));
    if unique {
        for &instance in &rsc.children {
            for p in primitives_under(sched, instance) {
                out.push_str(&format!("      * {}\n", primitive_line(sched, view, p)));
            }
        }
        return;
    }
    let mut started: Vec<&str> = Vec::new();
    let mut active = vec![false; sched.nodes.len()];
    for &instance in &rsc.children {
        let prims = primitives_under(sched, instance);
        let healthy = prims.iter().all(|&p| !view.failed[p]);
        let nodes: Vec<usize> = prims
            .iter()
            .flat_map(|&p| view.running[p].iter().copied())
            .collect();
        for &n in &nodes {
            active[n] = true;
        }
        if let Some(&n) = nodes.first()
            && healthy
            && prims.iter().all(|&p| view.running[p].contains(&n))
        {
            started.push(&sched.nodes[n].name);
        } else {
            for p in prims {
                if !view.running[p].is_empty() {
                    out.push_str(&format!("      * {}\n", primitive_line(sched, view, p)));
                }
            }
        }
    }
    started.sort_by(|a, b| natural_cmp(a, b));
    started.dedup();
    if !started.is_empty() {
        out.push_str(&format!("      * Started: [ {} ]\n", started.join(" ")));
    }
    let mut stopped: Vec<&str> = (0..sched.nodes.len())
        .filter(|&n| !active[n] && rsc.allowed[n].is_some())
        .map(|n| sched.nodes[n].name.as_str())
        .collect();
    stopped.sort_by(|a, b| natural_cmp(a, b));
    if !stopped.is_empty() {
        out.push_str(&format!("      * Stopped: [ {} ]\n", stopped.join(" ")));
    }
}

fn explain_primitive(sched: &Sched, r: usize) -> Explanation {
    let rsc = &sched.rscs[r];
    let mut scores = Vec::new();
    for n in sorted_allowed_nodes(sched, r) {
        scores.push(NodeScore {
            node: sched.nodes[n].name.clone(),
            score: rsc.allowed[n].unwrap_or(Score::NEG_INFINITY),
            unavailable: sched.nodes[n].unavailable_reason().map(str::to_string),
            terms: rsc.terms[n]
                .iter()
                .map(|(source, score)| ScoreTerm {
                    source: source.clone(),
                    score: *score,
                })
                .collect(),
        });
    }
    for (n, node) in sched.nodes.iter().enumerate() {
        if rsc.allowed[n].is_none() {
            scores.push(NodeScore {
                node: node.name.clone(),
                score: Score::NEG_INFINITY,
                unavailable: Some(
                    node.unavailable_reason()
                        .unwrap_or("not allowed (no location constraint enables it)")
                        .to_string(),
                ),
                terms: Vec::new(),
            });
        }
    }
    let placed = rsc.assigned.filter(|_| rsc.next_role == Role::Started);
    let why = why_sentence(sched, r, placed, &scores);
    Explanation {
        resource: rsc.id.clone(),
        node: placed.map(|n| sched.nodes[n].name.clone()),
        current: rsc
            .running_on
            .iter()
            .map(|&n| sched.nodes[n].name.clone())
            .collect(),
        why,
        scores,
    }
}

fn why_sentence(sched: &Sched, r: usize, placed: Option<usize>, scores: &[NodeScore]) -> String {
    let rsc = &sched.rscs[r];
    if !rsc.managed {
        return match rsc.running_on.first() {
            Some(&n) => format!(
                "{} is not managed by the cluster, so it stays where it is ({})",
                rsc.id, sched.nodes[n].name
            ),
            None => format!(
                "{} is not managed by the cluster and is not running",
                rsc.id
            ),
        };
    }
    if rsc.orphan {
        return format!("{} is no longer configured, so it is stopped", rsc.id);
    }
    if rsc.target_role == Some(Role::Stopped) {
        return format!("{} has target-role Stopped", rsc.id);
    }
    match placed {
        Some(n) => {
            let best = scores.first();
            let stays = rsc.running_on.contains(&n);
            let tie = scores.get(1).is_some_and(|second| {
                best.is_some_and(|b| b.score == second.score && second.unavailable.is_none())
            });
            let mut text = format!(
                "{} {} on {} because it has the highest score there ({})",
                rsc.id,
                if stays { "stays" } else { "runs" },
                sched.nodes[n].name,
                rsc.allowed[n].unwrap_or(Score::ZERO)
            );
            if tie {
                text.push_str(
                    "; equal scores are broken by fewer resources already placed, then the current node, then the node name",
                );
            }
            text
        }
        None => {
            if rsc.stop_reason.as_deref() == Some("stop-all-resources") {
                return format!("{} is stopped because stop-all-resources is set", rsc.id);
            }
            let usable = scores
                .iter()
                .any(|s| s.unavailable.is_none() && s.score.value() >= 0);
            if usable {
                format!(
                    "{} is stopped because the actions it needs cannot run (see the summary reason)",
                    rsc.id
                )
            } else {
                format!(
                    "{} is stopped because no node can run it: every node is unavailable or scores -INFINITY",
                    rsc.id
                )
            }
        }
    }
}
