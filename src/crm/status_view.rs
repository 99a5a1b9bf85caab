//! `ha-crm status`: the cluster's state in `crm_mon -1`'s layout (Cluster Summary, Node List,
//! Full List of Resources, Failed Resource Actions) and as JSON. The node and resource blocks
//! are the scheduler's own status rendering ([`Transition::current_status`]), un-nested one
//! level as crm_mon prints them. Pure: the caller passes the CIB, "now" and what the
//! controller said about DC and quorum.

use serde::Serialize;

use super::cib::{Cib, OpRecord, Resource};
use super::date::{format_ctime, format_rfc3339};
use super::scheduler::{Transition, schedule};

/// What the live controller adds to the CIB (absent for a CIB file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveFacts {
    /// The DC's name, when one is elected.
    pub dc: Option<String>,
    /// Whether this partition has quorum.
    pub quorate: bool,
    /// Current members' names.
    pub members: Vec<String>,
}

/// The cluster's state.
///
/// JSON shape (`ha-crm status --json`):
///
/// ```json
/// {"stack":"hakit","dc":"node1","dc_version":"0.1.0","quorate":true,
///  "updated_at":"2026-11-26T08:00:00Z","cib_version":"0.12.3",
///  "nodes":[{"name":"node1","id":"1","online":true,"standby":false,"maintenance":false}],
///  "resources":[{"id":"vip","agent":"ocf:heartbeat:IPaddr2","group":"web","nodes":["node1"],
///    "running":true,"failed":false,"disabled":false,"managed":true}],
///  "failed_actions":[{"key":"vip_monitor_10000","resource":"vip","operation":"monitor",
///    "interval_ms":10000,"node":"node1","rc":7,"rc_text":"not running","status":"complete",
///    "exit_reason":null,"call_id":12,"last_rc_change_at":"2026-11-26T07:59:58Z",
///    "exec_time_ms":0,"queue_time_ms":0}],
///  "failed":true}
/// ```
///
/// `dc` and `quorate` are `null` when unknown (a CIB file without that status);
/// `failed` is true when any failed action is listed (the command then exits 1, and with
/// `--json` the error envelope follows this one on the next line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// Always `hakit`.
    pub stack: String,
    /// The DC's name.
    pub dc: Option<String>,
    /// The DC's software version (the `dc-version` property, else this build's).
    pub dc_version: String,
    /// Whether the partition has quorum.
    pub quorate: Option<bool>,
    /// When this status was taken (RFC 3339).
    pub updated_at: String,
    /// `admin_epoch.epoch.num_updates` of the CIB shown.
    pub cib_version: String,
    /// Every known node, sorted by name.
    pub nodes: Vec<NodeStatus>,
    /// Every primitive in configuration order.
    pub resources: Vec<ResourceStatus>,
    /// Operations that failed and were not cleaned up.
    pub failed_actions: Vec<FailedAction>,
    /// True when `failed_actions` is not empty.
    pub failed: bool,
    #[serde(skip)]
    text: String,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// Node name.
    pub name: String,
    /// Node id.
    pub id: String,
    /// A cluster member with its controller up.
    pub online: bool,
    /// `standby` is on (permanent or transient attribute).
    pub standby: bool,
    /// `maintenance` is on.
    pub maintenance: bool,
}

/// One primitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceStatus {
    /// Primitive id.
    pub id: String,
    /// `class:provider:type`.
    pub agent: String,
    /// The group it belongs to.
    pub group: Option<String>,
    /// Nodes it is active on.
    pub nodes: Vec<String>,
    /// Active somewhere.
    pub running: bool,
    /// It has failed actions listed.
    pub failed: bool,
    /// `target-role=Stopped` on it or its group.
    pub disabled: bool,
    /// The cluster may start and stop it (`is-managed`).
    pub managed: bool,
}

