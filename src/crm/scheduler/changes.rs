//! Configuration changes found in the recorded history (before placement): a resource whose
//! agent changed is cleaned up and restarted; an operation whose parameters changed since it
//! ran (its recorded digest differs from the one computed now) makes the resource reload,
//! restart or reschedule the recurring operation, and clears a fail count earned under the old
//! definition (Pacemaker's `pcmk__handle_rsc_config_changes` and `rsc_action_digest_cmp`).

use super::super::cib::{Cib, OpRecord, parse_duration_ms};
use super::super::digest::sorted_parameters_digest;
use super::actions::flags::{ORDERED, THEN_CANCELS_FIRST};
use super::actions::{custom_action, order_actions_by_task};
use super::task::Task;
use super::unpack::{Sched, Variant, add_clear_failcount};

/// What comparing a recorded operation with the configuration found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DigestMatch {
    /// Same parameters.
    Match,
    /// Parameters changed; an agent reload (or rescheduling a recurring op) applies them.
    Mismatch,
    /// Parameters that need a restart changed.
    Restart,
    /// The record carries no digest to compare with.
    Unknown,
}

/// The executor's time limit when neither the op nor `op_defaults` set one.
const DEFAULT_TIMEOUT_MS: u64 = 20_000;

/// The parameters an operation of `rsc` runs with, as Pacemaker digests them: the resource's
/// (and its parents') parameters, overridden by the op's own, plus the op timeout for
/// recurring ops (its text in `timeout`), sorted by name. Also says whether a one-time op
/// carries op-specific parameters (a change then needs a restart where a reload would do).
fn digest_parameters<'a>(
    sched: &'a Sched,
    rsc: usize,
    task: &str,
    interval_ms: u64,
    timeout: &'a mut String,
) -> (Vec<(&'a str, &'a str)>, bool) {
    let r = &sched.rscs[rsc];
    let mut all: Vec<(&str, &str)> = r
        .params
        .iter()
        .filter(|(name, _)| !is_digest_bookkeeping(name))
        .collect();
    let config = r
        .ops
        .iter()
        .find(|o| o.name == task && o.interval_ms() == interval_ms);
    let mut op_params = false;
    if let Some(op) = config {
        op_params = interval_ms == 0 && !op.params.is_empty();
        for (name, value) in op.params.iter() {
            if is_digest_bookkeeping(name) {
                continue;
            }
            match all.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => all.push((name, value)),
            }
        }
    }
    if interval_ms > 0 {
        let spec = config
            .and_then(|op| op.attrs.get("timeout"))
            .or_else(|| sched.op_defaults.get("timeout"));
        let timeout_ms = spec
            .and_then(parse_duration_ms)
            .unwrap_or(DEFAULT_TIMEOUT_MS);
        *timeout = timeout_ms.to_string();
        all.push(("CRM_meta_timeout", timeout.as_str()));
    }
    all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    (all, op_params)
}

/// Compares a recorded operation of `rsc` with the current configuration.
pub(super) fn compare_digest(sched: &Sched, rsc: usize, op: &OpRecord) -> DigestMatch {
    // Nothing recorded to compare with, nothing to compute.
    if op.op_digest.is_none() && op.op_restart_digest.is_none() {
        return DigestMatch::Unknown;
    }
    let mut timeout = String::new();
    let (all, op_params) =
        digest_parameters(sched, rsc, &op.operation, op.interval_ms, &mut timeout);
    let mut buffer = String::new();
    if let Some(recorded) = &op.op_restart_digest {
        // Only the parameters the agent cannot reload count here.
        let restart: Vec<(&str, &str)> = match op.op_force_restart.as_deref() {
            Some(list) => all
                .iter()
                .copied()
                .filter(|(name, _)| list.split_whitespace().any(|p| p == *name))
                .collect(),
            None => all.clone(),
        };
        if &sorted_parameters_digest(&restart, &mut buffer) != recorded {
            return DigestMatch::Restart;
        }
    }
    let Some(recorded) = &op.op_digest else {
        return DigestMatch::Unknown;
    };
    if &sorted_parameters_digest(&all, &mut buffer) == recorded {
        DigestMatch::Match
    } else if op.interval_ms == 0 && op_params {
        DigestMatch::Restart
    } else {
        DigestMatch::Mismatch
    }
}

