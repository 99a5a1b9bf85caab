//! The CIB (cluster information base): the typed configuration and status model every part of
//! `ha-crm` shares. Plain data with lookups; no I/O here. Parsing (crm language, Pacemaker
//! XML), rendering, validation and storage live in sibling modules.
//!
//! JSON form (the on-disk shape, serde): snake_case keys; attribute lists (`params`, `meta`,
//! properties, node attributes) are JSON objects whose key order is the document order, e.g.
//!
//! ```json
//! {"admin_epoch":0,"epoch":3,"num_updates":0,
//!  "configuration":{"properties":{"stonith-enabled":"false"},"nodes":[],
//!   "resources":[{"primitive":{"id":"vip","class":"ocf","provider":"heartbeat",
//!     "kind":"IPaddr","params":{"ip":"192.168.2.100"},"meta":{},"ops":[],"utilization":{}}}],
//!   "constraints":[],"rsc_defaults":{},"op_defaults":{}},
//!  "status":{"have_quorum":null,"dc_uuid":null,"execution_date":null,"nodes":[]}}
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::score::Score;

/// The whole CIB: version counters, configuration and status.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cib {
    /// Raised only by an administrator to force a copy to win.
    pub admin_epoch: u64,
    /// Raised by every configuration change.
    pub epoch: u64,
    /// Raised by every status change; reset when `epoch` moves.
    pub num_updates: u64,
    /// What the administrator configured.
    pub configuration: Configuration,
    /// What the cluster observed.
    pub status: Status,
}

impl Cib {
    /// The version triple compared when two copies meet: the larger wins.
    pub fn version(&self) -> (u64, u64, u64) {
        (self.admin_epoch, self.epoch, self.num_updates)
    }

    /// Records a configuration change: `epoch` up, `num_updates` back to 0.
    pub fn bump_epoch(&mut self) {
        self.epoch += 1;
        self.num_updates = 0;
    }

    /// Records a status change.
    pub fn bump_num_updates(&mut self) {
        self.num_updates += 1;
    }
}

/// The configuration section.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Configuration {
    /// Cluster options (`cib-bootstrap-options`), e.g. `stonith-enabled`.
    pub properties: NvList,
    /// Known nodes.
    pub nodes: Vec<Node>,
    /// Top-level resources in configuration order.
    pub resources: Vec<Resource>,
    /// Location, colocation and order constraints in configuration order.
    pub constraints: Vec<Constraint>,
    /// Resource meta-attribute defaults.
    pub rsc_defaults: NvList,
    /// Operation defaults (e.g. `timeout`).
    pub op_defaults: NvList,
}

impl Configuration {
    /// Every id defined in the configuration with what kind of object holds it, in order.
    pub fn ids(&self) -> Vec<(&str, &'static str)> {
        let mut ids = Vec::new();
        for node in &self.nodes {
            ids.push((node.uname.as_str(), "node"));
        }
        for resource in &self.resources {
            resource.collect_ids(&mut ids);
        }
        for constraint in &self.constraints {
            ids.push((constraint.id(), constraint.kind_name()));
        }
        ids
    }

    /// The resource (at any depth) with this id.
    pub fn find_resource(&self, id: &str) -> Option<&Resource> {
        self.resources.iter().find_map(|r| r.find(id))
    }

    /// The primitive (at any depth) with this id.
    pub fn find_primitive(&self, id: &str) -> Option<&Primitive> {
        match self.find_resource(id)? {
            Resource::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// All primitives in configuration order, group and clone members included.
    pub fn primitives(&self) -> Vec<&Primitive> {
        let mut out = Vec::new();
        for resource in &self.resources {
            resource.collect_primitives(&mut out);
        }
        out
    }

    /// The node with this name.
    pub fn find_node(&self, uname: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.uname == uname)
    }

    /// The constraint with this id.
    pub fn find_constraint(&self, id: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.id() == id)
    }
}

