//! Messages controllers exchange through the ring's `crm` process group. The ring delivers them
//! to every member in one total order, with membership changes at the same point of the
//! stream on every member, so each controller applies them as a deterministic state machine:
//! same messages, same order, same CIB everywhere.
//!
//! JSON form, one message per group send, e.g.
//! `{"update":{"origin":1,"request":4,"base_epoch":7,"configuration":{…}}}`.

use serde::{Deserialize, Serialize};

use super::graph::ResourceOp;
use crate::crm::cib::{Configuration, NvList, OpRecord, ResourceHistory};

/// A ring node id.
pub type NodeId = u32;

/// One controller-to-controller message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmMessage {
    /// Every member's state, sent after each membership change; once all of a view's
    /// announcements are delivered every member merges them the same way.
    Announce(Announce),
    /// A configuration replacement, accepted only if the CIB is still at `base_epoch`.
    Update {
        /// Node whose client asked.
        origin: NodeId,
        /// Request number, unique per origin.
        request: u64,
        /// The configuration epoch the change was made against.
        base_epoch: u64,
        /// The whole new configuration.
        configuration: Box<Configuration>,
    },
    /// A member's acknowledgement that it stored an update.
    Applied {
        /// Node whose client asked.
        origin: NodeId,
        /// The request acknowledged.
        request: u64,
        /// The acknowledging node.
        by: NodeId,
    },
    /// The DC asks the node named in `op` to run an action.
    Execute {
        /// Transition number.
        transition: u64,
        /// Action index in that transition.
        action: usize,
        /// The call.
        op: Box<ResourceOp>,
    },
    /// A node reports an operation result (a transition's action or a recurring monitor).
    Result(Box<OpResult>),
    /// A node's transient attributes changed (e.g. `shutdown` set when it is leaving).
    Attributes {
        /// Node name.
        node: String,
        /// All of its transient attributes now.
        attributes: NvList,
    },
    /// Forget a resource's history and failures, so it is probed afresh.
    Cleanup {
        /// Resource id.
        rsc: String,
        /// Only on this node; all nodes when `None`.
        node: Option<String>,
    },
}

/// What a member brings to a new view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announce {
    /// The view this announcement belongs to.
    pub view: u64,
    /// Sender's node id.
    pub node: NodeId,
    /// Sender's node name.
    pub name: String,
    /// Sender's CIB version `(admin_epoch, epoch, num_updates)`.
    pub version: (u64, u64, u64),
    /// Sender's configuration.
    pub configuration: Box<Configuration>,
    /// What the sender's executor has run (the truth about that node).
    pub history: Vec<ResourceHistory>,
    /// Sender's transient attributes (fail counts, shutdown).
    pub attributes: NvList,
}

/// One operation result as every member records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpResult {
    /// Node that ran it.
    pub node: String,
    /// `(transition, action)` when it was a transition's action.
    pub action: Option<(u64, usize)>,
    /// Resource id.
    pub rsc: String,
    /// Agent class.
    pub class: String,
    /// Agent provider.
    pub provider: Option<String>,
    /// Agent name.
    pub kind: String,
    /// The history record.
    pub record: OpRecord,
    /// The node's transient attributes after this result (fail counts move with it).
    pub attributes: NvList,
}
