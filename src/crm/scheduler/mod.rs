//! The scheduler: given a CIB (configuration plus recorded status) and "now", decide which
//! actions the cluster must take and in which order. A pure, deterministic function with
//! Pacemaker's placement semantics; no I/O, no clock, no randomness in here.
//!
//! Phases, each in its own module:
//! 1. [`unpack`]: options, nodes (online, unclean, standby, …), resources with their merged meta
//!    attributes, and the operation history turned into roles, failures and fail counts.
//! 2. [`assign`]: location constraints, stickiness, fail-count bans, colocations (mandatory
//!    first), then resources placed one by one in priority order with Pacemaker's tie-breaks.
//! 3. [`actions`]: start/stop/monitor actions, group pseudo-actions, fencing and shutdown,
//!    order constraints, then flag propagation (optional/runnable) along the orderings.
//! 4. [`render`]: the Transition Summary, the cluster status text, allocation scores.
//!
//! Entry point: [`schedule`].

mod actions;
mod assign;
mod changes;
mod clone;
mod render;
mod sets;
mod task;
mod unpack;
mod utilization;

use std::sync::Arc;

use serde::Serialize;

use super::cib::Cib;
use super::score::Score;

pub use render::StatusStyle;

/// "Now" for the scheduler, epoch seconds. Failure expiry and date rules read it; callers pass
/// the CIB's `execution-date` when set, else the wall clock (from `src/cli`).
pub type EpochSeconds = i64;

/// The scheduler's answer: what to do, in which order, and why.
///
/// JSON shape (`--json`), for example:
///
/// ```json
/// {"actions":[{"id":3,"task":"start","resource":"vip","node":"node1","interval_ms":0,
///   "optional":false,"runnable":true,"pseudo":false,"reason":null}],
///  "orderings":[{"first":2,"then":3,"mandatory":true}],
///  "summary":["Start      vip     ( node1 )"],
///  "placements":[{"resource":"vip","node":"node1","role":"started"}],
///  "fencing":[{"node":"node2","action":"reboot","reason":"peer is no longer part of the cluster"}],
///  "notes":[]}
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    /// Every action that is part of the transition (required and runnable, or pseudo).
    pub actions: Vec<ActionView>,
    /// Ordering edges between `actions` ids: `then` waits for `first`.
    pub orderings: Vec<OrderingView>,
    /// The Transition Summary lines in Pacemaker's wording, without the leading `* `.
    pub summary: Vec<String>,
    /// Where each primitive ends up (`node` null when stopped).
    pub placements: Vec<Placement>,
    /// Nodes that must be fenced.
    pub fencing: Vec<FenceView>,
    /// Input problems noticed and the decision taken (unknown ids, ignored constraints).
    pub notes: Vec<String>,
    /// The scheduler's working state, kept so the text views are rendered only on demand.
    #[serde(skip)]
    state: Arc<unpack::Sched>,
}

/// One action of the transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionView {
    /// Identifier used by `orderings`.
    pub id: usize,
    /// `start`, `stop`, `monitor`, `cancel`, `running`, `stopped`, `stonith`, `do_shutdown`,
    /// `clear_failcount`.
    pub task: &'static str,
    /// The resource acted on (`null` for node actions); shared with the other actions on it.
    #[serde(serialize_with = "shared_name")]
    pub resource: Option<Arc<str>>,
    /// The node it runs on (`null` for group pseudo-actions); shared likewise.
    #[serde(serialize_with = "shared_name")]
    pub node: Option<Arc<str>>,
    /// Recurring interval for monitors and cancels, 0 otherwise.
    pub interval_ms: u64,
    /// Not needed unless something else requires it.
    pub optional: bool,
    /// Can be carried out (its prerequisites can happen).
    pub runnable: bool,
    /// Bookkeeping only: nothing is executed (group milestones, stops implied by fencing).
    pub pseudo: bool,
    /// Why it is required or blocked, as in the summary (`required vip start`).
    pub reason: Option<String>,
}

/// Serialises a shared name as the plain string (or null) it stands for.
fn shared_name<S: serde::Serializer>(name: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    match name {
        Some(name) => s.serialize_str(name),
        None => s.serialize_none(),
    }
}

/// `then` may only begin after `first` completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderingView {
    /// Action id that goes first.
    pub first: usize,
    /// Action id that waits.
    pub then: usize,
    /// When false, the order applies only if both happen anyway.
    pub mandatory: bool,
}

/// A primitive's placement after this transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Primitive id.
    pub resource: String,
    /// Node it will run on, `null` when stopped.
    pub node: Option<String>,
    /// Nodes it runs on now.
    pub current: Vec<String>,
}

/// A fencing decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FenceView {
    /// Node to fence.
    pub node: String,
    /// `reboot` or `off`.
    pub action: String,
    /// Why, in Pacemaker's words.
    pub reason: String,
}

