//! `show`: the configuration printed in crm syntax with crmsh's layout, so screens look the
//! same: nodes, primitives (sorted by id), groups, clones, constraints (colocation, location,
//! order, each sorted by id), then `property`, `rsc_defaults` and `op_defaults`. Long objects
//! continue with ` \` and a tab-indented section per line. Pure text building; no I/O.
//!
//! Parsing the output gives back the configuration in [`canonical`] form: the same objects,
//! top-level resources in show order, and the generated ids crmsh also hides (op, rule and
//! expression ids) dropped.

use std::fmt::Write as _;

use super::cib::{
    BooleanOp, Colocation, Configuration, Constraint, Location, Node, NvList, Order, Primitive,
    Resource, Rule,
};
use super::score::Score;

/// The text of `show` and the line each object starts on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shown {
    /// The crm text, one object per logical line, ending in a newline when not empty.
    pub text: String,
    /// `(id, line)` for every object printed, lines from 1.
    pub lines: Vec<(String, usize)>,
}

/// The whole configuration in crm syntax.
pub fn show(config: &Configuration) -> String {
    show_with_lines(config).text
}

/// The whole configuration in crm syntax, with where each object starts.
pub fn show_with_lines(config: &Configuration) -> Shown {
    let mut out = Writer::default();
    for object in objects(config) {
        object.write(&mut out);
    }
    out.finish()
}