/// A cluster node as configured.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Node {
    /// The node's id (`1`, or a UUID in older clusters).
    pub id: String,
    /// The node's name (`uname`), what users type.
    pub uname: String,
    /// `member` (default) or `remote`.
    pub kind: Option<String>,
    /// Permanent node attributes (`standby`, `maintenance`, user attributes).
    pub attributes: NvList,
    /// Capacity for placement strategies.
    pub utilization: NvList,
}

/// A resource: a primitive, a group of primitives, or a clone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// One resource agent instance.
    Primitive(Primitive),
    /// Ordered, colocated primitives.
    Group(Group),
    /// Copies of a primitive or group on several nodes.
    Clone(Clone),
}

impl Resource {
    /// The resource's id.
    pub fn id(&self) -> &str {
        match self {
            Resource::Primitive(p) => &p.id,
            Resource::Group(g) => &g.id,
            Resource::Clone(c) => &c.id,
        }
    }

    /// The resource's meta attributes.
    pub fn meta(&self) -> &NvList {
        match self {
            Resource::Primitive(p) => &p.meta,
            Resource::Group(g) => &g.meta,
            Resource::Clone(c) => &c.meta,
        }
    }

    /// Mutable meta attributes.
    pub fn meta_mut(&mut self) -> &mut NvList {
        match self {
            Resource::Primitive(p) => &mut p.meta,
            Resource::Group(g) => &mut g.meta,
            Resource::Clone(c) => &mut c.meta,
        }
    }

    /// This resource or a descendant with the given id.
    pub fn find(&self, id: &str) -> Option<&Resource> {
        if self.id() == id {
            return Some(self);
        }
        match self {
            Resource::Primitive(_) => None,
            Resource::Group(g) => g.children.iter().find_map(|c| c.find(id)),
            Resource::Clone(c) => c.child.find(id),
        }
    }

    fn collect_ids<'a>(&'a self, out: &mut Vec<(&'a str, &'static str)>) {
        match self {
            Resource::Primitive(p) => out.push((&p.id, "primitive")),
            Resource::Group(g) => {
                out.push((&g.id, "group"));
                g.children.iter().for_each(|c| c.collect_ids(out));
            }
            Resource::Clone(c) => {
                out.push((&c.id, "clone"));
                c.child.collect_ids(out);
            }
        }
    }

    fn collect_primitives<'a>(&'a self, out: &mut Vec<&'a Primitive>) {
        match self {
            Resource::Primitive(p) => out.push(p),
            Resource::Group(g) => g.children.iter().for_each(|c| c.collect_primitives(out)),
            Resource::Clone(c) => c.child.collect_primitives(out),
        }
    }
}

/// A resource agent instance: `primitive vip ocf:heartbeat:IPaddr params ip=…`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Primitive {
    /// Unique id.
    pub id: String,
    /// `ocf`, `lsb`, `systemd`, `service` or `stonith`.
    pub class: String,
    /// OCF provider (`heartbeat`, `pacemaker`); `None` for other classes.
    pub provider: Option<String>,
    /// Agent name (Pacemaker's `type`).
    pub kind: String,
    /// Agent parameters (`instance_attributes`).
    pub params: NvList,
    /// Meta attributes (`target-role`, `resource-stickiness`, …).
    pub meta: NvList,
    /// Configured operations.
    pub ops: Vec<Op>,
    /// Resource needs for placement strategies.
    pub utilization: NvList,
}

impl Primitive {
    /// The agent spec as users write it: `ocf:heartbeat:IPaddr`, `lsb:gohttpd`.
    pub fn agent(&self) -> String {
        match &self.provider {
            Some(provider) => format!("{}:{}:{}", self.class, provider, self.kind),
            None => format!("{}:{}", self.class, self.kind),
        }
    }
}