/// Whether a node of an older feature set recorded it: those digested the private
/// parameters from the resource parameters alone, without fencing parameters or timeout.
fn is_old_feature_set(op: &OpRecord) -> bool {
    let Some(version) = op.crm_feature_set.as_deref() else {
        return false;
    };
    let parts = |v: &str| -> Vec<u64> {
        v.split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect()
    };
    parts(version) < vec![3, 16, 0]
}

/// Pacemaker's special fencing parameters (`pcmk_host_list`, `pcmk_reboot_action`, …).
fn is_fencing_parameter(name: &str) -> bool {
    if matches!(name, "provides" | "stonith-timeout") {
        return true;
    }
    let Some(rest) = name.strip_prefix("pcmk_") else {
        return false;
    };
    if matches!(
        rest,
        "action_limit"
            | "delay_base"
            | "delay_max"
            | "host_argument"
            | "host_check"
            | "host_list"
            | "host_map"
    ) {
        return true;
    }
    rest.find('_')
        .is_some_and(|i| matches!(&rest[i..], "_action" | "_timeout" | "_retries"))
}

/// The recorded `op-secure-digest` still matches: only private parameters (masked in a
/// sanitized CIB) differ, so the change is not real.
fn only_private_changed(sched: &Sched, rsc: usize, op: &OpRecord) -> bool {
    let Some(recorded) = &op.op_secure_digest else {
        return false;
    };
    let private = op.op_secure_params.as_deref().unwrap_or("");
    let is_private = |name: &str| private.split_whitespace().any(|p| p == name);
    let r = &sched.rscs[rsc];
    let mut timeout = String::new();
    let mut secure: Vec<(&str, &str)> = if is_old_feature_set(op) {
        let fence_device = r.class.eq_ignore_ascii_case("stonith");
        r.params
            .iter()
            .filter(|(name, _)| !is_private(name))
            .filter(|(name, _)| !(fence_device && is_fencing_parameter(name)))
            .filter(|(name, _)| !is_digest_bookkeeping(name))
            .collect()
    } else {
        let (all, _) = digest_parameters(sched, rsc, &op.operation, op.interval_ms, &mut timeout);
        all.into_iter()
            .filter(|(name, _)| !is_private(name))
            .collect()
    };
    secure.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    &sorted_parameters_digest(&secure, &mut String::new()) == recorded
}

/// Names never part of a digest: meta attributes and record bookkeeping.
fn is_digest_bookkeeping(name: &str) -> bool {
    name.starts_with("CRM_meta_")
        || matches!(
            name,
            "id" | "crm_feature_set"
                | "op-digest"
                | "on_node"
                | "on_node_uuid"
                | "pcmk_external_ip"
        )
}

/// Goes through every usable node's history: agent changes first, then, for resources active
/// there, each operation since the latest start against the configuration.
pub(super) fn handle_rsc_config_changes(sched: &mut Sched, cib: &Cib) {
    for node in 0..sched.nodes.len() {
        let Some(state) = sched.nodes[node].state else {
            continue;
        };
        if !sched.nodes[node].online || sched.nodes[node].unclean {
            continue;
        }
        let check_digests = sched.nodes[node].is_available();
        let Some(state) = cib.status.nodes.get(state) else {
            continue;
        };
        for history in &state.resources {
            if history.ops.is_empty() {
                continue;
            }
            let instance = if sched.history_rscs.is_empty() {
                None
            } else {
                sched.history_rscs.get(&(node, history.id.clone())).copied()
            };
            let Some(rsc) = instance.or_else(|| sched.rsc_ids.get(history.id.as_str()).copied())
            else {
                continue;
            };
            let r = &sched.rscs[rsc];
            if r.variant != Variant::Primitive || r.orphan || r.removed {
                continue;
            }
            let r = &sched.rscs[rsc];
            let agent_changed = r.class != history.class
                || r.provider != history.provider
                || r.kind != history.kind;
            let active = r.running_on.contains(&node);
            if agent_changed {
                schedule_cleanup(sched, rsc, node, active);
            }
            if active && check_digests {
                check_history(sched, rsc, node, &history.ops);
            }
        }
    }
}

