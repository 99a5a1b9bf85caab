//! The tasks an action can carry. A closed set, so actions and orderings compare and hash
//! them as small integers instead of strings (a large transition has tens of thousands).

use std::fmt;

/// What an action does: a resource-agent call, a group or clone milestone, or a node action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Task {
    Start,
    Stop,
    Monitor,
    Promote,
    Demote,
    /// Milestone: every member (instance) started.
    Running,
    /// Milestone: every member (instance) stopped.
    Stopped,
    /// Apply changed parameters without a restart (OCF `reload-agent`).
    ReloadAgent,
    Delete,
    ClearFailcount,
    Stonith,
    DoShutdown,
    /// Pseudo-action of an ordering after a clone that needs only some instances
    /// (`clone-min`, `require-all=false`): runnable once enough instances' actions are.
    OneOrMore,
}

impl Task {
    /// Pacemaker's name for the task, as it appears in keys, summaries and JSON.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Task::Start => "start",
            Task::Stop => "stop",
            Task::Monitor => "monitor",
            Task::Promote => "promote",
            Task::Demote => "demote",
            Task::Running => "running",
            Task::Stopped => "stopped",
            Task::ReloadAgent => "reload-agent",
            Task::Delete => "delete",
            Task::ClearFailcount => "clear_failcount",
            Task::Stonith => "stonith",
            Task::DoShutdown => "do_shutdown",
            Task::OneOrMore => "clone-one-or-more",
        }
    }

    /// The task an order constraint may name (`first-action`, `then-action`).
    pub(super) fn from_order_action(name: &str) -> Option<Task> {
        match name {
            "start" => Some(Task::Start),
            "stop" => Some(Task::Stop),
            "promote" => Some(Task::Promote),
            "demote" => Some(Task::Demote),
            _ => None,
        }
    }

    /// The opposite action for a symmetrical order's reverse half.
    pub(super) fn inverse(self) -> Option<Task> {
        match self {
            Task::Start => Some(Task::Stop),
            Task::Stop => Some(Task::Start),
            Task::Promote => Some(Task::Demote),
            Task::Demote => Some(Task::Promote),
            _ => None,
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
