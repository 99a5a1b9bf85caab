//! The `ha-lrmd` control-socket commands: argument and answer shapes, shared by the daemon
//! and [`super::client`]. Framing and envelope are [`crate::ipc`]'s; see docs/LRMD.md.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::executor::{ExecutorStatus, OpId, OpResult, ResourceSnapshot};

/// Command names.
pub mod cmd {
    /// Run an action now, or register a recurring one.
    pub const EXEC: &str = "exec";
    /// Cancel a recurring op (or queued one-shot ops).
    pub const CANCEL: &str = "cancel";
    /// Forget a resource: its recurring ops, tracked processes and history.
    pub const FORGET: &str = "forget";
    /// Resources with tracked processes and op history.
    pub const RESOURCES: &str = "resources";
    /// Daemon counters.
    pub const STATUS: &str = "status";
    /// Stream `op_result` events on this connection.
    pub const SUBSCRIBE: &str = "subscribe";
    /// Agent classes.
    pub const RA_CLASSES: &str = "ra_classes";
    /// OCF providers.
    pub const RA_PROVIDERS: &str = "ra_providers";
    /// Agents of a class.
    pub const RA_LIST: &str = "ra_list";
    /// An agent's meta-data and how it runs.
    pub const RA_INFO: &str = "ra_info";
}

/// `exec` arguments.
///
/// `{"resource":"vip","agent":"ocf:heartbeat:IPaddr2","action":"start","params":{"ip":
/// "10.0.0.9"},"meta":{},"interval_ms":0,"timeout_ms":20000,"token":17,"wait":true}`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecArgs {
    /// Resource id (`OCF_RESOURCE_INSTANCE`).
    pub resource: String,
    /// Agent name: `ocf:PROVIDER:TYPE`, `lsb:NAME`, `systemd:UNIT`, `service:NAME`.
    pub agent: String,
    /// Action: `start`, `stop`, `monitor`, `meta-data`, `validate-all`, `reload`, ...
    pub action: String,
    /// Agent parameters (`OCF_RESKEY_*`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Op meta attributes (`OCF_RESKEY_CRM_meta_*`); `monitor-by` (`agent` or `processes`)
    /// chooses how an LSB resource is monitored.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// 0 for a one-shot op; otherwise the op recurs at this interval.
    #[serde(default)]
    pub interval_ms: u64,
    /// Timeout of each run (default 20000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Caller's tag, echoed as `client` in every result of this op.
    #[serde(default)]
    pub token: u64,
    /// One-shot only: reply with the result when the op ends instead of at once.
    #[serde(default)]
    pub wait: bool,
}

/// `exec` reply when not waiting (and for every recurring op): `{"op":12}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// The op id; results carry it in `op`.
    pub op: OpId,
}

/// `cancel` arguments: `{"resource":"vip","action":"monitor","interval_ms":10000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelArgs {
    /// Resource id.
    pub resource: String,
    /// Action name.
    pub action: String,
    /// Interval of the recurring op (0: queued one-shot ops of that action).
    pub interval_ms: u64,
}

/// `forget` arguments: `{"resource":"vip"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgetArgs {
    /// Resource id.
    pub resource: String,
}

/// `ra_list` arguments: `{"class":"ocf","provider":"heartbeat"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaListArgs {
    /// `ocf`, `lsb`, ...
    pub class: String,
    /// OCF provider (needed for `ocf`).
    #[serde(default)]
    pub provider: Option<String>,
}

/// `ra_info` arguments: `{"agent":"ocf:heartbeat:IPaddr2"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaInfoArgs {
    /// Agent name.
    pub agent: String,
}

/// `resources` reply: `{"resources":{"vip":{"agent":"ocf:heartbeat:IPaddr2",
/// "tracked_groups":[],"history":[{"action":"start","interval_ms":0,"status":"done","rc":0,
/// "exit_reason":null,"duration_ms":40,"finished_at_ms":1764140000000}]}}}`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// Per resource id.
    pub resources: BTreeMap<String, ResourceSnapshot>,
}

/// `status` reply: `{"pid":4242,"executor":{"running":0,"queued":0,"recurring":3,
/// "rejected":0,"completed":120,"timed_out":1},"subscribers":1}`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The daemon's pid.
    pub pid: u32,
    /// Executor counters.
    pub executor: ExecutorStatus,
    /// Connections receiving `op_result` events.
    pub subscribers: usize,
}

/// An `op_result` event: `{"type":"op_result", …OpResult…}`. Sent to every subscribed
/// connection for each one-shot result, and for a recurring op's first result and every
/// change of its status or rc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpEvent {
    /// Always `op_result`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The result.
    #[serde(flatten)]
    pub result: OpResult,
}

impl OpEvent {
    /// Wraps a result.
    pub fn new(result: OpResult) -> OpEvent {
        OpEvent {
            kind: "op_result".to_string(),
            result,
        }
    }
}

/// Pacemaker's numeric execution status (`op_status` in the CIB) for a result: 0 done,
/// 1 cancelled, 2 timed out, 4 error, 7 not installed.
pub fn pacemaker_op_status(result: &OpResult) -> i32 {
    use super::executor::ExecStatus;
    match result.status {
        ExecStatus::Done => 0,
        ExecStatus::Cancelled => 1,
        ExecStatus::Timeout => 2,
        ExecStatus::Signaled => 4,
        ExecStatus::SpawnFailed | ExecStatus::NotInstalled => 7,
        ExecStatus::Invalid => 4,
    }
}
