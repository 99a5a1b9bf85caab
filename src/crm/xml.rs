//! Pacemaker CIB XML: reading it into the typed [`Cib`] model and writing the model back out.
//! No I/O here: text in, model out (and the reverse).
//!
//! Reading applies the in-memory upgrades Pacemaker performs on older documents that matter for
//! scheduling: an `nvpair` without `value` is dropped; inside one nvset the first `nvpair` of a
//! name wins; several nvsets of one kind under one parent are merged in order of their `score`
//! (highest first, ties in document order), so the first set's value wins. Option aliases
//! (`stonith-enabled` for `fencing-enabled` …) are kept as written; the scheduler reads both.
//!
//! What the model cannot hold (nvset rules, fencing topology, alerts, ACLs; a resource set's own
//! score or kind) is skipped; [`parse_cib_with_notes`] says what was skipped and where.

use std::fmt;

use quick_xml::events::{BytesStart, Event};

use super::cib::{
    BooleanOp, Cib, Clone, Colocation, ColocationSet, Configuration, Constraint, DATE_ATTRIBUTE,
    Expression, Group, Location, Node, NodeState, NvList, Op, OpRecord, Order, OrderKind, OrderSet,
    Primitive, Resource, ResourceHistory, ResourceSet, Rule, Status, default_expression_id,
    default_op_id, default_rule_id,
};
use super::score::Score;

/// Why a document could not be read. Nothing is produced when this is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// 1-based line of the offending element (or where the parser stopped).
    pub line: usize,
    /// What is wrong, lowercase, no final period.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for XmlError {}

/// Something in the input the model does not hold and that was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlNote {
    /// 1-based line of the skipped element.
    pub line: usize,
    /// What was skipped.
    pub message: String,
}

/// Reads a CIB document (`<cib>` root).
pub fn parse_cib(text: &str) -> Result<Cib, XmlError> {
    parse_cib_with_notes(text).map(|(cib, _)| cib)
}

/// Reads a CIB document and lists what was skipped.
pub fn parse_cib_with_notes(text: &str) -> Result<(Cib, Vec<XmlNote>), XmlError> {
    let root = parse_tree(text)?;
    if root.name != "cib" {
        return Err(root.error(format!("root element is <{}>, expected <cib>", root.name)));
    }
    let mut reader = CibReader { notes: Vec::new() };
    let cib = reader.cib(&root)?;
    Ok((cib, reader.notes))
}

/// A parsed element: name, attributes in document order, child elements, line.
#[derive(Debug, Clone)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    line: usize,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name)
            .ok_or_else(|| self.error(format!("<{}> has no {name} attribute", self.name)))
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn error(&self, message: String) -> XmlError {
        XmlError {
            line: self.line,
            message,
        }
    }
}

struct LineCounter<'a> {
    text: &'a [u8],
    scanned: usize,
    line: usize,
}

impl LineCounter<'_> {
    /// The line of byte offset `pos`; offsets only grow, so counting is incremental.
    fn line_at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.text.len());
        if pos > self.scanned {
            self.line += self.text[self.scanned..pos]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.scanned = pos;
        }
        self.line
    }
}

fn parse_tree(text: &str) -> Result<Element, XmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut lines = LineCounter {
        text: text.as_bytes(),
        scanned: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| XmlError {
            line: lines.line_at(reader.error_position() as usize),
            message: format!("malformed xml: {e}"),
        })?;
        // The event starts at the first '<' after the previous position.
        let tag_pos = text.as_bytes()[start.min(text.len())..]
            .iter()
            .position(|&b| b == b'<')
            .map_or(start, |p| start + p);
        match event {
            Event::Start(tag) | Event::Empty(tag) if root.is_some() && stack.is_empty() => {
                let _ = tag;
                return Err(XmlError {
                    line: lines.line_at(tag_pos),
                    message: "content after the root element".into(),
                });
            }
            Event::Start(tag) => {
                let element = element_from(&tag, lines.line_at(tag_pos))?;
                stack.push(element);
            }
            Event::Empty(tag) => {
                let element = element_from(&tag, lines.line_at(tag_pos))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| XmlError {
                    line: lines.line_at(tag_pos),
                    message: "unexpected closing tag".into(),
                })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(open.error(format!("<{}> is never closed", open.name)));
    }
    root.ok_or(XmlError {
        line: 1,
        message: "no root element".into(),
    })
}

fn element_from(tag: &BytesStart<'_>, line: usize) -> Result<Element, XmlError> {
    let name = <str as ToString>::to_string(tag.name().as_ref());
    let mut attrs = Vec::new();
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| XmlError {
            line,
            message: format!("malformed attribute in <{name}>: {e}"),
        })?;
        let key = <str as ToString>::to_string(attr.key.as_ref());
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| XmlError {
                line,
                message: format!("bad value of {key} in <{name}>: {e}"),
            })?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        line,
    })
}

struct CibReader {
    notes: Vec<XmlNote>,
}

impl CibReader {
    fn note(&mut self, element: &Element, message: String) {
        self.notes.push(XmlNote {
            line: element.line,
            message,
        });
    }