/// A failed operation, as "Failed Resource Actions" lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedAction {
    /// Operation key `RSC_OP_INTERVAL`.
    pub key: String,
    /// Resource id.
    pub resource: String,
    /// Operation name.
    pub operation: String,
    /// Interval (0 for one-off operations and probes).
    pub interval_ms: u64,
    /// Node it ran on.
    pub node: String,
    /// The agent's exit code.
    pub rc: i32,
    /// What the exit code means.
    pub rc_text: String,
    /// Execution status: `complete`, `timed_out`, `not_installed`, …
    pub status: String,
    /// The agent's reason, when it gave one.
    pub exit_reason: Option<String>,
    /// Executor call id.
    pub call_id: i64,
    /// When the result changed (RFC 3339).
    pub last_rc_change_at: Option<String>,
    /// Run time.
    pub exec_time_ms: Option<u64>,
    /// Queued time.
    pub queue_time_ms: Option<u64>,
}

impl ClusterStatus {
    /// The text form, crm_mon's layout.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Builds the status of `cib` at `now` (epoch seconds). `live` carries the controller's DC
/// and quorum; without it they come from the CIB's status section (`dc_uuid`, `have_quorum`).
pub fn cluster_status(cib: &Cib, now: i64, live: Option<&LiveFacts>) -> ClusterStatus {
    let transition = schedule(cib, now);
    let failed_actions = failed_actions(cib);
    let dc = match live {
        Some(live) => live.dc.clone(),
        None => cib.status.dc_uuid.as_deref().and_then(|uuid| {
            cib.status
                .nodes
                .iter()
                .find(|n| n.id == uuid)
                .map(|n| n.uname.clone())
                .or_else(|| {
                    cib.configuration
                        .nodes
                        .iter()
                        .find(|n| n.id == uuid)
                        .map(|n| n.uname.clone())
                })
        }),
    };
    let quorate = match live {
        Some(live) => Some(live.quorate),
        None => cib.status.have_quorum,
    };
    let mut status = ClusterStatus {
        stack: "hakit".into(),
        dc,
        // Pacemaker records the DC's version as the `dc-version` property; a cluster without
        // it runs this build.
        dc_version: cib
            .configuration
            .properties
            .get("dc-version")
            .unwrap_or(env!("CARGO_PKG_VERSION"))
            .to_string(),
        quorate,
        updated_at: format_rfc3339(now),
        cib_version: format!("{}.{}.{}", cib.admin_epoch, cib.epoch, cib.num_updates),
        nodes: node_statuses(cib),
        resources: resource_statuses(cib, &transition, &failed_actions),
        failed: !failed_actions.is_empty(),
        failed_actions,
        text: String::new(),
    };
    status.text = render_text(&status, &transition, cib, now);
    status
}

fn is_on(value: Option<&str>) -> bool {
    value.and_then(super::shell::parse_bool).unwrap_or(false)
}

fn node_statuses(cib: &Cib) -> Vec<NodeStatus> {
    let mut nodes: Vec<NodeStatus> = super::ops::node_names(cib)
        .into_iter()
        .map(|name| {
            let config = cib.configuration.find_node(name);
            let state = cib.status.node(name);
            let attribute = |attr: &str| {
                state
                    .and_then(|s| s.transient_attributes.get(attr))
                    .or_else(|| config.and_then(|c| c.attributes.get(attr)))
            };
            let online = state.is_some_and(|s| {
                is_on(s.in_ccm.as_deref())
                    || s.in_ccm
                        .as_deref()
                        .is_some_and(|v| v.parse::<i64>().is_ok())
            }) && state.is_some_and(|s| {
                s.crmd.as_deref() == Some("online")
                    || s.crmd.as_deref().is_some_and(|v| v.parse::<i64>().is_ok())
            }) && state
                .is_some_and(|s| s.join.as_deref().is_none_or(|j| j == "member"));
            NodeStatus {
                name: name.to_string(),
                id: config
                    .map(|c| c.id.clone())
                    .or_else(|| state.map(|s| s.id.clone()))
                    .unwrap_or_default(),
                online,
                standby: is_on(attribute("standby")),
                maintenance: is_on(attribute("maintenance")),
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    nodes
}

fn resource_statuses(
    cib: &Cib,
    transition: &Transition,
    failed: &[FailedAction],
) -> Vec<ResourceStatus> {
    let stopped = |meta: &super::cib::NvList| {
        meta.get("target-role")
            .is_some_and(|v| v.eq_ignore_ascii_case("stopped"))
    };
    let unmanaged = |meta: &super::cib::NvList| {
        meta.get("is-managed")
            .and_then(super::shell::parse_bool)
            .is_some_and(|managed| !managed)
    };
    let mut out = Vec::new();
    let mut push = |p: &super::cib::Primitive, group: Option<&Resource>| {
        let nodes: Vec<String> = transition
            .placements
            .iter()
            .filter(|placement| placement.resource == p.id)
            .flat_map(|placement| placement.current.clone())
            .collect();
        let group_meta = group.map(Resource::meta);
        out.push(ResourceStatus {
            id: p.id.clone(),
            agent: p.agent(),
            group: group.map(|g| g.id().to_string()),
            running: !nodes.is_empty(),
            nodes,
            failed: failed.iter().any(|f| f.resource == p.id),
            disabled: stopped(&p.meta) || group_meta.is_some_and(stopped),
            managed: !(unmanaged(&p.meta) || group_meta.is_some_and(unmanaged)),
        });
    };
    for resource in &cib.configuration.resources {
        match resource {
            Resource::Primitive(p) => push(p, None),
            Resource::Group(g) => {
                for child in &g.children {
                    if let Resource::Primitive(p) = child {
                        push(p, Some(resource));
                    }
                }
            }
            Resource::Clone(c) => {
                if let Resource::Primitive(p) = c.child.as_ref() {
                    push(p, Some(resource));
                }
            }
        }
    }
    out
}

/// Whether an operation's result is what was asked for. A probe (a monitor with interval 0)
/// only finds out the state, so "running", "not running" and "promoted" are all answers;
/// other operations must return the exit code their transition key (`action:transition:
/// expected_rc:uuid`) recorded, else 0 (8 for monitors of a promoted instance).
fn is_expected(op: &OpRecord) -> bool {
    if op.operation == "monitor" && op.interval_ms == 0 {
        return matches!(op.rc_code, 0 | 7 | 8);
    }
    let from_key = op
        .transition_key
        .as_deref()
        .and_then(|key| key.split(':').nth(2))
        .and_then(|rc| rc.parse::<i32>().ok());
    match from_key {
        Some(expected) => op.rc_code == expected,
        None if op.operation == "monitor" => matches!(op.rc_code, 0 | 8),
        None => op.rc_code == 0,
    }
}

fn rc_text(rc: i32) -> &'static str {
    match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        8 => "promoted",
        9 => "promoted (failed)",
        _ => "unknown",
    }
}

fn op_status_text(status: i32) -> &'static str {
    match status {
        0 => "complete",
        1 => "cancelled",
        2 => "timed_out",
        3 => "not_supported",
        4 => "error",
        5 => "hard_error",
        6 => "fatal_error",
        7 => "not_installed",
        _ => "unknown",
    }
}

/// Failed operations recorded in the status section, one per resource, node, operation and
/// interval (Pacemaker keeps the failure beside the last result; the newest call wins).
pub fn failed_actions(cib: &Cib) -> Vec<FailedAction> {
    let mut out: Vec<FailedAction> = Vec::new();
    for state in &cib.status.nodes {
        for history in &state.resources {
            for op in &history.ops {
                // Pending (-1) and cancelled (1) operations have no result to judge.
                if matches!(op.op_status, -1 | 1) {
                    continue;
                }
                if op.op_status == 0 && is_expected(op) {
                    continue;
                }
                let action = FailedAction {
                    key: format!("{}_{}_{}", history.id, op.operation, op.interval_ms),
                    resource: history.id.clone(),
                    operation: op.operation.clone(),
                    interval_ms: op.interval_ms,
                    node: op.on_node.clone().unwrap_or_else(|| state.uname.clone()),
                    rc: op.rc_code,
                    rc_text: rc_text(op.rc_code).into(),
                    status: op_status_text(op.op_status).into(),
                    exit_reason: op.exit_reason.clone().filter(|r| !r.is_empty()),
                    call_id: op.call_id,
                    last_rc_change_at: op.last_rc_change.map(format_rfc3339),
                    exec_time_ms: op.exec_time_ms,
                    queue_time_ms: op.queue_time_ms,
                };
                match out
                    .iter_mut()
                    .find(|f| f.key == action.key && f.node == action.node)
                {
                    Some(existing) if existing.call_id < action.call_id => *existing = action,
                    Some(_) => {}
                    None => out.push(action),
                }
            }
        }
    }
    out
}

fn resource_instances(cib: &Cib) -> usize {
    let nodes = super::ops::node_names(cib).len().max(1);
    cib.configuration
        .resources
        .iter()
        .map(|r| match r {
            Resource::Primitive(_) => 1,
            Resource::Group(g) => g.children.len(),
            Resource::Clone(c) => {
                let per_copy = match c.child.as_ref() {
                    Resource::Group(g) => g.children.len(),
                    _ => 1,
                };
                let copies = c
                    .meta
                    .get("clone-max")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(nodes);
                per_copy * copies
            }
        })
        .sum()
}

fn render_text(status: &ClusterStatus, transition: &Transition, cib: &Cib, now: i64) -> String {
    let mut out = String::from("Cluster Summary:\n  * Stack: hakit\n");
    let quorum = match status.quorate {
        Some(true) => " - partition with quorum",
        Some(false) => " - partition WITHOUT quorum",
        None => "",
    };
    match &status.dc {
        Some(dc) => out.push_str(&format!(
            "  * Current DC: {dc} (version {}){quorum}\n",
            status.dc_version
        )),
        None => out.push_str("  * Current DC: NONE\n"),
    }
    out.push_str(&format!("  * Last updated: {}\n", format_ctime(now)));
    out.push_str(&format!(
        "  * Last change:  CIB version {}\n",
        status.cib_version
    ));
    let nodes = status.nodes.len();
    let instances = resource_instances(cib);
    out.push_str(&format!(
        "  * {nodes} node{} configured\n",
        if nodes == 1 { "" } else { "s" }
    ));
    out.push_str(&format!(
        "  * {instances} resource instance{} configured",
        if instances == 1 { "" } else { "s" }
    ));
    let disabled = status.resources.iter().filter(|r| r.disabled).count();
    if disabled > 0 {
        out.push_str(&format!(" ({disabled} DISABLED)"));
    }
    out.push_str("\n\n");
    // The scheduler nests both blocks under "Current cluster status"; crm_mon does not.
    out.push_str(&unnest(&transition.current_status()));
    if !status.failed_actions.is_empty() {
        out.push_str("\nFailed Resource Actions:\n");
        for f in &status.failed_actions {
            out.push_str(&format!(
                "  * {} on {} '{}' ({}): call={}, status='{}', exitreason='{}'",
                f.key,
                f.node,
                f.rc_text,
                f.rc,
                f.call_id,
                f.status,
                f.exit_reason.as_deref().unwrap_or("")
            ));
            if let Some(at) = cib
                .status
                .nodes
                .iter()
                .flat_map(|n| &n.resources)
                .filter(|h| h.id == f.resource)
                .flat_map(|h| &h.ops)
                .find(|op| op.call_id == f.call_id)
                .and_then(|op| op.last_rc_change)
            {
                out.push_str(&format!(", last-rc-change='{}'", format_ctime(at)));
            }
            out.push_str(&format!(
                ", queued={}ms, exec={}ms\n",
                f.queue_time_ms.unwrap_or(0),
                f.exec_time_ms.unwrap_or(0)
            ));
        }
    }
    out
}

/// The scheduler's status block with its two headings moved to the left margin.
fn unnest(block: &str) -> String {
    let mut out = String::new();
    for line in block.lines() {
        let line = line.strip_prefix("  ").unwrap_or(line);
        let line = match line.strip_prefix("* ") {
            Some(heading) if heading.ends_with(':') && !heading.contains('\t') => heading,
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}