/// One configured operation: `op monitor interval=10s timeout=20s`. Values are kept as written
/// so the crm text round-trips; [`parse_duration_ms`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Op {
    /// Explicit id when one was given (XML always has one).
    pub id: Option<String>,
    /// Action name: `monitor`, `start`, `stop`, …
    pub name: String,
    /// Every other attribute in order: `interval`, `timeout`, `on-fail`, `role`, …
    pub attrs: NvList,
    /// Agent parameters for this operation only (the op's `instance_attributes`, crm
    /// `op_params`), e.g. `OCF_CHECK_LEVEL`.
    #[serde(default, skip_serializing_if = "NvList::is_empty")]
    pub params: NvList,
}

impl Op {
    /// The interval in milliseconds (0 when unset or unreadable).
    pub fn interval_ms(&self) -> u64 {
        self.attrs
            .get("interval")
            .and_then(parse_duration_ms)
            .unwrap_or(0)
    }

    /// The timeout in milliseconds, when set and readable.
    pub fn timeout_ms(&self) -> Option<u64> {
        self.attrs.get("timeout").and_then(parse_duration_ms)
    }
}

/// The id an op gets when none is given (crmsh's scheme): `RSC-NAME-INTERVAL`, or `RSC-NAME`
/// without an interval. `show` leaves such an id out and XML import reads it back as `None`,
/// so both forms round-trip.
pub fn default_op_id(resource: &str, op: &Op) -> String {
    match op.attrs.get("interval") {
        Some(interval) => format!("{resource}-{}-{interval}", op.name),
        None => format!("{resource}-{}", op.name),
    }
}

/// The id rule `index` (from 0) of location `location` gets when none is given, as crmsh
/// numbers them: `LOC-rule`, then `LOC-rule-0`, `LOC-rule-1`, …
pub fn default_rule_id(location: &str, index: usize) -> String {
    numbered(&format!("{location}-rule"), index)
}

/// The id expression `index` (from 0) of rule `rule` gets when none is given:
/// `RULE-expression`, then `RULE-expression-0`, …
pub fn default_expression_id(rule: &str, index: usize) -> String {
    numbered(&format!("{rule}-expression"), index)
}

fn numbered(base: &str, index: usize) -> String {
    match index {
        0 => base.to_string(),
        n => format!("{base}-{}", n - 1),
    }
}

/// A group: members start in order, stop in reverse and run on one node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Group {
    /// Unique id.
    pub id: String,
    /// Members in start order (primitives).
    pub children: Vec<Resource>,
    /// Meta attributes applying to the group and inherited by members.
    pub meta: NvList,
    /// Instance attributes inherited by members.
    pub params: NvList,
}

/// A clone of a primitive or group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clone {
    /// Unique id.
    pub id: String,
    /// The cloned resource.
    pub child: Box<Resource>,
    /// Clone meta attributes (`clone-max`, `interleave`, …).
    pub meta: NvList,
    /// Instance attributes inherited by the child.
    pub params: NvList,
}

/// A constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Where a resource may or prefers to run.
    Location(Location),
    /// Which resources run together or apart.
    Colocation(Colocation),
    /// Which actions happen before which.
    Order(Order),
    /// Colocation of resource sets (`colocation ID SCORE: a b ( c d )`).
    ColocationSet(ColocationSet),
    /// Ordering of resource sets (`order ID KIND: a ( b c ) d`).
    OrderSet(OrderSet),
}

impl Constraint {
    /// The constraint's id.
    pub fn id(&self) -> &str {
        match self {
            Constraint::Location(c) => &c.id,
            Constraint::Colocation(c) => &c.id,
            Constraint::Order(c) => &c.id,
            Constraint::ColocationSet(c) => &c.id,
            Constraint::OrderSet(c) => &c.id,
        }
    }