/// One term that contributed to a resource's score on a node, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoreTerm {
    /// What added it: `location loc1`, `stickiness`, `colocation with db`, `fail count 3 >=
    /// migration-threshold 3`, …
    pub source: String,
    /// The amount added (saturating).
    pub score: Score,
}

/// Per node: the final score of a primitive and the terms that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeScore {
    /// Node name.
    pub node: String,
    /// Score used when choosing (after colocations).
    pub score: Score,
    /// Whether the node could run resources at all, and if not why (`standby`, `offline`, …).
    pub unavailable: Option<String>,
    /// Contributions in the order they were applied.
    pub terms: Vec<ScoreTerm>,
}

/// Why a resource is where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Resource id.
    pub resource: String,
    /// Node it will run on (`null` when stopped).
    pub node: Option<String>,
    /// Nodes it runs on now.
    pub current: Vec<String>,
    /// One sentence why.
    pub why: String,
    /// Per node detail, best first.
    pub scores: Vec<NodeScore>,
}

impl Transition {
    /// The Transition Summary block as `crm_simulate -S` prints it (with its heading).
    pub fn summary_block(&self) -> String {
        let mut out = String::from("Transition Summary:\n");
        for line in &self.summary {
            out.push_str("  * ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The cluster status before the transition ("Current cluster status").
    pub fn current_status(&self) -> String {
        render::status_text_current(&self.state)
    }

    /// The cluster status after every action succeeded ("Revised Cluster Status").
    pub fn revised_status(&self) -> String {
        render::execute(&self.state).1
    }

    /// The "Executing Cluster Transition" lines in the order a simulated run would fire them.
    pub fn executing_block(&self) -> String {
        render::execute(&self.state).0
    }

    /// Lines printed above the status (execution date, disabled/blocked counts).
    pub fn preamble(&self) -> String {
        render::preamble(&self.state)
    }

    /// The allocation scores in the `.scores` format, sorted.
    pub fn scores_text(&self) -> String {
        render::scores_text(&self.state)
    }

    /// The full `crm_simulate -S` style output: preamble, current status, summary, executing
    /// lines and revised status.
    pub fn simulate_text(&self) -> String {
        let (executing, revised) = render::execute(&self.state);
        let mut out = self.preamble();
        out.push_str("Current cluster status:\n");
        out.push_str(&self.current_status());
        out.push('\n');
        out.push_str(&self.summary_block());
        out.push('\n');
        out.push_str("Executing Cluster Transition:\n");
        out.push_str(&executing);
        out.push('\n');
        out.push_str("Revised Cluster Status:\n");
        out.push_str(&revised);
        out
    }

    /// The explanation for one resource (primitive or group), or `None` when unknown.
    pub fn explain(&self, resource: &str) -> Option<Explanation> {
        render::explain(&self.state, resource)
    }

    /// Explanations for every primitive and group, in scheduling order.
    pub fn explanations(&self) -> Vec<Explanation> {
        render::explanations(&self.state)
    }
}

/// Computes the transition for `cib` at time `now` (epoch seconds). Never panics on bad
/// input: unknown references and impossible constraints are skipped or leave resources
/// stopped, and [`Transition::notes`] says so.
pub fn schedule(cib: &Cib, now: EpochSeconds) -> Transition {
    run(cib, now, false, false)
}

/// Like [`schedule`], with `crm_simulate`'s assumption that the CIB may have its private
/// parameters (passwords) masked: a history whose only changed parameters are private ones
/// (the recorded `op-secure-digest` still matches) does not count as a definition change.
pub fn simulate(cib: &Cib, now: EpochSeconds) -> Transition {
    run(cib, now, false, true)
}

/// Like [`schedule`], and also records every score term so [`Transition::explain`] can say
/// where each node's score came from. Same decisions, somewhat slower.
pub fn schedule_explained(cib: &Cib, now: EpochSeconds) -> Transition {
    run(cib, now, true, false)
}

fn run(cib: &Cib, now: EpochSeconds, record_terms: bool, sanitized: bool) -> Transition {
    let mut sched = unpack::unpack(cib, now, record_terms, sanitized);
    assign::apply_node_criteria(&mut sched);
    actions::create_internal_constraints(&mut sched);
    changes::handle_rsc_config_changes(&mut sched, cib);
    assign::assign_resources(&mut sched);
    actions::schedule_resource_actions(&mut sched);
    actions::schedule_fencing_and_shutdowns(&mut sched);
    actions::apply_orderings(&mut sched);
    render::finish(sched)
}

/// The "now" to use for `cib`: its `execution-date` when recorded, else `wall_clock`.
pub fn effective_now(cib: &Cib, wall_clock: EpochSeconds) -> EpochSeconds {
    cib.status.execution_date.unwrap_or(wall_clock)
}

#[cfg(test)]
mod tests;
