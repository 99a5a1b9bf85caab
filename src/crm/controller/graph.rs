//! A transition graph as the controller runs it: planned actions with dependencies, and the
//! bookkeeping of which are waiting, in flight, done or failed. Pure data; no I/O.

use serde::{Deserialize, Serialize};

use crate::crm::cib::NvList;

/// What the scheduler decided, in the shape the controller executes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Actions; `deps` index into this list.
    pub actions: Vec<PlannedAction>,
}

/// One action of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// Human key, e.g. `vip_start_0` or `my_group_running_0`.
    pub key: String,
    /// What to do.
    pub kind: ActionKind,
    /// Indexes of actions that must complete first.
    pub deps: Vec<usize>,
}

/// The kinds of action the controller knows how to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A resource-agent call on one node.
    Resource(ResourceOp),
    /// A bookkeeping step with nothing to run (group started, group stopped, …).
    Pseudo,
    /// A node must be fenced. No fencing device exists yet: the action fails, so the
    /// transition stops there, as Pacemaker's does when fencing cannot complete.
    Fence {
        /// Node to fence.
        node: String,
    },
}

/// A resource-agent call the controller sends to a node's executor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceOp {
    /// Resource id.
    pub rsc: String,
    /// Agent class (`ocf`, `lsb`, …).
    pub class: String,
    /// OCF provider.
    pub provider: Option<String>,
    /// Agent name.
    pub kind: String,
    /// `start`, `stop`, `monitor`, `cancel`, …
    pub operation: String,
    /// 0 for one-shot; the period for recurring monitors.
    pub interval_ms: u64,
    /// Node name that runs it.
    pub node: String,
    /// Agent parameters.
    pub params: NvList,
    /// Meta attributes the agent may read (`OCF_RESKEY_CRM_meta_*`).
    pub meta: NvList,
    /// Time limit.
    pub timeout_ms: u64,
}

impl ResourceOp {
    /// The code asked for: 7 (not running) for a probe, 0 otherwise.
    pub fn expected_rc(&self) -> i32 {
        if self.operation == "monitor" && self.interval_ms == 0 {
            7
        } else {
            0
        }
    }

    /// The code that counts as success: a probe may find the resource stopped (7).
    pub fn is_expected(&self, rc: i32) -> bool {
        match (self.operation.as_str(), self.interval_ms) {
            ("monitor", 0) => rc == 0 || rc == 7,
            _ => rc == 0,
        }
    }
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Dependencies not yet done.
    Waiting,
    /// Sent to its node.
    InFlight,
    /// Finished as expected.
    Done,
    /// Finished otherwise, or could not run.
    Failed,
}

/// A plan being executed.
#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    /// The transition number.
    pub id: u64,
    /// The plan.
    pub plan: Plan,
    /// One state per action.
    pub states: Vec<ActionState>,
    /// Once set, nothing new is dispatched; the graph ends when nothing is in flight.
    pub aborted: bool,
}

impl Graph {
    /// A graph with every action waiting.
    pub fn new(id: u64, plan: Plan) -> Graph {
        let states = vec![ActionState::Waiting; plan.actions.len()];
        Graph {
            id,
            plan,
            states,
            aborted: false,
        }
    }

    /// Actions whose dependencies are all done and that can be started now; pseudo actions
    /// among them are completed on the spot (repeatedly, so chains of them resolve).
    pub fn take_ready(&mut self) -> Vec<usize> {
        let mut ready = Vec::new();
        if self.aborted {
            return ready;
        }
        loop {
            let mut progressed = false;
            for index in 0..self.plan.actions.len() {
                if self.states[index] != ActionState::Waiting || !self.deps_done(index) {
                    continue;
                }
                match self.plan.actions[index].kind {
                    ActionKind::Pseudo => {
                        self.states[index] = ActionState::Done;
                        progressed = true;
                    }
                    ActionKind::Resource(_) | ActionKind::Fence { .. } => {
                        self.states[index] = ActionState::InFlight;
                        ready.push(index);
                    }
                }
            }
            if !progressed {
                return ready;
            }
        }
    }