    /// `location`, `colocation` or `order`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Constraint::Location(_) => "location",
            Constraint::Colocation(_) => "colocation",
            Constraint::Order(_) | Constraint::OrderSet(_) => "order",
            Constraint::ColocationSet(_) => "colocation",
        }
    }

    /// Resource ids this constraint refers to.
    pub fn resource_refs(&self) -> Vec<&str> {
        match self {
            Constraint::Location(c) => vec![c.rsc.as_str()],
            Constraint::Colocation(c) => vec![c.rsc.as_str(), c.with_rsc.as_str()],
            Constraint::Order(c) => vec![c.first.as_str(), c.then.as_str()],
            Constraint::ColocationSet(c) => set_refs(&c.sets),
            Constraint::OrderSet(c) => set_refs(&c.sets),
        }
    }
}

fn set_refs(sets: &[ResourceSet]) -> Vec<&str> {
    sets.iter()
        .flat_map(|set| set.resources.iter().map(String::as_str))
        .collect()
}

/// One `<resource_set>` of a set constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceSet {
    /// Id when it differs from the generated one ([`ResourceSet::default_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Member resources, in order.
    pub resources: Vec<String>,
    /// `sequential` (default true): members depend on each other in turn. `None` means unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<bool>,
    /// `require-all` (default true); false: what follows the set needs only one member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    /// Colocation sets: the role the members are placed in (`Started`, `Promoted`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Order sets: the members' action (default `start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Deprecated `ordering` of a colocation set: anything but `group` colocates each member
    /// with the next one instead of the previous one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<String>,
}

impl ResourceSet {
    /// The id a set gets when none is given: the constraint's id and the set's position.
    pub fn default_id(constraint_id: &str, index: usize) -> String {
        format!("{constraint_id}-{index}")
    }

    /// The set's id within constraint `constraint_id` at position `index`.
    pub fn id_in(&self, constraint_id: &str, index: usize) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| ResourceSet::default_id(constraint_id, index))
    }
}

/// `colocation ID SCORE: a b ( c d )`: within a sequential set each member is placed with
/// the one before it; each set is placed with the set after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColocationSet {
    /// Unique id.
    pub id: String,
    /// How strongly (±INFINITY mandatory).
    pub score: Score,
    /// The sets, in order.
    pub sets: Vec<ResourceSet>,
}

/// `order ID KIND: a ( b c ) d`: sets act one after the other, and the members of a
/// sequential set one after the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSet {
    /// Unique id.
    pub id: String,
    /// Mandatory, Optional or Serialize.
    pub kind: OrderKind,
    /// Whether the reverse order applies to stops (default true). `None` means unset.
    pub symmetrical: Option<bool>,
    /// Legacy numeric score form (0 means optional) when the input used one.
    pub score: Option<Score>,
    /// The sets, in order.
    pub sets: Vec<ResourceSet>,
}

/// `location ID RSC SCORE: NODE` or `location ID RSC rule SCORE: EXPR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Unique id.
    pub id: String,
    /// The constrained resource.
    pub rsc: String,
    /// Node form: the score for that node.
    pub score: Option<Score>,
    /// Node form: the node name.
    pub node: Option<String>,
    /// Rule form: rules evaluated per node (any true rule applies its score).
    pub rules: Vec<Rule>,
    /// Limits the constraint to a role (`Started`, `Promoted`, …).
    pub role: Option<String>,
    /// `always`, `never` or `exclusive`.
    pub resource_discovery: Option<String>,
}

/// A rule: a score applied to nodes for which the expressions hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Id when one was given.
    pub id: Option<String>,
    /// The score applied when the rule holds.
    pub score: Option<Score>,
    /// Take the score from this node attribute instead.
    pub score_attribute: Option<String>,
    /// How expressions combine.
    pub boolean_op: BooleanOp,
    /// Role the rule applies to, when limited.
    pub role: Option<String>,
    /// The tests.
    pub expressions: Vec<Expression>,
}

/// How a rule's expressions combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BooleanOp {
    /// All must hold.
    #[default]
    And,
    /// Any must hold.
    Or,
}