/// Only the named objects (any kind, in show order). Unknown ids are returned as the error.
pub fn show_ids(config: &Configuration, ids: &[String]) -> Result<String, Vec<String>> {
    let all = objects(config);
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !all.iter().any(|o| o.id() == id.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut out = Writer::default();
    for object in all.iter().filter(|o| ids.iter().any(|id| id == o.id())) {
        object.write(&mut out);
    }
    Ok(out.finish().text)
}

/// The configuration as parsing its `show` text yields it.
pub fn canonical(config: &Configuration) -> Configuration {
    let mut out = config.clone();
    for node in &mut out.nodes {
        if node.id.is_empty() {
            node.id = node.uname.clone();
        }
    }
    fn strip(resource: &mut Resource) {
        match resource {
            Resource::Primitive(p) => p.ops.iter_mut().for_each(|op| op.id = None),
            Resource::Group(g) => g.children.iter_mut().for_each(strip),
            Resource::Clone(c) => strip(&mut c.child),
        }
    }
    out.resources.iter_mut().for_each(strip);
    let rank = |r: &Resource| match r {
        Resource::Primitive(_) => 0,
        Resource::Group(_) => 1,
        Resource::Clone(_) => 2,
    };
    out.resources
        .sort_by(|a, b| (rank(a), a.id()).cmp(&(rank(b), b.id())));
    for constraint in &mut out.constraints {
        match constraint {
            Constraint::Location(l) => {
                for rule in &mut l.rules {
                    rule.id = None;
                    rule.expressions.iter_mut().for_each(|e| e.id = None);
                }
            }
            Constraint::Order(o) => {
                if let Some(score) = o.score {
                    o.kind = order_kind_for(score);
                }
            }
            Constraint::Colocation(_) => {}
        }
    }
    out.constraints.sort_by(|a, b| constraint_key(a).cmp(&constraint_key(b)));
    out
}

/// The order kind a numeric order score means: 0 is optional, anything else mandatory.
pub fn order_kind_for(score: Score) -> super::cib::OrderKind {
    if score == Score::ZERO {
        super::cib::OrderKind::Optional
    } else {
        super::cib::OrderKind::Mandatory
    }
}

fn constraint_key(c: &Constraint) -> (&'static str, &str) {
    (c.kind_name(), c.id())
}

enum Object<'a> {
    Node(&'a Node),
    Primitive(&'a Primitive),
    Group(&'a super::cib::Group),
    Clone(&'a super::cib::Clone),
    Constraint(&'a Constraint),
    Options {
        keyword: &'static str,
        set: &'static str,
        list: &'a NvList,
    },
}

impl Object<'_> {
    fn id(&self) -> &str {
        match self {
            Object::Node(n) => &n.uname,
            Object::Primitive(p) => &p.id,
            Object::Group(g) => &g.id,
            Object::Clone(c) => &c.id,
            Object::Constraint(c) => c.id(),
            Object::Options { set, .. } => set,
        }
    }

    fn write(&self, out: &mut Writer) {
        out.begin(self.id());
        match self {
            Object::Node(node) => write_node(out, node),
            Object::Primitive(p) => write_primitive(out, p),
            Object::Group(g) => {
                let members: Vec<&str> = g.children.iter().map(Resource::id).collect();
                out.head(format!("group {} {}", g.id, members.join(" ")));
                out.pairs("params", &g.params);
                out.pairs("meta", &g.meta);
            }
            Object::Clone(c) => {
                out.head(format!("clone {} {}", c.id, c.child.id()));
                out.pairs("params", &c.params);
                out.pairs("meta", &c.meta);
            }
            Object::Constraint(Constraint::Location(l)) => write_location(out, l),
            Object::Constraint(Constraint::Colocation(c)) => write_colocation(out, c),
            Object::Constraint(Constraint::Order(o)) => write_order(out, o),
            Object::Options { keyword, set, list } => {
                out.head(format!("{keyword} {set}:"));
                for (name, value) in list.iter() {
                    out.section(format!("{name}={}", quote(value)));
                }
            }
        }
        out.end();
    }
}

fn objects(config: &Configuration) -> Vec<Object<'_>> {
    let mut objects: Vec<Object<'_>> = config.nodes.iter().map(Object::Node).collect();
    let mut primitives = config.primitives();
    primitives.sort_by(|a, b| a.id.cmp(&b.id));
    objects.extend(primitives.into_iter().map(Object::Primitive));
    let mut groups = Vec::new();
    let mut clones = Vec::new();
    fn collect<'a>(
        r: &'a Resource,
        groups: &mut Vec<&'a super::cib::Group>,
        clones: &mut Vec<&'a super::cib::Clone>,
    ) {
        match r {
            Resource::Primitive(_) => {}
            Resource::Group(g) => {
                groups.push(g);
                g.children.iter().for_each(|c| collect(c, groups, clones));
            }
            Resource::Clone(c) => {
                clones.push(c);
                collect(&c.child, groups, clones);
            }
        }
    }
    for resource in &config.resources {
        collect(resource, &mut groups, &mut clones);
    }
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    clones.sort_by(|a, b| a.id.cmp(&b.id));
    objects.extend(groups.into_iter().map(Object::Group));
    objects.extend(clones.into_iter().map(Object::Clone));
    let mut constraints: Vec<&Constraint> = config.constraints.iter().collect();
    constraints.sort_by(|a, b| constraint_key(a).cmp(&constraint_key(b)));
    objects.extend(constraints.into_iter().map(Object::Constraint));
    for (keyword, set, list) in [
        ("property", "cib-bootstrap-options", &config.properties),
        ("rsc_defaults", "rsc-options", &config.rsc_defaults),
        ("op_defaults", "op-options", &config.op_defaults),
    ] {
        if !list.is_empty() {
            objects.push(Object::Options { keyword, set, list });
        }
    }
    objects
}

fn write_node(out: &mut Writer, node: &Node) {
    let mut head = String::from("node ");
    if !node.id.is_empty() && node.id != node.uname {
        let _ = write!(head, "{}: ", node.id);
    }
    head.push_str(&node.uname);
    if let Some(kind) = &node.kind {
        let _ = write!(head, ":{kind}");
    }
    out.head(head);
    out.pairs("attributes", &node.attributes);
    out.pairs("utilization", &node.utilization);
}

/// The agent as crmsh prints it: `IPaddr` for ocf:heartbeat agents, else the full spec.
pub fn agent_text(p: &Primitive) -> String {
    if p.class == "ocf" && p.provider.as_deref() == Some("heartbeat") {
        p.kind.clone()
    } else {
        p.agent()
    }
}

fn write_primitive(out: &mut Writer, p: &Primitive) {
    out.head(format!("primitive {} {}", p.id, agent_text(p)));
    out.pairs("params", &p.params);
    out.pairs("meta", &p.meta);
    out.pairs("utilization", &p.utilization);
    for op in &p.ops {
        let mut line = format!("op {}", op.name);
        for (name, value) in op.attrs.iter() {
            let _ = write!(line, " {name}={}", quote(value));
        }
        out.section(line);
    }
}

/// A score as crmsh prints it in constraints: `inf`, `-inf` or the number.
pub fn score_text(score: Score) -> String {
    if score.is_infinity() {
        "inf".into()
    } else if score.is_neg_infinity() {
        "-inf".into()
    } else {
        score.value().to_string()
    }
}

fn write_location(out: &mut Writer, l: &Location) {
    let mut head = format!("location {} {}", l.id, l.rsc);
    if let Some(role) = &l.role {
        let _ = write!(head, " role={role}");
    }
    if let Some(discovery) = &l.resource_discovery {
        let _ = write!(head, " resource-discovery={discovery}");
    }
    if l.rules.is_empty() {
        let score = l.score.map(score_text).unwrap_or_else(|| "0".into());
        let _ = write!(head, " {score}: {}", l.node.as_deref().unwrap_or(""));
        out.head(head);
        return;
    }
    out.head(head);
    for rule in &l.rules {
        out.section(rule_text(rule));
    }
}

fn rule_text(rule: &Rule) -> String {
    let mut text = String::from("rule ");
    if let Some(role) = &rule.role {
        let _ = write!(text, "$role={role} ");
    }
    match (&rule.score_attribute, rule.score) {
        (Some(attribute), _) => text.push_str(attribute),
        (None, Some(score)) => text.push_str(&score_text(score)),
        (None, None) => text.push('0'),
    }
    text.push(':');
    let joiner = match rule.boolean_op {
        BooleanOp::And => " and",
        BooleanOp::Or => " or",
    };
    for (index, e) in rule.expressions.iter().enumerate() {
        if index > 0 {
            text.push_str(joiner);
        }
        match &e.value {
            None => {
                let _ = write!(text, " {} {}", e.operation, quote(&e.attribute));
            }
            Some(value) => {
                let operation = match &e.value_type {
                    Some(kind) => format!("{kind}:{}", e.operation),
                    None => e.operation.clone(),
                };
                let _ = write!(text, " {} {operation} {}", quote(&e.attribute), quote(value));
            }
        }
    }
    text
}

fn with_suffix(id: &str, suffix: &Option<String>) -> String {
    match suffix {
        Some(suffix) => format!("{id}:{suffix}"),
        None => id.to_string(),
    }
}

fn write_colocation(out: &mut Writer, c: &Colocation) {
    out.head(format!(
        "colocation {} {}: {} {}",
        c.id,
        score_text(c.score),
        with_suffix(&c.rsc, &c.rsc_role),
        with_suffix(&c.with_rsc, &c.with_rsc_role)
    ));
}

fn write_order(out: &mut Writer, o: &Order) {
    let strength = match o.score {
        Some(score) => score_text(score),
        None => o.kind.to_string(),
    };
    let mut head = format!(
        "order {} {strength}: {} {}",
        o.id,
        with_suffix(&o.first, &o.first_action),
        with_suffix(&o.then, &o.then_action)
    );
    if let Some(symmetrical) = o.symmetrical {
        let _ = write!(head, " symmetrical={symmetrical}");
    }
    out.head(head);
}

/// A value as crm text: bare when safe, else in double quotes with `"` and `\` escaped.
pub fn quote(value: &str) -> String {
    let safe = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if safe {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Builds objects line by line: a head line, then sections each on a tab-indented line, every
/// line but an object's last ending in ` \`.
#[derive(Default)]
struct Writer {
    shown: Shown,
    line: usize,
    pending: Vec<String>,
}

impl Writer {
    fn begin(&mut self, id: &str) {
        self.shown.lines.push((id.to_string(), self.line + 1));
    }

    fn head(&mut self, text: String) {
        self.pending.push(text);
    }

    fn section(&mut self, text: String) {
        self.pending.push(format!("\t{text}"));
    }

    fn pairs(&mut self, keyword: &str, list: &NvList) {
        if list.is_empty() {
            return;
        }
        let mut text = keyword.to_string();
        for (name, value) in list.iter() {
            let _ = write!(text, " {name}={}", quote(value));
        }
        self.section(text);
    }

    fn end(&mut self) {
        let count = self.pending.len();
        for (index, line) in self.pending.drain(..).enumerate() {
            self.shown.text.push_str(&line);
            if index + 1 < count {
                self.shown.text.push_str(" \\");
            }
            self.shown.text.push('\n');
        }
        self.line += count;
    }

    fn finish(self) -> Shown {
        self.shown
    }
}