    fn cib(&mut self, root: &Element) -> Result<Cib, XmlError> {
        let number = |name: &str| -> Result<u64, XmlError> {
            match root.attr(name) {
                None => Ok(0),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| root.error(format!("{name}={v:?} is not a number"))),
            }
        };
        let configuration = match root.child("configuration") {
            Some(c) => self.configuration(c)?,
            None => return Err(root.error("<cib> has no <configuration>".into())),
        };
        let mut status = match root.child("status") {
            Some(s) => self.status(s)?,
            None => Status::default(),
        };
        status.have_quorum = root.attr("have-quorum").and_then(parse_bool);
        status.dc_uuid = root.attr("dc-uuid").map(str::to_string);
        status.execution_date = root
            .attr("execution-date")
            .and_then(|v| v.trim().parse().ok());
        Ok(Cib {
            admin_epoch: number("admin_epoch")?,
            epoch: number("epoch")?,
            num_updates: number("num_updates")?,
            configuration,
            status,
        })
    }

    fn configuration(&mut self, config: &Element) -> Result<Configuration, XmlError> {
        let mut out = Configuration::default();
        for section in &config.children {
            match section.name.as_str() {
                "crm_config" => {
                    out.properties = nvsets(section, "cluster_property_set", &mut self.notes)
                }
                "nodes" => {
                    for node in section.children_named("node") {
                        out.nodes.push(self.node(node)?);
                    }
                }
                "resources" => {
                    for child in &section.children {
                        if let Some(resource) = self.resource(child)? {
                            out.resources.push(resource);
                        }
                    }
                }
                "constraints" => {
                    for child in &section.children {
                        if let Some(constraint) = self.constraint(child)? {
                            out.constraints.push(constraint);
                        }
                    }
                }
                "rsc_defaults" => {
                    out.rsc_defaults = nvsets(section, "meta_attributes", &mut self.notes)
                }
                "op_defaults" => {
                    out.op_defaults = nvsets(section, "meta_attributes", &mut self.notes)
                }
                other => self.note(section, format!("<{other}> skipped")),
            }
        }
        Ok(out)
    }

    fn node(&mut self, node: &Element) -> Result<Node, XmlError> {
        let id = node.required("id")?.to_string();
        Ok(Node {
            uname: node.attr("uname").unwrap_or(&id).to_string(),
            id,
            kind: node.attr("type").map(str::to_string),
            attributes: nvsets(node, "instance_attributes", &mut self.notes),
            utilization: nvsets(node, "utilization", &mut self.notes),
        })
    }

    fn resource(&mut self, element: &Element) -> Result<Option<Resource>, XmlError> {
        match element.name.as_str() {
            "primitive" => Ok(Some(Resource::Primitive(self.primitive(element)?))),
            "group" => {
                let mut children = Vec::new();
                for child in &element.children {
                    if child.name == "primitive" {
                        children.push(Resource::Primitive(self.primitive(child)?));
                    } else if !is_nvset_name(&child.name) {
                        self.note(child, format!("<{}> inside a group skipped", child.name));
                    }
                }
                Ok(Some(Resource::Group(Group {
                    id: element.required("id")?.to_string(),
                    children,
                    meta: nvsets(element, "meta_attributes", &mut self.notes),
                    params: nvsets(element, "instance_attributes", &mut self.notes),
                })))
            }
            "clone" | "master" => {
                let mut child = None;
                for c in &element.children {
                    if let Some(resource) = self.resource(c)? {
                        child = Some(resource);
                        break;
                    }
                }
                let child =
                    child.ok_or_else(|| element.error("clone has no primitive or group".into()))?;
                let mut meta = nvsets(element, "meta_attributes", &mut self.notes);
                if element.name == "master" {
                    meta.set_if_absent("promotable", "true");
                }
                Ok(Some(Resource::Clone(Clone {
                    id: element.required("id")?.to_string(),
                    child: Box::new(child),
                    meta,
                    params: nvsets(element, "instance_attributes", &mut self.notes),
                })))
            }
            name if is_nvset_name(name) => Ok(None),
            other => {
                self.note(element, format!("<{other}> skipped (not supported)"));
                Ok(None)
            }
        }
    }

    fn primitive(&mut self, element: &Element) -> Result<Primitive, XmlError> {
        let primitive_id = element.required("id")?;
        let mut ops = Vec::new();
        if let Some(operations) = element.child("operations") {
            for op in operations.children_named("op") {
                let mut attrs = NvList::new();
                for (name, value) in &op.attrs {
                    if name != "id" && name != "name" {
                        attrs.set_if_absent(name.clone(), value.clone());
                    }
                }
                for (name, value) in nvsets(op, "meta_attributes", &mut self.notes).iter() {
                    attrs.set_if_absent(name, value);
                }
                // Pacemaker's schema requires an interval; crmsh adds 0 where it is missing.
                attrs.set_if_absent("interval", "0");
                let mut op_model = Op {
                    id: None,
                    name: op.required("name")?.to_string(),
                    attrs,
                    params: nvsets(op, "instance_attributes", &mut self.notes),
                };
                op_model.id = op
                    .attr("id")
                    .filter(|id| *id != default_op_id(primitive_id, &op_model))
                    .map(str::to_string);
                ops.push(op_model);
            }
        }
        Ok(Primitive {
            id: primitive_id.to_string(),
            class: element.required("class")?.to_string(),
            provider: element.attr("provider").map(str::to_string),
            kind: element.required("type")?.to_string(),
            params: nvsets(element, "instance_attributes", &mut self.notes),
            meta: nvsets(element, "meta_attributes", &mut self.notes),
            ops,
            utilization: nvsets(element, "utilization", &mut self.notes),
        })
    }

    fn constraint(&mut self, element: &Element) -> Result<Option<Constraint>, XmlError> {
        let id = element.required("id")?.to_string();
        if element.child("resource_set").is_some() {
            return self.set_constraint(element, id);
        }
        match element.name.as_str() {
            "rsc_location" => {
                let Some(rsc) = element.attr("rsc") else {
                    self.note(element, format!("location {id} without rsc skipped"));
                    return Ok(None);
                };
                let mut rules = Vec::new();
                for (index, rule) in element.children_named("rule").enumerate() {
                    rules.push(self.rule(rule, &default_rule_id(&id, index))?);
                }
                Ok(Some(Constraint::Location(Location {
                    id,
                    rsc: rsc.to_string(),
                    score: element.attr("score").and_then(Score::parse_lenient),
                    node: element.attr("node").map(str::to_string),
                    rules,
                    role: element.attr("role").map(str::to_string),
                    resource_discovery: element.attr("resource-discovery").map(str::to_string),
                })))
            }
            "rsc_colocation" => {
                let score = element.required("score")?;
                Ok(Some(Constraint::Colocation(Colocation {
                    id,
                    score: Score::parse_lenient(score).ok_or_else(|| {
                        element.error(format!("colocation score {score:?} is not a score"))
                    })?,
                    rsc: element.required("rsc")?.to_string(),
                    with_rsc: element.required("with-rsc")?.to_string(),
                    rsc_role: element.attr("rsc-role").map(str::to_string),
                    with_rsc_role: element.attr("with-rsc-role").map(str::to_string),
                })))
            }
            "rsc_order" => {
                let (kind, score) = order_kind(element)?;
                Ok(Some(Constraint::Order(Order {
                    id,
                    kind,
                    first: element.required("first")?.to_string(),
                    first_action: element.attr("first-action").map(str::to_string),
                    then: element.required("then")?.to_string(),
                    then_action: element.attr("then-action").map(str::to_string),
                    symmetrical: element.attr("symmetrical").and_then(parse_bool),
                    require_all: element.attr("require-all").and_then(parse_bool),
                    score,
                })))
            }
            other => {
                self.note(element, format!("<{other}> skipped (not supported)"));
                Ok(None)
            }
        }
    }

    /// A colocation or order made of `<resource_set>`s.
    fn set_constraint(
        &mut self,
        element: &Element,
        id: String,
    ) -> Result<Option<Constraint>, XmlError> {
        let is_order = element.name == "rsc_order";
        let mut sets = Vec::new();
        for (index, set) in element.children_named("resource_set").enumerate() {
            let mut resources = Vec::new();
            for member in set.children_named("resource_ref") {
                resources.push(member.required("id")?.to_string());
            }
            if resources.is_empty() {
                // Pacemaker's schema requires a member; the crm language cannot write none.
                self.note(
                    set,
                    format!("empty resource set in {id}: constraint skipped"),
                );
                return Ok(None);
            }
            let (wanted, other) = if is_order {
                ("action", "role")
            } else {
                ("role", "action")
            };
            for name in [other, "score", "kind"] {
                if set.attr(name).is_some() {
                    self.note(set, format!("{name} of a resource set in {id} skipped"));
                }
            }
            let qualifier = set.attr(wanted).map(str::to_string);
            sets.push(ResourceSet {
                id: set
                    .attr("id")
                    .filter(|s| *s != ResourceSet::default_id(&id, index))
                    .map(str::to_string),
                resources,
                sequential: set.attr("sequential").and_then(parse_bool),
                require_all: set.attr("require-all").and_then(parse_bool),
                role: if is_order { None } else { qualifier.clone() },
                action: if is_order { qualifier } else { None },
                ordering: set.attr("ordering").map(str::to_string),
            });
        }
        match element.name.as_str() {
            "rsc_colocation" => {
                let score = element.required("score")?;
                Ok(Some(Constraint::ColocationSet(ColocationSet {
                    score: Score::parse_lenient(score).ok_or_else(|| {
                        element.error(format!("colocation score {score:?} is not a score"))
                    })?,
                    id,
                    sets,
                })))
            }
            "rsc_order" => {
                let (kind, score) = order_kind(element)?;
                Ok(Some(Constraint::OrderSet(OrderSet {
                    id,
                    kind,
                    symmetrical: element.attr("symmetrical").and_then(parse_bool),
                    score,
                    sets,
                })))
            }
            other => {
                self.note(element, format!("<{other}> with resource sets skipped"));
                Ok(None)
            }
        }
    }

    /// A rule; ids equal to the ones [`to_xml`] would generate (`default_id` for the rule)
    /// are read as `None`, so that export and import give back the same model.
    fn rule(&mut self, rule: &Element, default_id: &str) -> Result<Rule, XmlError> {
        let rule_id = rule.attr("id").unwrap_or(default_id);
        let mut expressions = Vec::new();
        for child in &rule.children {
            let mut expression = if child.name == "expression" {
                Expression {
                    id: child.attr("id").map(str::to_string),
                    attribute: child.required("attribute")?.to_string(),
                    operation: child.required("operation")?.to_string(),
                    value: child.attr("value").map(str::to_string),
                    value_type: child.attr("type").map(str::to_string),
                }
            } else if let Some(expression) = date_expression(child) {
                expression
            } else {
                self.note(child, format!("<{}> inside a rule skipped", child.name));
                continue;
            };
            if expression.id.as_deref() == Some(&default_expression_id(rule_id, expressions.len()))
            {
                expression.id = None;
            }
            expressions.push(expression);
        }
        Ok(Rule {
            id: rule
                .attr("id")
                .filter(|id| *id != default_id)
                .map(str::to_string),
            score: rule.attr("score").and_then(Score::parse_lenient),
            score_attribute: rule.attr("score-attribute").map(str::to_string),
            // One expression holds the same under either combiner; the crm form has none.
            boolean_op: match rule.attr("boolean-op") {
                Some(op) if op.eq_ignore_ascii_case("or") && expressions.len() > 1 => BooleanOp::Or,
                _ => BooleanOp::And,
            },
            role: rule.attr("role").map(str::to_string),
            expressions,
        })
    }

    fn status(&mut self, status: &Element) -> Result<Status, XmlError> {
        let mut out = Status::default();
        for node in status.children_named("node_state") {
            // Pacemaker ignores a node_state without an id; so do we (with a note).
            let Some(id) = node.attr("id").map(str::to_string) else {
                self.note(node, "<node_state> without id skipped".into());
                continue;
            };
            let mut state = NodeState {
                uname: node.attr("uname").unwrap_or("").to_string(),
                id,
                in_ccm: node.attr("in_ccm").map(str::to_string),
                crmd: node.attr("crmd").map(str::to_string),
                join: node.attr("join").map(str::to_string),
                expected: node.attr("expected").map(str::to_string),
                ..NodeState::default()
            };
            if let Some(transient) = node.child("transient_attributes") {
                state.transient_attributes =
                    nvsets(transient, "instance_attributes", &mut self.notes);
                state.transient_utilization = nvsets(transient, "utilization", &mut self.notes);
            }
            let resources = node.child("lrm").and_then(|lrm| lrm.child("lrm_resources"));
            for resource in resources
                .iter()
                .flat_map(|r| r.children_named("lrm_resource"))
            {
                let mut history = ResourceHistory {
                    id: resource.required("id")?.to_string(),
                    class: resource.attr("class").unwrap_or("").to_string(),
                    provider: resource.attr("provider").map(str::to_string),
                    kind: resource.attr("type").unwrap_or("").to_string(),
                    ops: Vec::new(),
                };
                for op in resource.children_named("lrm_rsc_op") {
                    history.ops.push(op_record(op)?);
                }
                state.resources.push(history);
            }
            out.nodes.push(state);
        }
        Ok(out)
    }
}