/// An agent change: the history is deleted (stop, delete, start), and a resource active
/// there restarts.
fn schedule_cleanup(sched: &mut Sched, rsc: usize, node: usize, active: bool) {
    if active {
        super::actions::stop_action(sched, rsc, node, false);
        sched.rscs[rsc].start_pending = true;
    }
    // A failed resource gets its history cleaned as part of the recovery anyway.
    if sched.rscs[rsc].failed {
        return;
    }
    custom_action(sched, Some(rsc), Task::Delete, 0, Some(node), false);
    order_actions_by_task(sched, rsc, Task::Stop, rsc, Task::Delete, ORDERED);
    order_actions_by_task(sched, rsc, Task::Delete, rsc, Task::Start, ORDERED);
}

/// Checks the operations since the latest start, in call order.
fn check_history(sched: &mut Sched, rsc: usize, node: usize, ops: &[OpRecord]) {
    let mut sorted: Vec<&OpRecord> = ops.iter().collect();
    sorted.sort_by_key(|op| (op.call_id < 0, op.call_id));
    let (start, stop) = active_range(&sorted);
    if start < stop {
        return;
    }
    let first = usize::try_from(start).unwrap_or(0);
    for op in &sorted[first.min(sorted.len())..] {
        let checked = op.interval_ms > 0
            || matches!(
                op.operation.as_str(),
                "monitor" | "start" | "promote" | "migrate_from"
            );
        if !checked {
            continue;
        }
        // Maintenance cancels recurring ops rather than checking them.
        if op.interval_ms > 0 && (sched.rscs[rsc].maintenance || sched.nodes[node].maintenance) {
            continue;
        }
        if check_action_config(sched, rsc, node, op) && sched.fail_count(rsc, node, true) != 0 {
            add_clear_failcount(sched, rsc, node, "action definition changed");
        }
    }
}

/// Indexes of the latest start-like and stop operations in `sorted` (-1 when none), as
/// Pacemaker's `calculate_active_ops`: a successful monitor after the last stop implies a
/// start when no start is recorded.
fn active_range(sorted: &[&OpRecord]) -> (i64, i64) {
    let (mut start, mut stop) = (-1i64, -1i64);
    let mut implied_monitor = -1i64;
    let mut implied_clone = -1i64;
    for (i, op) in sorted.iter().enumerate() {
        let i = i as i64;
        match op.operation.as_str() {
            "stop" if op.op_status == 0 => stop = i,
            "start" | "migrate_from" => start = i,
            "monitor" if implied_monitor <= stop => {
                if matches!(op.rc_code, 0 | 8) {
                    implied_monitor = i;
                }
            }
            "promote" | "demote" => implied_clone = i,
            _ => {}
        }
    }
    if start == -1 {
        start = if implied_clone != -1 {
            implied_clone
        } else {
            implied_monitor
        };
    }
    (start, stop)
}

/// One operation against the configuration; true when its definition changed (and the
/// reload, restart or reschedule is scheduled).
fn check_action_config(sched: &mut Sched, rsc: usize, node: usize, op: &OpRecord) -> bool {
    if op.interval_ms > 0 {
        let configured = sched.rscs[rsc]
            .ops
            .iter()
            .any(|o| o.name == op.operation && o.interval_ms() == op.interval_ms);
        if !configured {
            // A recurring op no longer configured counts as changed (Pacemaker cancels it).
            return true;
        }
    }
    let result = compare_digest(sched, rsc, op);
    if result != DigestMatch::Match
        && sched.options.sanitized
        && only_private_changed(sched, rsc, op)
    {
        return false;
    }
    match result {
        // Pacemaker treats a history without a digest like a changed one and restarts; hakit's
        // own controller records none, so that would restart everything it ever started.
        DigestMatch::Match | DigestMatch::Unknown => false,
        DigestMatch::Restart => {
            force_restart(sched, rsc, &op.operation, op.interval_ms);
            true
        }
        DigestMatch::Mismatch => {
            if op.interval_ms > 0 {
                reschedule_recurring(sched, rsc, node, op.interval_ms);
            } else if op.op_restart_digest.is_some() {
                // The agent supports reload.
                schedule_reload(sched, rsc, node);
            } else {
                force_restart(sched, rsc, &op.operation, op.interval_ms);
            }
            true
        }
    }
}