/// The pseudo attribute of a date test: `#date lt 2026-11-26T08:00:00Z` holds while the
/// scheduler's "now" is before that time (`gt`: after). Pacemaker writes it as a
/// `date_expression` with `operation="lt" end=…` (or `gt` with `start=…`).
pub const DATE_ATTRIBUTE: &str = "#date";

/// One node-attribute test: `#uname eq node1`, `pingd gt 0`, `defined pingd`, or a date test
/// (attribute [`DATE_ATTRIBUTE`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expression {
    /// Id when one was given.
    pub id: Option<String>,
    /// Node attribute name (`#uname` and other built-ins start with `#`).
    pub attribute: String,
    /// `eq`, `ne`, `lt`, `gt`, `lte`, `gte`, `defined`, `not_defined`.
    pub operation: String,
    /// Compared value (absent for `defined` / `not_defined`).
    pub value: Option<String>,
    /// `string`, `integer`, `number` or `version` comparison.
    pub value_type: Option<String>,
}

/// `colocation ID SCORE: RSC WITH_RSC`: `rsc` is placed relative to `with_rsc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colocation {
    /// Unique id.
    pub id: String,
    /// How strongly (±INFINITY mandatory).
    pub score: Score,
    /// The dependent resource.
    pub rsc: String,
    /// The resource it follows.
    pub with_rsc: String,
    /// Role of `rsc` this applies to.
    pub rsc_role: Option<String>,
    /// Role of `with_rsc` this applies to.
    pub with_rsc_role: Option<String>,
}

/// `order ID KIND: FIRST THEN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Unique id.
    pub id: String,
    /// Mandatory, Optional or Serialize.
    pub kind: OrderKind,
    /// The resource acted on first.
    pub first: String,
    /// Action of `first` (default `start`).
    pub first_action: Option<String>,
    /// The resource acted on after.
    pub then: String,
    /// Action of `then` (default: `first_action`).
    pub then_action: Option<String>,
    /// Whether the reverse order applies to stops (default true). `None` means unset.
    pub symmetrical: Option<bool>,
    /// `require-all=false`: `then` needs only one instance of the clone `first` (the older
    /// spelling of the clone's `clone-min=1`). `None` means unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    /// Legacy numeric score form (0 means optional) when the input used one.
    pub score: Option<Score>,
}

/// An order constraint's strength.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrderKind {
    /// `then` cannot happen unless `first` did.
    #[default]
    Mandatory,
    /// Ordered only when both happen in one transition.
    Optional,
    /// Never at the same time, either order.
    Serialize,
}

impl fmt::Display for OrderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderKind::Mandatory => "Mandatory",
            OrderKind::Optional => "Optional",
            OrderKind::Serialize => "Serialize",
        })
    }
}

/// The status section: what the cluster observed, per node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Status {
    /// Whether this partition has quorum (`None` when unknown).
    pub have_quorum: Option<bool>,
    /// The DC's node id.
    pub dc_uuid: Option<String>,
    /// "Now" for time-dependent decisions, epoch seconds; `None` means the wall clock.
    pub execution_date: Option<i64>,
    /// One entry per node the cluster has seen.
    pub nodes: Vec<NodeState>,
}

impl Status {
    /// The state of the node with this name.
    pub fn node(&self, uname: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.uname == uname)
    }
}

/// A node's observed state (Pacemaker's `node_state`). Membership fields are kept as recorded
/// (`true`/`false` or a timestamp) and interpreted by the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeState {
    /// Node id.
    pub id: String,
    /// Node name.
    pub uname: String,
    /// Cluster-layer membership (`in_ccm`).
    pub in_ccm: Option<String>,
    /// Controller state (`crmd`: `online`/`offline` or a timestamp).
    pub crmd: Option<String>,
    /// Join state: `member`, `down`, `pending`, `banned`.
    pub join: Option<String>,
    /// What the DC expects: `member` or `down`.
    pub expected: Option<String>,
    /// Transient node attributes (`standby`, `shutdown`, `fail-count-…`, `last-failure-…`).
    pub transient_attributes: NvList,
    /// Transient node capacities (`utilization` inside `transient_attributes`); the
    /// configured ones take precedence.
    #[serde(default, skip_serializing_if = "NvList::is_empty")]
    pub transient_utilization: NvList,
    /// Operation history per resource.
    pub resources: Vec<ResourceHistory>,
}