fn op_record(op: &Element) -> Result<OpRecord, XmlError> {
    let int = |name: &str| op.attr(name).and_then(|v| v.trim().parse::<i64>().ok());
    // Old histories carry the result only in transition-magic: "op_status:rc;key".
    let magic = op.attr("transition-magic").and_then(|m| {
        let (codes, _) = m.split_once(';')?;
        let (status, rc) = codes.split_once(':')?;
        Some((status.parse::<i32>().ok()?, rc.parse::<i32>().ok()?))
    });
    let rc_code = int("rc-code")
        .map(|v| v as i32)
        .or(magic.map(|m| m.1))
        .unwrap_or(0);
    let op_status = int("op-status")
        .map(|v| v as i32)
        .or(magic.map(|m| m.0))
        .unwrap_or(0);
    Ok(OpRecord {
        id: op.attr("id").unwrap_or("").to_string(),
        operation: op.required("operation")?.to_string(),
        interval_ms: int("interval").unwrap_or(0).max(0) as u64,
        call_id: int("call-id").unwrap_or(-1),
        rc_code,
        op_status,
        last_rc_change: int("last-rc-change"),
        last_run: int("last-run"),
        exec_time_ms: int("exec-time").map(|v| v.max(0) as u64),
        queue_time_ms: int("queue-time").map(|v| v.max(0) as u64),
        op_digest: op.attr("op-digest").map(str::to_string),
        op_restart_digest: op.attr("op-restart-digest").map(str::to_string),
        op_force_restart: op.attr("op-force-restart").map(str::to_string),
        op_secure_digest: op.attr("op-secure-digest").map(str::to_string),
        op_secure_params: op.attr("op-secure-params").map(str::to_string),
        crm_feature_set: op.attr("crm_feature_set").map(str::to_string),
        exit_reason: op.attr("exit-reason").map(str::to_string),
        on_node: op.attr("on_node").map(str::to_string),
        transition_key: op.attr("transition-key").map(str::to_string),
        transition_magic: op.attr("transition-magic").map(str::to_string),
    })
}