/// The task a one-time op's change is applied through: probes, promotes and migrations
/// compare with the parameters the resource started with.
fn task_for_change(task: &str, interval_ms: u64) -> Option<Task> {
    match task {
        "monitor" if interval_ms > 0 => Some(Task::Monitor),
        "monitor" | "migrate_from" | "promote" | "start" => Some(Task::Start),
        "stop" => Some(Task::Stop),
        "demote" => Some(Task::Demote),
        _ => None,
    }
}

/// Requires the action (on whichever node it ends up), so the resource restarts.
fn force_restart(sched: &mut Sched, rsc: usize, task: &str, interval_ms: u64) {
    let Some(task) = task_for_change(task, interval_ms) else {
        return;
    };
    let interval_ms = if task == Task::Monitor {
        interval_ms
    } else {
        0
    };
    let action = custom_action(sched, Some(rsc), task, interval_ms, None, false);
    sched.actions[action].reason = Some("resource definition change".into());
}

/// An agent reload on `node`; a required stop cancels it.
fn schedule_reload(sched: &mut Sched, rsc: usize, node: usize) {
    let r = &sched.rscs[rsc];
    if !r.managed || r.failed {
        return;
    }
    // A change while the start was pending needs the full restart.
    if r.start_pending {
        super::actions::stop_action(sched, rsc, node, false);
        return;
    }
    sched.rscs[rsc].reload = true;
    let reload = custom_action(sched, Some(rsc), Task::ReloadAgent, 0, Some(node), false);
    if sched.actions[reload].reason.is_none() {
        sched.actions[reload].reason = Some("resource definition change".into());
    }
    for then in [Task::Stop, Task::Demote] {
        super::actions::order_action_before_task(
            sched,
            reload,
            rsc,
            then,
            ORDERED | THEN_CANCELS_FIRST,
        );
    }
}

/// The recurring op runs again with the new parameters.
fn reschedule_recurring(sched: &mut Sched, rsc: usize, node: usize, interval_ms: u64) {
    custom_action(
        sched,
        Some(rsc),
        Task::Monitor,
        interval_ms,
        Some(node),
        true,
    );
    let r = &mut sched.rscs[rsc];
    if !r.rescheduled.contains(&(node, interval_ms)) {
        r.rescheduled.push((node, interval_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(operation: &str, call_id: i64, rc_code: i32) -> OpRecord {
        OpRecord {
            operation: operation.into(),
            call_id,
            rc_code,
            ..OpRecord::default()
        }
    }

    #[test]
    fn a_stop_after_the_start_means_stopped() {
        let ops = [record("start", 1, 0), record("stop", 2, 0)];
        let sorted: Vec<&OpRecord> = ops.iter().collect();
        let (start, stop) = active_range(&sorted);
        assert!(start < stop);
    }

    #[test]
    fn a_successful_monitor_implies_a_start() {
        let ops = [record("monitor", 3, 0)];
        let sorted: Vec<&OpRecord> = ops.iter().collect();
        assert_eq!(active_range(&sorted), (0, -1));
    }

    #[test]
    fn change_tasks_follow_the_start_parameters() {
        assert_eq!(task_for_change("monitor", 0), Some(Task::Start));
        assert_eq!(task_for_change("monitor", 10_000), Some(Task::Monitor));
        assert_eq!(task_for_change("promote", 0), Some(Task::Start));
    }
}