/// The operation history of one resource on one node (`lrm_resource`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceHistory {
    /// Resource id (a clone instance looks like `rsc:0`).
    pub id: String,
    /// Agent class.
    pub class: String,
    /// Agent provider.
    pub provider: Option<String>,
    /// Agent name.
    pub kind: String,
    /// Recorded operations, in document order; order by `call_id` to interpret.
    pub ops: Vec<OpRecord>,
}

/// One recorded operation result (`lrm_rsc_op`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OpRecord {
    /// Record id (e.g. `vip_last_0`, `vip_monitor_10000`).
    pub id: String,
    /// Action: `start`, `stop`, `monitor`, `cancel`, …
    pub operation: String,
    /// Interval in ms; a `monitor` with 0 is a probe.
    pub interval_ms: u64,
    /// Executor call id: the order operations ran in (-1 for pending).
    pub call_id: i64,
    /// The agent's exit code (OCF).
    pub rc_code: i32,
    /// Execution status: -1 pending, 0 done, 1 cancelled, 2 timed out, 3 not supported,
    /// 4 error, 5 hard error, 6 fatal error, 7 not installed.
    pub op_status: i32,
    /// When the result last changed, epoch seconds.
    pub last_rc_change: Option<i64>,
    /// When the operation last ran, epoch seconds.
    pub last_run: Option<i64>,
    /// Run time in ms.
    pub exec_time_ms: Option<u64>,
    /// Time spent queued in ms.
    pub queue_time_ms: Option<u64>,
    /// Digest of the parameters the operation ran with.
    pub op_digest: Option<String>,
    /// Digest of the parameters that need a restart to change (`op-restart-digest`); present
    /// when the agent supports reload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_restart_digest: Option<String>,
    /// The parameters `op_restart_digest` covers, space separated (`op-force-restart`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_force_restart: Option<String>,
    /// Digest of the parameters without the private ones (`op-secure-digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_secure_digest: Option<String>,
    /// The private parameters left out of `op_secure_digest` (`op-secure-params`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_secure_params: Option<String>,
    /// Feature set of the node that recorded it (`crm_feature_set`): older ones digested the
    /// private parameters differently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_feature_set: Option<String>,
    /// The agent's reason for a failure.
    pub exit_reason: Option<String>,
    /// Node the operation ran on.
    pub on_node: Option<String>,
    /// Pacemaker's transition key, kept for round trips.
    pub transition_key: Option<String>,
    /// Pacemaker's transition magic, kept for round trips.
    pub transition_magic: Option<String>,
}

/// An ordered list of name/value attributes. Names are unique: setting an existing name
/// replaces its value in place, so document order is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvList(Vec<(String, String)>);