    fn deps_done(&self, index: usize) -> bool {
        self.plan.actions[index].deps.iter().all(|&dep| {
            self.states
                .get(dep)
                .is_some_and(|state| *state == ActionState::Done)
        })
    }

    /// Records an action's outcome. A failure aborts the graph so the scheduler can decide
    /// again with the new facts.
    pub fn complete(&mut self, index: usize, ok: bool) {
        if let Some(state) = self.states.get_mut(index)
            && *state == ActionState::InFlight
        {
            {
                *state = if ok {
                    ActionState::Done
                } else {
                    ActionState::Failed
                };
                if !ok {
                    self.aborted = true;
                }
            }
        }
    }

    /// Actions sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.states
            .iter()
            .filter(|s| **s == ActionState::InFlight)
            .count()
    }

    /// True when nothing more will happen in this graph.
    pub fn is_finished(&self) -> bool {
        self.in_flight() == 0
            && (self.aborted || self.states.iter().all(|s| *s != ActionState::Waiting))
    }

    /// Marks in-flight actions on `node` failed (the node left), aborting the graph.
    pub fn fail_node(&mut self, node: &str) {
        for index in 0..self.plan.actions.len() {
            let on_node = match &self.plan.actions[index].kind {
                ActionKind::Resource(op) => op.node == node,
                ActionKind::Fence { .. } | ActionKind::Pseudo => false,
            };
            if on_node && self.states[index] == ActionState::InFlight {
                self.states[index] = ActionState::Failed;
                self.aborted = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(rsc: &str, operation: &str) -> ActionKind {
        ActionKind::Resource(ResourceOp {
            rsc: rsc.into(),
            class: "ocf".into(),
            provider: Some("heartbeat".into()),
            kind: "Dummy".into(),
            operation: operation.into(),
            interval_ms: 0,
            node: "node1".into(),
            params: NvList::new(),
            meta: NvList::new(),
            timeout_ms: 20_000,
        })
    }

    fn action(key: &str, kind: ActionKind, deps: &[usize]) -> PlannedAction {
        PlannedAction {
            key: key.into(),
            kind,
            deps: deps.to_vec(),
        }
    }

    #[test]
    fn dependencies_release_actions_in_order_and_pseudo_actions_complete_themselves() {
        let plan = Plan {
            actions: vec![
                action("a_start_0", op("a", "start"), &[]),
                action("g_running_0", ActionKind::Pseudo, &[0]),
                action("b_start_0", op("b", "start"), &[1]),
            ],
        };
        let mut graph = Graph::new(1, plan);
        assert_eq!(graph.take_ready(), vec![0]);
        assert!(graph.take_ready().is_empty());
        graph.complete(0, true);
        assert_eq!(graph.take_ready(), vec![2]);
        graph.complete(2, true);
        assert!(graph.is_finished());
    }

    #[test]
    fn a_failure_aborts_and_holds_back_the_rest() {
        let plan = Plan {
            actions: vec![
                action("a_start_0", op("a", "start"), &[]),
                action("c_start_0", op("c", "start"), &[]),
                action("b_start_0", op("b", "start"), &[0]),
            ],
        };
        let mut graph = Graph::new(1, plan);
        assert_eq!(graph.take_ready(), vec![0, 1]);
        graph.complete(0, false);
        assert!(!graph.is_finished(), "c is still in flight");
        graph.complete(1, true);
        assert!(graph.take_ready().is_empty());
        assert!(graph.is_finished());
    }

    #[test]
    fn probes_accept_not_running() {
        let ActionKind::Resource(mut probe) = op("a", "monitor") else {
            unreachable!()
        };
        assert!(probe.is_expected(7));
        probe.interval_ms = 10_000;
        assert!(!probe.is_expected(7));
    }
}