fn is_nvset_name(name: &str) -> bool {
    matches!(
        name,
        "meta_attributes" | "instance_attributes" | "utilization" | "operations"
    )
}

/// Merges every `set_name` child of `parent` into one list, Pacemaker's way: sets by `score`
/// (highest first, stable), first value of a name wins, nvpairs without value dropped.
fn nvsets(parent: &Element, set_name: &str, notes: &mut Vec<XmlNote>) -> NvList {
    let mut sets: Vec<&Element> = parent.children_named(set_name).collect();
    sets.sort_by_key(|s| {
        std::cmp::Reverse(
            s.attr("score")
                .and_then(Score::parse_lenient)
                .unwrap_or(Score::ZERO),
        )
    });
    let mut out = NvList::new();
    for set in sets {
        if set.child("rule").is_some() {
            notes.push(XmlNote {
                line: set.line,
                message: format!("rule in <{set_name}> ignored: the set always applies"),
            });
        }
        for pair in set.children_named("nvpair") {
            if let (Some(name), Some(value)) = (pair.attr("name"), pair.attr("value")) {
                out.set_if_absent(name, value);
            }
        }
    }
    out
}

/// An order constraint's kind, and its legacy score when that is what the input used.
fn order_kind(element: &Element) -> Result<(OrderKind, Option<Score>), XmlError> {
    // Pacemaker ignores a score beside a kind; keeping only what applies lets the crm form
    // (kind or score, not both) say everything the model holds.
    let score = element
        .attr("score")
        .filter(|_| element.attr("kind").is_none())
        .and_then(Score::parse_lenient);
    let kind = match element.attr("kind") {
        Some(k) if k.eq_ignore_ascii_case("optional") => OrderKind::Optional,
        Some(k) if k.eq_ignore_ascii_case("serialize") => OrderKind::Serialize,
        Some(k) if k.eq_ignore_ascii_case("mandatory") => OrderKind::Mandatory,
        Some(k) => return Err(element.error(format!("unknown order kind {k:?}"))),
        None if score == Some(Score::ZERO) => OrderKind::Optional,
        None => OrderKind::Mandatory,
    };
    Ok((kind, score))
}