impl NvList {
    /// An empty list.
    pub fn new() -> NvList {
        NvList(Vec::new())
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` (in place when present, else appended).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let (name, value) = (name.into(), value.into());
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Adds `name` only when absent: the first value wins, as in Pacemaker nvsets.
    pub fn set_if_absent(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        if self.get(&name).is_none() {
            self.0.push((name, value.into()));
        }
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let index = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(index).1)
    }

    /// Entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for NvList {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> NvList {
        let mut list = NvList::new();
        for (name, value) in iter {
            list.set(name, value);
        }
        list
    }
}

impl Serialize for NvList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NvList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<NvList, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = NvList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<NvList, A::Error> {
                let mut list = NvList::new();
                while let Some((name, value)) = map.next_entry::<String, String>()? {
                    list.set_if_absent(name, value);
                }
                Ok(list)
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// Reads a duration as Pacemaker does for op intervals and timeouts: a bare number is seconds;
/// suffixes `ms`/`msec`, `s`/`sec`, `m`/`min`, `h`/`hr`; ISO 8601 `PT…` is not handled here.
/// Returns milliseconds, or `None` when unreadable.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits.parse().ok()?;
    let unit = unit.trim();
    // The spellings nearly every CIB uses, before the case-insensitive search below (verify
    // reads every op's durations on each commit).
    match unit {
        "" | "s" => return value.checked_mul(1000),
        "ms" => return Some(value),
        "m" | "min" => return value.checked_mul(60_000),
        _ => {}
    }
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(unit));
    if is(&["", "s", "sec", "secs", "second", "seconds"]) {
        value.checked_mul(1000)
    } else if is(&["ms", "msec", "msecs"]) {
        Some(value)
    } else if is(&["us", "usec", "usecs"]) {
        Some(value / 1000)
    } else if is(&["m", "min", "mins", "minute", "minutes"]) {
        value.checked_mul(60_000)
    } else if is(&["h", "hr", "hrs", "hour", "hours"]) {
        value.checked_mul(3_600_000)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cib {
        let mut cib = Cib::default();
        let config = &mut cib.configuration;
        config.properties.set("stonith-enabled", "false");
        config.nodes.push(Node {
            id: "1".into(),
            uname: "node1".into(),
            ..Node::default()
        });
        let vip = Primitive {
            id: "vip".into(),
            class: "ocf".into(),
            provider: Some("heartbeat".into()),
            kind: "IPaddr".into(),
            params: [("ip", "192.168.2.100")].into_iter().collect(),
            ops: vec![Op {
                id: None,
                name: "monitor".into(),
                attrs: [("interval", "10s"), ("timeout", "20s")]
                    .into_iter()
                    .collect(),
                params: NvList::new(),
            }],
            ..Primitive::default()
        };
        let web = Primitive {
            id: "gohttpd".into(),
            class: "lsb".into(),
            kind: "gohttpd".into(),
            ..Primitive::default()
        };
        config.resources.push(Resource::Group(Group {
            id: "my_group".into(),
            children: vec![Resource::Primitive(vip), Resource::Primitive(web)],
            ..Group::default()
        }));
        cib
    }

    #[test]
    fn json_round_trip_keeps_attribute_order() {
        let mut cib = sample();
        cib.configuration
            .properties
            .set("no-quorum-policy", "ignore");
        cib.configuration
            .properties
            .set("a-first-looking-name", "x");
        let json = serde_json::to_string(&cib).unwrap();
        let back: Cib = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cib);
        let names: Vec<_> = back
            .configuration
            .properties
            .iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "stonith-enabled",
                "no-quorum-policy",
                "a-first-looking-name"
            ]
        );
    }

    #[test]
    fn lookups_reach_group_members() {
        let cib = sample();
        let config = &cib.configuration;
        assert_eq!(
            config.find_primitive("vip").unwrap().agent(),
            "ocf:heartbeat:IPaddr"
        );
        assert_eq!(
            config.find_primitive("gohttpd").unwrap().agent(),
            "lsb:gohttpd"
        );
        assert!(config.find_primitive("my_group").is_none());
        let ids: Vec<_> = config.ids().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["node1", "my_group", "vip", "gohttpd"]);
    }

    #[test]
    fn op_durations_are_read_in_milliseconds() {
        let cib = sample();
        let op = &cib.configuration.find_primitive("vip").unwrap().ops[0];
        assert_eq!(op.interval_ms(), 10_000);
        assert_eq!(op.timeout_ms(), Some(20_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("2min"), Some(120_000));
        assert_eq!(parse_duration_ms("ten"), None);
    }

    #[test]
    fn epoch_bump_resets_num_updates() {
        let mut cib = sample();
        cib.bump_num_updates();
        cib.bump_epoch();
        assert_eq!(cib.version(), (0, 1, 0));
    }
}
