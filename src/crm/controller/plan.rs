//! Turns the scheduler's transition into the plan the controller executes: each action gets
//! what its node's executor needs (agent, parameters, meta attributes, timeout), and each
//! ordering becomes a dependency.

use std::collections::BTreeMap;

use super::graph::{ActionKind, Plan, PlannedAction, ResourceOp};
use crate::crm::cib::{Cib, NvList, Primitive, Resource, parse_duration_ms};
use crate::crm::scheduler::{self, Transition};

/// The executor's time limit when neither the op nor `op_defaults` set one.
pub const DEFAULT_OP_TIMEOUT_MS: u64 = 20_000;

/// Runs the scheduler on `cib` at `now` and returns the executable plan.
pub fn schedule_plan(cib: &Cib, now: i64) -> Result<Plan, String> {
    let transition = scheduler::schedule(cib, scheduler::effective_now(cib, now));
    Ok(plan_from_transition(cib, &transition))
}

/// Converts a transition; actions that cannot be carried out (unrunnable or merely optional)
/// are left out, and so are orderings that touch them.
pub fn plan_from_transition(cib: &Cib, transition: &Transition) -> Plan {
    let mut index_of: BTreeMap<usize, usize> = BTreeMap::new();
    let mut actions = Vec::new();
    for action in &transition.actions {
        if !action.runnable || action.optional {
            continue;
        }
        let kind = match (
            action.task,
            action.resource.as_deref(),
            action.node.as_deref(),
        ) {
            ("stonith", _, Some(node)) => ActionKind::Fence {
                node: node.to_string(),
            },
            (task, Some(rsc), Some(node)) if !action.pseudo && is_agent_task(task) => {
                match resource_op(cib, rsc, task, action.interval_ms, node) {
                    Some(op) => ActionKind::Resource(op),
                    None => ActionKind::Pseudo,
                }
            }
            _ => ActionKind::Pseudo,
        };
        let key = format!(
            "{}_{}_{}",
            action.resource.as_deref().unwrap_or("cluster"),
            action.task,
            action.interval_ms
        );
        index_of.insert(action.id, actions.len());
        actions.push(PlannedAction {
            key,
            kind,
            deps: Vec::new(),
        });
    }
    for ordering in &transition.orderings {
        if let (Some(&first), Some(&then)) =
            (index_of.get(&ordering.first), index_of.get(&ordering.then))
            && first != then
            && !actions[then].deps.contains(&first)
        {
            actions[then].deps.push(first);
        }
    }
    Plan { actions }
}

fn is_agent_task(task: &str) -> bool {
    matches!(
        task,
        "start" | "stop" | "monitor" | "cancel" | "reload" | "promote" | "demote"
    )
}

/// Everything the executor needs for one call. Clone instances (`rsc:0`) use their base
/// primitive; resources only known from history (orphans) use the recorded agent.
fn resource_op(
    cib: &Cib,
    rsc: &str,
    task: &str,
    interval_ms: u64,
    node: &str,
) -> Option<ResourceOp> {
    let base = rsc.split(':').next().unwrap_or(rsc);
    let config = &cib.configuration;
    let (class, provider, kind, params, meta, ops) = match find_primitive(&config.resources, base) {
        Some((p, parents)) => {
            let mut params = NvList::new();
            let mut meta = NvList::new();
            for (name, value) in config.rsc_defaults.iter() {
                meta.set(name, value);
            }
            for parent in &parents {
                for (name, value) in parent.meta().iter() {
                    meta.set(name, value);
                }
                if let Resource::Group(group) = parent {
                    for (name, value) in group.params.iter() {
                        params.set(name, value);
                    }
                }
            }
            for (name, value) in p.params.iter() {
                params.set(name, value);
            }
            for (name, value) in p.meta.iter() {
                meta.set(name, value);
            }
            (
                p.class.clone(),
                p.provider.clone(),
                p.kind.clone(),
                params,
                meta,
                p.ops.clone(),
            )
        }
        None => {
            let history = cib
                .status
                .nodes
                .iter()
                .flat_map(|n| &n.resources)
                .find(|h| h.id == rsc || h.id == base)?;
            let (class, provider, kind) = (
                history.class.clone(),
                history.provider.clone(),
                history.kind.clone(),
            );
            (
                class,
                provider,
                kind,
                NvList::new(),
                NvList::new(),
                Vec::new(),
            )
        }
    };
    let configured = ops.iter().find(|op| {
        op.name == task && op.interval_ms() == interval_ms
            || (task == "cancel" && op.name == "monitor" && op.interval_ms() == interval_ms)
    });
    let timeout_ms = configured
        .and_then(|op| op.timeout_ms())
        .or_else(|| {
            config
                .op_defaults
                .get("timeout")
                .and_then(parse_duration_ms)
        })
        .unwrap_or(DEFAULT_OP_TIMEOUT_MS);
    let operation = if task == "cancel" { "cancel" } else { task };
    Some(ResourceOp {
        rsc: rsc.to_string(),
        class,
        provider,
        kind,
        operation: operation.to_string(),
        interval_ms,
        node: node.to_string(),
        params,
        meta,
        timeout_ms,
    })
}

/// The primitive `id` and its ancestors, outermost first.
fn find_primitive<'a>(
    resources: &'a [Resource],
    id: &str,
) -> Option<(&'a Primitive, Vec<&'a Resource>)> {
    for resource in resources {
        let children: &[Resource] = match resource {
            Resource::Primitive(p) if p.id == id => return Some((p, Vec::new())),
            Resource::Primitive(_) => continue,
            Resource::Group(group) => &group.children,
            Resource::Clone(clone) => std::slice::from_ref(&*clone.child),
        };
        if let Some((primitive, mut parents)) = find_primitive(children, id) {
            parents.insert(0, resource);
            return Some((primitive, parents));
        }
    }
    None
}