/// Pacemaker's boolean spellings (`pcmk__parse_bool`): true/yes/y/on/1, false/no/n/off/0.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Writes the model as a Pacemaker CIB document (schema `pacemaker-3.9`). Ids Pacemaker requires
/// but the model does not keep (nvsets, nvpairs, rules) are derived from the parent's id.
pub fn to_xml(cib: &Cib) -> String {
    let mut w = Writer::default();
    let mut root = vec![
        ("admin_epoch", cib.admin_epoch.to_string()),
        ("epoch", cib.epoch.to_string()),
        ("num_updates", cib.num_updates.to_string()),
        ("validate-with", "pacemaker-3.9".to_string()),
    ];
    if let Some(q) = cib.status.have_quorum {
        root.push(("have-quorum", if q { "1" } else { "0" }.to_string()));
    }
    if let Some(dc) = &cib.status.dc_uuid {
        root.push(("dc-uuid", dc.clone()));
    }
    if let Some(date) = cib.status.execution_date {
        root.push(("execution-date", date.to_string()));
    }
    w.open("cib", &root);
    w.open("configuration", &[]);
    let config = &cib.configuration;
    w.open("crm_config", &[]);
    w.nvset(
        "cluster_property_set",
        "cib-bootstrap-options",
        &config.properties,
        true,
    );
    w.close("crm_config");
    w.open("nodes", &[]);
    for node in &config.nodes {
        let mut attrs = vec![("id", node.id.clone()), ("uname", node.uname.clone())];
        if let Some(kind) = &node.kind {
            attrs.push(("type", kind.clone()));
        }
        if node.attributes.is_empty() && node.utilization.is_empty() {
            w.empty("node", &attrs);
        } else {
            w.open("node", &attrs);
            w.nvset(
                "instance_attributes",
                &format!("nodes-{}", node.id),
                &node.attributes,
                false,
            );
            w.nvset(
                "utilization",
                &format!("nodes-{}-utilization", node.id),
                &node.utilization,
                false,
            );
            w.close("node");
        }
    }
    w.close("nodes");
    w.open("resources", &[]);
    for resource in &config.resources {
        w.resource(resource);
    }
    w.close("resources");
    w.open("constraints", &[]);
    for constraint in &config.constraints {
        w.constraint(constraint);
    }
    w.close("constraints");
    if !config.rsc_defaults.is_empty() {
        w.open("rsc_defaults", &[]);
        w.nvset(
            "meta_attributes",
            "rsc-options",
            &config.rsc_defaults,
            false,
        );
        w.close("rsc_defaults");
    }
    if !config.op_defaults.is_empty() {
        w.open("op_defaults", &[]);
        w.nvset("meta_attributes", "op-options", &config.op_defaults, false);
        w.close("op_defaults");
    }
    w.close("configuration");
    w.open("status", &[]);
    for node in &cib.status.nodes {
        w.node_state(node);
    }
    w.close("status");
    w.close("cib");
    w.out
}

