//! Membership, totally ordered delivery and quorum: the core behind `ha-ring`.

pub mod auth;
pub mod cfgsync;
pub mod config;
pub mod fuzz;
pub mod group;
pub mod node;
pub mod quorum;
pub mod timer;
pub mod wire;

pub use auth::AuthKey;
pub use config::{NodeId, RingConfig, RingNode, Transport};
pub use group::{ClientId, GroupEvent, LeaveReason, Member};
pub use node::{GatherReason, Input, Node, Output, Request, RequestError, RingEvent, RingStatus};
pub use quorum::{QuorumConfig, QuorumState};
pub use wire::{DropReason, RingId};