#[derive(Default)]
struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn start_tag(&mut self, name: &str, attrs: &[(&str, String)]) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (key, value) in attrs {
            self.out.push(' ');
            self.out.push_str(key);
            self.out.push_str("=\"");
            self.out
                .push_str(&quick_xml::escape::escape(value.as_str()));
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.start_tag(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.start_tag(name, attrs);
        self.out.push_str("/>\n");
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// Writes one nvset; empty lists are left out unless `always`.
    fn nvset(&mut self, set_name: &str, id: &str, list: &NvList, always: bool) {
        if list.is_empty() && !always {
            return;
        }
        self.open(set_name, &[("id", id.to_string())]);
        for (name, value) in list.iter() {
            self.empty(
                "nvpair",
                &[
                    ("id", format!("{id}-{name}")),
                    ("name", name.to_string()),
                    ("value", value.to_string()),
                ],
            );
        }
        self.close(set_name);
    }

    fn resource(&mut self, resource: &Resource) {
        match resource {
            Resource::Primitive(p) => self.primitive(p),
            Resource::Group(g) => {
                self.open("group", &[("id", g.id.clone())]);
                self.nvset(
                    "meta_attributes",
                    &format!("{}-meta_attributes", g.id),
                    &g.meta,
                    false,
                );
                self.nvset(
                    "instance_attributes",
                    &format!("{}-instance_attributes", g.id),
                    &g.params,
                    false,
                );
                for child in &g.children {
                    self.resource(child);
                }
                self.close("group");
            }
            Resource::Clone(c) => {
                self.open("clone", &[("id", c.id.clone())]);
                self.nvset(
                    "meta_attributes",
                    &format!("{}-meta_attributes", c.id),
                    &c.meta,
                    false,
                );
                self.nvset(
                    "instance_attributes",
                    &format!("{}-instance_attributes", c.id),
                    &c.params,
                    false,
                );
                self.resource(&c.child);
                self.close("clone");
            }
        }
    }

    fn primitive(&mut self, p: &Primitive) {
        let mut attrs = vec![("id", p.id.clone()), ("class", p.class.clone())];
        if let Some(provider) = &p.provider {
            attrs.push(("provider", provider.clone()));
        }
        attrs.push(("type", p.kind.clone()));
        if p.params.is_empty() && p.meta.is_empty() && p.ops.is_empty() && p.utilization.is_empty()
        {
            self.empty("primitive", &attrs);
            return;
        }
        self.open("primitive", &attrs);
        self.nvset(
            "instance_attributes",
            &format!("{}-instance_attributes", p.id),
            &p.params,
            false,
        );
        self.nvset(
            "meta_attributes",
            &format!("{}-meta_attributes", p.id),
            &p.meta,
            false,
        );
        self.nvset(
            "utilization",
            &format!("{}-utilization", p.id),
            &p.utilization,
            false,
        );
        if !p.ops.is_empty() {
            self.open("operations", &[]);
            for op in &p.ops {
                let id = op.id.clone().unwrap_or_else(|| default_op_id(&p.id, op));
                let mut attrs = vec![("id", id), ("name", op.name.clone())];
                let owned: Vec<(String, String)> = op
                    .attrs
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect();
                let mut all: Vec<(&str, String)> = Vec::new();
                all.append(&mut attrs);
                for (n, v) in &owned {
                    all.push((n.as_str(), v.clone()));
                }
                // The schema requires an interval on every op; crm text may leave it out.
                if op.attrs.get("interval").is_none() {
                    all.push(("interval", "0".to_string()));
                }
                if op.params.is_empty() {
                    self.empty("op", &all);
                } else {
                    let set_id = format!("{}-instance_attributes", all[0].1);
                    self.open("op", &all);
                    self.nvset("instance_attributes", &set_id, &op.params, false);
                    self.close("op");
                }
            }
            self.close("operations");
        }
        self.close("primitive");
    }

    fn constraint(&mut self, constraint: &Constraint) {
        match constraint {
            Constraint::Location(l) => {
                let mut attrs = vec![("id", l.id.clone()), ("rsc", l.rsc.clone())];
                if let Some(role) = &l.role {
                    attrs.push(("role", role.clone()));
                }
                if let Some(node) = &l.node {
                    attrs.push(("node", node.clone()));
                }
                if let Some(score) = l.score {
                    attrs.push(("score", score.to_string()));
                }
                if let Some(discovery) = &l.resource_discovery {
                    attrs.push(("resource-discovery", discovery.clone()));
                }
                if l.rules.is_empty() {
                    self.empty("rsc_location", &attrs);
                    return;
                }
                self.open("rsc_location", &attrs);
                for (index, rule) in l.rules.iter().enumerate() {
                    let rule_id = rule
                        .id
                        .clone()
                        .unwrap_or_else(|| default_rule_id(&l.id, index));
                    let mut attrs = vec![("id", rule_id.clone())];
                    if let Some(score) = rule.score {
                        attrs.push(("score", score.to_string()));
                    }
                    if let Some(attribute) = &rule.score_attribute {
                        attrs.push(("score-attribute", attribute.clone()));
                    }
                    if let Some(role) = &rule.role {
                        attrs.push(("role", role.clone()));
                    }
                    if rule.boolean_op == BooleanOp::Or {
                        attrs.push(("boolean-op", "or".to_string()));
                    }
                    self.open("rule", &attrs);
                    for (e_index, e) in rule.expressions.iter().enumerate() {
                        let mut attrs = vec![
                            (
                                "id",
                                e.id.clone()
                                    .unwrap_or_else(|| default_expression_id(&rule_id, e_index)),
                            ),
                            ("attribute", e.attribute.clone()),
                            ("operation", e.operation.clone()),
                        ];
                        if let Some(value) = &e.value {
                            attrs.push(("value", value.clone()));
                        }
                        if e.attribute == DATE_ATTRIBUTE {
                            // Pacemaker's form: `lt` compares with `end`, `gt` with `start`.
                            let bound = if e.operation == "gt" { "start" } else { "end" };
                            attrs.retain(|(name, _)| *name == "id");
                            attrs.push(("operation", e.operation.clone()));
                            if let Some(value) = &e.value {
                                attrs.push((bound, value.clone()));
                            }
                            self.empty("date_expression", &attrs);
                            continue;
                        }
                        if let Some(kind) = &e.value_type {
                            attrs.push(("type", kind.clone()));
                        }
                        self.empty("expression", &attrs);
                    }
                    self.close("rule");
                }
                self.close("rsc_location");
            }
            Constraint::Colocation(c) => {
                let mut attrs = vec![
                    ("id", c.id.clone()),
                    ("score", c.score.to_string()),
                    ("rsc", c.rsc.clone()),
                    ("with-rsc", c.with_rsc.clone()),
                ];
                if let Some(role) = &c.rsc_role {
                    attrs.push(("rsc-role", role.clone()));
                }
                if let Some(role) = &c.with_rsc_role {
                    attrs.push(("with-rsc-role", role.clone()));
                }
                self.empty("rsc_colocation", &attrs);
            }
            Constraint::Order(o) => {
                let mut attrs = vec![("id", o.id.clone())];
                // The legacy score form stands alone: its kind follows from the score.
                match o.score {
                    Some(score) => attrs.push(("score", score.to_string())),
                    None => attrs.push(("kind", o.kind.to_string())),
                }
                attrs.push(("first", o.first.clone()));
                if let Some(action) = &o.first_action {
                    attrs.push(("first-action", action.clone()));
                }
                attrs.push(("then", o.then.clone()));
                if let Some(action) = &o.then_action {
                    attrs.push(("then-action", action.clone()));
                }
                if let Some(symmetrical) = o.symmetrical {
                    attrs.push(("symmetrical", symmetrical.to_string()));
                }
                if let Some(require_all) = o.require_all {
                    attrs.push(("require-all", require_all.to_string()));
                }
                self.empty("rsc_order", &attrs);
            }
            Constraint::ColocationSet(c) => {
                let attrs = vec![("id", c.id.clone()), ("score", c.score.to_string())];
                self.open("rsc_colocation", &attrs);
                self.resource_sets(&c.id, &c.sets);
                self.close("rsc_colocation");
            }
            Constraint::OrderSet(o) => {
                let mut attrs = vec![("id", o.id.clone())];
                match o.score {
                    Some(score) => attrs.push(("score", score.to_string())),
                    None => attrs.push(("kind", o.kind.to_string())),
                }
                if let Some(symmetrical) = o.symmetrical {
                    attrs.push(("symmetrical", symmetrical.to_string()));
                }
                self.open("rsc_order", &attrs);
                self.resource_sets(&o.id, &o.sets);
                self.close("rsc_order");
            }
        }
    }

    fn resource_sets(&mut self, constraint_id: &str, sets: &[ResourceSet]) {
        for (index, set) in sets.iter().enumerate() {
            let mut attrs = vec![("id", set.id_in(constraint_id, index))];
            if let Some(sequential) = set.sequential {
                attrs.push(("sequential", sequential.to_string()));
            }
            if let Some(require_all) = set.require_all {
                attrs.push(("require-all", require_all.to_string()));
            }
            if let Some(role) = &set.role {
                attrs.push(("role", role.clone()));
            }
            if let Some(action) = &set.action {
                attrs.push(("action", action.clone()));
            }
            if let Some(ordering) = &set.ordering {
                attrs.push(("ordering", ordering.clone()));
            }
            self.open("resource_set", &attrs);
            for member in &set.resources {
                self.empty("resource_ref", &[("id", member.clone())]);
            }
            self.close("resource_set");
        }
    }

    fn node_state(&mut self, node: &NodeState) {
        let mut attrs = vec![("id", node.id.clone()), ("uname", node.uname.clone())];
        for (key, value) in [
            ("in_ccm", &node.in_ccm),
            ("crmd", &node.crmd),
            ("join", &node.join),
            ("expected", &node.expected),
        ] {
            if let Some(value) = value {
                attrs.push((key, value.clone()));
            }
        }
        self.open("node_state", &attrs);
        if !node.transient_attributes.is_empty() || !node.transient_utilization.is_empty() {
            self.open("transient_attributes", &[("id", node.id.clone())]);
            self.nvset(
                "instance_attributes",
                &format!("status-{}", node.id),
                &node.transient_attributes,
                false,
            );
            self.nvset(
                "utilization",
                &format!("status-{}-utilization", node.id),
                &node.transient_utilization,
                false,
            );
            self.close("transient_attributes");
        }
        self.open("lrm", &[("id", node.id.clone())]);
        self.open("lrm_resources", &[]);
        for resource in &node.resources {
            let mut attrs = vec![
                ("id", resource.id.clone()),
                ("class", resource.class.clone()),
            ];
            if let Some(provider) = &resource.provider {
                attrs.push(("provider", provider.clone()));
            }
            attrs.push(("type", resource.kind.clone()));
            self.open("lrm_resource", &attrs);
            for op in &resource.ops {
                self.op_record(op);
            }
            self.close("lrm_resource");
        }
        self.close("lrm_resources");
        self.close("lrm");
        self.close("node_state");
    }

    fn op_record(&mut self, op: &OpRecord) {
        let mut attrs = vec![
            ("id", op.id.clone()),
            ("operation", op.operation.clone()),
            ("interval", op.interval_ms.to_string()),
            ("call-id", op.call_id.to_string()),
            ("rc-code", op.rc_code.to_string()),
            ("op-status", op.op_status.to_string()),
        ];
        let optional_numbers = [
            ("last-rc-change", op.last_rc_change),
            ("last-run", op.last_run),
            ("exec-time", op.exec_time_ms.map(|v| v as i64)),
            ("queue-time", op.queue_time_ms.map(|v| v as i64)),
        ];
        for (key, value) in optional_numbers {
            if let Some(value) = value {
                attrs.push((key, value.to_string()));
            }
        }
        let optional_texts = [
            ("op-digest", &op.op_digest),
            ("op-restart-digest", &op.op_restart_digest),
            ("op-force-restart", &op.op_force_restart),
            ("op-secure-digest", &op.op_secure_digest),
            ("op-secure-params", &op.op_secure_params),
            ("crm_feature_set", &op.crm_feature_set),
            ("exit-reason", &op.exit_reason),
            ("on_node", &op.on_node),
            ("transition-key", &op.transition_key),
            ("transition-magic", &op.transition_magic),
        ];
        for (key, value) in optional_texts {
            if let Some(value) = value {
                attrs.push((key, value.clone()));
            }
        }
        self.empty("lrm_rsc_op", &attrs);
    }
}

/// A `date_expression` with `operation="lt" end=…` or `operation="gt" start=…` as a date test
/// ([`DATE_ATTRIBUTE`]); other date forms (`in_range`, `date_spec`) are not read.
fn date_expression(element: &Element) -> Option<Expression> {
    if element.name != "date_expression" {
        return None;
    }
    let (operation, bound) = match element.attr("operation")? {
        "lt" => ("lt", "end"),
        "gt" => ("gt", "start"),
        _ => return None,
    };
    Some(Expression {
        id: element.attr("id").map(str::to_string),
        attribute: DATE_ATTRIBUTE.to_string(),
        operation: operation.to_string(),
        value: Some(element.attr(bound)?.to_string()),
        value_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"<cib admin_epoch="0" epoch="3" num_updates="7" have-quorum="false" dc-uuid="uuid1" execution-date="1475652754">
  <configuration>
    <crm_config>
      <cluster_property_set id="low" score="1">
        <nvpair id="a" name="no-quorum-policy" value="stop"/>
      </cluster_property_set>
      <cluster_property_set id="high" score="10">
        <nvpair id="b" name="no-quorum-policy" value="ignore"/>
        <nvpair id="c" name="no-quorum-policy" value="freeze"/>
        <nvpair id="d" name="fencing-enabled"/>
        <nvpair id="e" name="stonith-enabled" value="false"/>
      </cluster_property_set>
    </crm_config>
    <nodes>
      <node id="uuid1" uname="node1" type="member">
        <instance_attributes id="n1"><nvpair id="n1s" name="standby" value="on"/></instance_attributes>
      </node>
      <node id="uuid2" uname="node2"/>
    </nodes>
    <resources>
      <primitive id="rsc1" class="ocf" provider="heartbeat" type="apache">
        <meta_attributes id="m"><nvpair id="m1" name="priority" value="2.0"/></meta_attributes>
        <operations><op id="o1" name="monitor" interval="10s" on-fail="block"/></operations>
      </primitive>
      <group id="grp">
        <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"/>
        <primitive id="web" class="lsb" type="postfix"/>
      </group>
    </resources>
    <constraints>
      <rsc_location id="loc" rsc="rsc1">
        <rule id="r" score="10" boolean-op="or">
          <expression id="x" attribute="#uname" operation="eq" value="node2"/>
        </rule>
      </rsc_location>
      <rsc_location id="loc2" rsc="grp" node="node1" score="-INFINITY"/>
      <rsc_colocation id="col" rsc="grp" with-rsc="rsc1" score="INFINITY"/>
      <rsc_order id="ord" first="rsc1" then="grp" score="0" symmetrical="false"/>
    </constraints>
    <rsc_defaults><meta_attributes id="rd"><nvpair id="rd1" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>
  </configuration>
  <status>
    <node_state id="uuid1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="uuid1"><instance_attributes id="t"><nvpair id="t1" name="fail-count-rsc1#monitor_10000" value="2"/></instance_attributes></transient_attributes>
      <lrm id="uuid1"><lrm_resources>
        <lrm_resource id="rsc1" class="ocf" provider="heartbeat" type="apache">
          <lrm_rsc_op id="rsc1_last_0" operation="start" call-id="4" rc-code="0" op-status="0" interval="0" op-digest="abc" last-rc-change="100"/>
          <lrm_rsc_op id="rsc1_monitor_10000" operation="monitor" call-id="5" transition-magic="0:7;1:2:0:x" interval="10000"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>
"##;

    #[test]
    fn reads_configuration_with_upgrade_quirks() {
        let cib = parse_cib(SAMPLE).unwrap();
        let config = &cib.configuration;
        // The higher-scored set wins; inside it the first value; a valueless pair is dropped.
        assert_eq!(config.properties.get("no-quorum-policy"), Some("ignore"));
        assert_eq!(config.properties.get("fencing-enabled"), None);
        assert_eq!(config.properties.get("stonith-enabled"), Some("false"));
        assert_eq!(config.nodes[0].attributes.get("standby"), Some("on"));
        assert_eq!(config.nodes[1].uname, "node2");
        assert_eq!(config.primitives().len(), 3);
        assert_eq!(
            config.find_primitive("rsc1").unwrap().ops[0].interval_ms(),
            10_000
        );
        assert_eq!(config.constraints.len(), 4);
        match &config.constraints[3] {
            Constraint::Order(o) => {
                assert_eq!(o.kind, OrderKind::Optional);
                assert_eq!(o.symmetrical, Some(false));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(config.rsc_defaults.get("resource-stickiness"), Some("100"));
    }

    #[test]
    fn reads_status_and_falls_back_to_transition_magic() {
        let cib = parse_cib(SAMPLE).unwrap();
        assert_eq!(cib.status.have_quorum, Some(false));
        assert_eq!(cib.status.execution_date, Some(1_475_652_754));
        let node = &cib.status.nodes[0];
        assert_eq!(
            node.transient_attributes
                .get("fail-count-rsc1#monitor_10000"),
            Some("2")
        );
        let ops = &node.resources[0].ops;
        assert_eq!(ops[0].op_digest.as_deref(), Some("abc"));
        assert_eq!((ops[1].op_status, ops[1].rc_code), (0, 7));
    }

    #[test]
    fn transient_utilization_is_read_and_written() {
        let xml = r#"<cib><configuration><crm_config/><nodes/><resources/><constraints/>
            </configuration><status><node_state id="1" uname="host2">
            <transient_attributes id="1"><utilization id="u"><nvpair id="u-cpu" name="cpu" value="2"/>
            </utilization></transient_attributes></node_state></status></cib>"#;
        let cib = parse_cib(xml).unwrap();
        assert_eq!(
            cib.status.nodes[0].transient_utilization.get("cpu"),
            Some("2")
        );
        assert!(cib.status.nodes[0].transient_attributes.is_empty());
        assert_eq!(parse_cib(&to_xml(&cib)).unwrap(), cib);
    }

    #[test]
    fn a_constraint_with_an_empty_resource_set_is_skipped_with_a_note() {
        let xml = r#"<cib><configuration><crm_config/><nodes/><resources/><constraints>
            <rsc_order id="o"><resource_set id="s"/></rsc_order></constraints>
            </configuration><status/></cib>"#;
        let (cib, notes) = parse_cib_with_notes(xml).unwrap();
        assert!(cib.configuration.constraints.is_empty());
        assert!(
            notes
                .iter()
                .any(|n| n.message.contains("empty resource set in o")),
            "{notes:?}"
        );
    }

    #[test]
    fn export_round_trips() {
        let cib = parse_cib(SAMPLE).unwrap();
        let xml = to_xml(&cib);
        let back = parse_cib(&xml).unwrap();
        assert_eq!(back, cib);
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse_cib(
            "<cib>\n<configuration>\n<resources>\n<primitive id=\"x\"/>\n</resources></configuration></cib>",
        )
            .unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert!(err.message.contains("class"), "{err}");
        let err = parse_cib("<cib>\n<configuration>\n</cib>").unwrap_err();
        assert!(err.line >= 2, "{err}");
        let err = parse_cib("<foo/>").unwrap_err();
        assert!(err.message.contains("root"), "{err}");
    }

    #[test]
    fn every_corpus_case_parses_when_present() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pacemaker-scheduler");
        for tier in ["tier1", "tier2"] {
            check_folder(&dir.join(tier));
        }
    }

    fn check_folder(dir: &std::path::Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "xml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let cib = parse_cib(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let back = parse_cib(&to_xml(&cib)).unwrap();
                assert_eq!(back, cib, "{}", path.display());
            }
        }
    }
}
