//! `show`: the configuration printed in crm syntax with crmsh's layout, so screens look the
//! same: nodes, primitives (sorted by id), groups, clones, constraints (all kinds together,
//! sorted by id), then `property`, `rsc_defaults` and `op_defaults`. Long objects continue
//! with ` \` and a tab-indented section per line. Pure text building; no I/O.
//!
//! Parsing the output gives back the same configuration, ids included: op ids show as
//! `op NAME id=ID …`, rule ids as `rule $id=ID …` and expression ids as `$id=ID` before the
//! expression, while ids left to their generated default (`None` in the model, see
//! [`super::cib::default_op_id`]) are not shown, as crmsh hides its generated ids. The one
//! thing crm text does not carry is the order of top-level resources and constraints,
//! which crmsh's layout sorts: parsing yields them in show order ([`canonical`]). Pacemaker
//! gives that order meaning (it breaks placement ties), so whole-configuration edits keep the
//! CIB's own order ([`keep_order`]).

use std::fmt::Write as _;

use super::cib::{
    BooleanOp, Colocation, ColocationSet, Configuration, Constraint, DATE_ATTRIBUTE, Location,
    Node, NvList, Order, OrderSet, Primitive, Resource, ResourceSet, Rule,
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
    write_all(config, false).text
}

/// The whole configuration in crm syntax, with where each object starts.
pub fn show_with_lines(config: &Configuration) -> Shown {
    write_all(config, true)
}

fn write_all(config: &Configuration, with_lines: bool) -> Shown {
    let mut out = Writer {
        with_lines,
        ..Writer::default()
    };
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

/// The configuration as parsing its `show` text yields it: top-level resources and
/// constraints in show order. Everything else already reads back as it is.
pub fn canonical(config: &Configuration) -> Configuration {
    let mut out = config.clone();
    let rank = |r: &Resource| match r {
        Resource::Primitive(_) => 0,
        Resource::Group(_) => 1,
        Resource::Clone(_) => 2,
    };
    out.resources
        .sort_by(|a, b| (rank(a), a.id()).cmp(&(rank(b), b.id())));
    out.constraints.sort_by(|a, b| a.id().cmp(b.id()));
    out
}

/// Puts `next`'s nodes, top-level resources and constraints in the order the same ids have
/// in `previous`; objects new in `next` follow, in their own order. Used when a whole
/// configuration comes back as text (`edit`), so that unchanged objects keep their place.
pub fn keep_order(previous: &Configuration, next: &mut Configuration) {
    use std::collections::HashMap;
    fn positions<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<&'a str, usize> {
        ids.enumerate().map(|(index, id)| (id, index)).collect()
    }
    let nodes = positions(previous.nodes.iter().map(|n| n.uname.as_str()));
    let resources = positions(previous.resources.iter().map(Resource::id));
    let constraints = positions(previous.constraints.iter().map(Constraint::id));
    let place = |known: &HashMap<&str, usize>, id: &str| *known.get(id).unwrap_or(&usize::MAX);
    next.nodes.sort_by_cached_key(|n| place(&nodes, &n.uname));
    next.resources
        .sort_by_cached_key(|r| place(&resources, r.id()));
    next.constraints
        .sort_by_cached_key(|c| place(&constraints, c.id()));
}

/// The order kind a numeric order score means: 0 is optional, anything else mandatory.
pub fn order_kind_for(score: Score) -> super::cib::OrderKind {
    if score == Score::ZERO {
        super::cib::OrderKind::Optional
    } else {
        super::cib::OrderKind::Mandatory
    }
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
                let mut words = vec!["group", g.id.as_str()];
                words.extend(g.children.iter().map(Resource::id));
                out.head_words(&words);
                out.pairs("params", &g.params);
                out.pairs("meta", &g.meta);
            }
            Object::Clone(c) => {
                out.head_words(&["clone", &c.id, c.child.id()]);
                out.pairs("params", &c.params);
                out.pairs("meta", &c.meta);
            }
            Object::Constraint(Constraint::Location(l)) => write_location(out, l),
            Object::Constraint(Constraint::Colocation(c)) => write_colocation(out, c),
            Object::Constraint(Constraint::Order(o)) => write_order(out, o),
            Object::Constraint(Constraint::ColocationSet(c)) => write_colocation_set(out, c),
            Object::Constraint(Constraint::OrderSet(o)) => write_order_set(out, o),
            Object::Options { keyword, set, list } => {
                out.head(format_args!("{keyword} {set}:"));
                for (name, value) in list.iter() {
                    out.section_start();
                    out.shown.text.push_str(name);
                    out.shown.text.push('=');
                    push_quoted(&mut out.shown.text, value);
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
    // crmsh ranks every constraint kind alike and sorts them by id.
    constraints.sort_by(|a, b| a.id().cmp(b.id()));
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
    if p.class == "ocf" && p.provider.as_deref() == Some("heartbeat") {
        out.head_words(&["primitive", &p.id, &p.kind]);
    } else {
        out.head(format_args!("primitive {} {}", p.id, p.agent()));
    }
    out.pairs("params", &p.params);
    out.pairs("meta", &p.meta);
    out.pairs("utilization", &p.utilization);
    for op in &p.ops {
        out.section_start();
        out.shown.text.push_str("op ");
        out.shown.text.push_str(&op.name);
        if let Some(id) = &op.id {
            out.shown.text.push_str(" id=");
            push_quoted(&mut out.shown.text, id);
        }
        out.push_pairs(&op.attrs);
        if !op.params.is_empty() {
            out.shown.text.push_str(" op_params");
            out.push_pairs(&op.params);
        }
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
    if let Some(id) = &rule.id {
        text.push_str("$id=");
        push_quoted(&mut text, id);
        text.push(' ');
    }
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
        // An explicit expression id (crmsh has no syntax for one; ours reads `$id=` before
        // the expression, as crmsh does before a rule or an attribute set).
        if let Some(id) = &e.id {
            text.push_str(" $id=");
            push_quoted(&mut text, id);
        }
        match &e.value {
            None => {
                let _ = write!(text, " {} {}", e.operation, quote_word(&e.attribute));
            }
            Some(value) => {
                let operation = match &e.value_type {
                    Some(kind) => format!("{kind}:{}", e.operation),
                    None => e.operation.clone(),
                };
                // crmsh writes a date test as `date lt TIME`.
                let attribute = if e.attribute == DATE_ATTRIBUTE {
                    "date".to_string()
                } else {
                    quote_word(&e.attribute)
                };
                let _ = write!(text, " {attribute} {operation} {}", quote_word(value));
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
    if let Some(require_all) = o.require_all {
        let _ = write!(head, " require-all={require_all}");
    }
    out.head(head);
}

fn write_colocation_set(out: &mut Writer, c: &ColocationSet) {
    out.head(format!(
        "colocation {} {}: {}",
        c.id,
        score_text(c.score),
        set_words(&c.sets, |set| &set.role).join(" ")
    ));
}

fn write_order_set(out: &mut Writer, o: &OrderSet) {
    let strength = match o.score {
        Some(score) => score_text(score),
        None => o.kind.to_string(),
    };
    let mut head = format!(
        "order {} {strength}: {}",
        o.id,
        set_words(&o.sets, |set| &set.action).join(" ")
    );
    if let Some(symmetrical) = o.symmetrical {
        let _ = write!(head, " symmetrical={symmetrical}");
    }
    out.head(head);
}

/// Resource sets in crmsh's notation: bare members for a set with the defaults, `( … )` for
/// `sequential=false`, `[ … ]` for `require-all=false` (and `sequential=false`); attributes
/// the brackets do not imply are written inside them. A bare set after a bare set is written
/// `( … sequential=true )` so that the two do not merge, as is a set with an id other than the
/// generated one (`$id=ID`, hakit's addition), and a lone bare set of at most two
/// members gets crmsh's `_rsc_set_` marker so that it does not read as the two-resource form.
/// `qualifier` picks the members' suffix (role or action).
pub fn set_words(
    sets: &[ResourceSet],
    qualifier: impl Fn(&ResourceSet) -> &Option<String>,
) -> Vec<String> {
    let mut words = Vec::new();
    let mut previous_bare = false;
    for set in sets {
        let members = set
            .resources
            .iter()
            .map(|member| with_suffix(member, qualifier(set)));
        let mut extra = Vec::new();
        if let Some(ordering) = &set.ordering {
            extra.push(format!("ordering={}", quote(ordering)));
        }
        if let Some(id) = &set.id {
            extra.push(format!("$id={}", quote(id)));
        }
        let (open, close, implied) = if set.require_all == Some(false) {
            let sequential = (set.sequential != Some(false)).then(|| "sequential=true".to_string());
            ("[", "]", sequential)
        } else if set.sequential == Some(false) {
            let require_all = (set.require_all == Some(true)).then(|| "require-all=true".into());
            ("(", ")", require_all)
        } else if previous_bare || !extra.is_empty() {
            ("(", ")", Some("sequential=true".to_string()))
        } else {
            words.extend(members);
            previous_bare = true;
            continue;
        };
        previous_bare = false;
        words.push(open.to_string());
        words.extend(members);
        words.extend(implied);
        words.extend(extra);
        words.push(close.to_string());
    }
    let lone_pair = words.len() <= 2 && !words.iter().any(|w| w == "(" || w == "[");
    if lone_pair {
        words.insert(0, RSC_SET_MARKER.to_string());
    }
    words
}

/// crmsh's marker for a constraint whose one set of at most two members must stay a set.
pub const RSC_SET_MARKER: &str = "_rsc_set_";

/// A value as crm text, quoted as crmsh does: bare when it holds only word characters, `.`
/// and `-`; else in double quotes with `"` escaped. A `\` is escaped only where the lexer
/// would otherwise read it as an escape (before `"` or `\`, or last), so crmsh's output for
/// ordinary values is matched byte for byte and every value reads back.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_quoted(&mut out, value);
    out
}

/// Appends `value` quoted as [`quote`] does, without an intermediate string.
fn push_quoted(out: &mut String, value: &str) {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let escape = match c {
            '"' => true,
            '\\' => matches!(chars.peek(), None | Some('"' | '\\')),
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A rule word (attribute or value) as crmsh prints it: bare unless it would not read back
/// as one word (`#uname` stays bare).
fn quote_word(word: &str) -> String {
    let bare = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    if bare { word.to_string() } else { quote(word) }
}

/// Builds objects straight into the output: a head line, then sections each on a
/// tab-indented line, every line but an object's last ending in ` \`.
#[derive(Default)]
struct Writer {
    shown: Shown,
    line: usize,
    lines_in_object: usize,
    /// Whether to record where each object starts (`shown.lines`).
    with_lines: bool,
}

impl Writer {
    fn begin(&mut self, id: &str) {
        if self.with_lines {
            self.shown.lines.push((id.to_string(), self.line + 1));
        }
        self.lines_in_object = 0;
    }

    /// A head line of plain words (no formatting machinery: `show` writes thousands).
    fn head_words(&mut self, words: &[&str]) {
        for (index, word) in words.iter().enumerate() {
            if index > 0 {
                self.shown.text.push(' ');
            }
            self.shown.text.push_str(word);
        }
        self.lines_in_object = 1;
    }

    fn head(&mut self, text: impl std::fmt::Display) {
        let _ = write!(self.shown.text, "{text}");
        self.lines_in_object = 1;
    }

    fn section_start(&mut self) {
        self.shown.text.push_str(" \\\n\t");
        self.lines_in_object += 1;
    }

    fn section(&mut self, text: impl std::fmt::Display) {
        self.section_start();
        let _ = write!(self.shown.text, "{text}");
    }

    fn pairs(&mut self, keyword: &str, list: &NvList) {
        if list.is_empty() {
            return;
        }
        self.section_start();
        self.shown.text.push_str(keyword);
        self.push_pairs(list);
    }

    fn push_pairs(&mut self, list: &NvList) {
        for (name, value) in list.iter() {
            self.shown.text.push(' ');
            self.shown.text.push_str(name);
            self.shown.text.push('=');
            push_quoted(&mut self.shown.text, value);
        }
    }

    fn end(&mut self) {
        self.shown.text.push('\n');
        self.line += self.lines_in_object;
    }

    fn finish(self) -> Shown {
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::cib::{
        Cib, Clone, Colocation, Expression, Group, Node, Op, Order, OrderKind, Primitive, Rule,
    };
    use crate::crm::edit::{Mode, apply_text};
    use crate::crm::xml::{parse_cib, to_xml};
    use crate::rng::Rng;

    fn parse_back(text: &str) -> Configuration {
        let mut cib = Cib::default();
        apply_text(&mut cib, text, Mode::Create).unwrap_or_else(|e| panic!("{e}\n{text}"));
        cib.configuration
    }

    const VALUES: &[&str] = &[
        "1",
        "192.168.2.100",
        "a b",
        "x\"y",
        "",
        "it's",
        "#x",
        "back\\slash",
        "10s",
        "INFINITY",
        "p=q",
    ];

    fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
        items[rng.below(items.len() as u64) as usize]
    }

    fn nvlist(rng: &mut Rng, prefix: &str) -> NvList {
        (0..rng.below(3))
            .map(|i| (format!("{prefix}{i}"), pick(rng, VALUES).to_string()))
            .collect()
    }

    fn score(rng: &mut Rng) -> Score {
        match rng.below(4) {
            0 => Score::INFINITY,
            1 => Score::NEG_INFINITY,
            _ => Score::new(rng.below(2000) as i64 - 1000),
        }
    }

    /// A random configuration using every construct the language has.
    fn generate(rng: &mut Rng) -> Configuration {
        let mut config = Configuration::default();
        for n in 0..rng.below(4) {
            config.nodes.push(Node {
                id: if rng.chance(50) {
                    format!("{}", n + 1)
                } else {
                    format!("node{n}")
                },
                uname: format!("node{n}"),
                kind: rng.chance(20).then(|| "remote".to_string()),
                attributes: nvlist(rng, "attr"),
                utilization: nvlist(rng, "cpu"),
            });
        }
        let mut top: Vec<Resource> = Vec::new();
        for i in 0..rng.below(8) {
            let (class, provider, kind) = match rng.below(4) {
                0 => ("ocf", Some("heartbeat"), "IPaddr"),
                1 => ("ocf", Some("pacemaker"), "Dummy"),
                2 => ("lsb", None, "gohttpd"),
                _ => ("systemd", None, "nginx"),
            };
            let ops = (0..rng.below(3))
                .map(|k| Op {
                    id: rng.chance(40).then(|| format!("r{i}-op{k}")),
                    name: ["monitor", "start", "stop"][k as usize].to_string(),
                    attrs: [
                        ("interval", format!("{}s", rng.below(60))),
                        ("timeout", "20s".into()),
                        ("on-fail", "restart".into()),
                    ]
                    .into_iter()
                    .take(1 + rng.below(3) as usize)
                    .collect(),
                    params: NvList::new(),
                })
                .collect();
            top.push(Resource::Primitive(Primitive {
                id: format!("r{i}"),
                class: class.into(),
                provider: provider.map(str::to_string),
                kind: kind.into(),
                params: nvlist(rng, "param"),
                meta: nvlist(rng, "meta"),
                ops,
                utilization: nvlist(rng, "util"),
            }));
        }
        // Some primitives go into groups, some resources into clones.
        let mut resources = Vec::new();
        let mut group_index = 0;
        while !top.is_empty() {
            let take = (1 + rng.below(3) as usize).min(top.len());
            let chunk: Vec<Resource> = top.drain(..take).collect();
            if take > 1 || rng.chance(30) {
                group_index += 1;
                resources.push(Resource::Group(Group {
                    id: format!("g{group_index}"),
                    children: chunk,
                    meta: nvlist(rng, "gmeta"),
                    params: nvlist(rng, "gparam"),
                }));
            } else {
                resources.extend(chunk);
            }
        }
        for (index, resource) in resources.iter_mut().enumerate() {
            if rng.chance(25) {
                let child = std::mem::replace(resource, Resource::Primitive(Primitive::default()));
                *resource = Resource::Clone(Clone {
                    id: format!("c{index}"),
                    child: Box::new(child),
                    meta: nvlist(rng, "cmeta"),
                    params: nvlist(rng, "cparam"),
                });
            }
        }
        config.resources = resources;
        let ids: Vec<String> = crate::crm::edit::resource_ids(&config)
            .into_iter()
            .map(str::to_string)
            .collect();
        if !ids.is_empty() {
            for i in 0..rng.below(6) {
                let a = ids[rng.below(ids.len() as u64) as usize].clone();
                let b = ids[rng.below(ids.len() as u64) as usize].clone();
                let constraint = match rng.below(6) {
                    0 => Constraint::Location(Location {
                        id: format!("loc{i}"),
                        rsc: a,
                        score: Some(score(rng)),
                        node: Some(format!("node{}", rng.below(3))),
                        rules: Vec::new(),
                        role: rng.chance(30).then(|| "Started".to_string()),
                        resource_discovery: rng.chance(20).then(|| "never".to_string()),
                    }),
                    1 => Constraint::Location(Location {
                        id: format!("loc{i}"),
                        rsc: a,
                        score: None,
                        node: None,
                        rules: (0..1 + rng.below(2))
                            .map(|k| Rule {
                                id: rng.chance(40).then(|| format!("loc{i}-r{k}")),
                                score: rng.chance(70).then(|| score(rng)),
                                score_attribute: None,
                                boolean_op: if rng.chance(50) {
                                    BooleanOp::And
                                } else {
                                    BooleanOp::Or
                                },
                                role: rng.chance(20).then(|| "Promoted".to_string()),
                                expressions: (0..1 + rng.below(3))
                                    .map(|_| {
                                        let id =
                                            rng.chance(30).then(|| format!("e{}", rng.below(1000)));
                                        if rng.chance(15) {
                                            Expression {
                                                id,
                                                attribute: DATE_ATTRIBUTE.into(),
                                                operation: pick(rng, &["lt", "gt"]).into(),
                                                value: Some("2026-11-26T08:00:00Z".into()),
                                                value_type: None,
                                            }
                                        } else if rng.chance(30) {
                                            Expression {
                                                id,
                                                attribute: "pingd".into(),
                                                operation: pick(rng, &["defined", "not_defined"])
                                                    .into(),
                                                value: None,
                                                value_type: None,
                                            }
                                        } else {
                                            Expression {
                                                id,
                                                attribute: pick(rng, &["#uname", "pingd", "site"])
                                                    .into(),
                                                operation: pick(rng, &["eq", "ne", "lt", "gte"])
                                                    .into(),
                                                value: Some(
                                                    pick(rng, &["node1", "0", "a b", "x\"y"])
                                                        .into(),
                                                ),
                                                value_type: rng
                                                    .chance(30)
                                                    .then(|| "number".to_string()),
                                            }
                                        }
                                    })
                                    .collect(),
                            })
                            .map(|mut rule| {
                                if rule.score.is_none() {
                                    rule.score_attribute = Some("pingd".into());
                                }
                                // One expression reads back as `and`, whatever was set.
                                if rule.expressions.len() < 2 {
                                    rule.boolean_op = BooleanOp::And;
                                }
                                rule
                            })
                            .collect(),
                        role: None,
                        resource_discovery: None,
                    }),
                    2 => Constraint::Colocation(Colocation {
                        id: format!("col{i}"),
                        score: score(rng),
                        rsc: a,
                        with_rsc: b,
                        rsc_role: rng.chance(30).then(|| "Promoted".to_string()),
                        with_rsc_role: rng.chance(30).then(|| "Started".to_string()),
                    }),
                    4 => Constraint::ColocationSet(ColocationSet {
                        id: format!("cset{i}"),
                        score: score(rng),
                        sets: random_sets(rng, &ids, "Promoted"),
                    }),
                    5 => {
                        let legacy = rng.chance(20).then(|| score(rng));
                        Constraint::OrderSet(OrderSet {
                            id: format!("oset{i}"),
                            kind: match legacy {
                                Some(score) => order_kind_for(score),
                                None => OrderKind::Mandatory,
                            },
                            symmetrical: [None, Some(true), Some(false)][rng.below(3) as usize],
                            score: legacy,
                            sets: random_sets(rng, &ids, "stop"),
                        })
                    }
                    _ => {
                        // The legacy score form implies its kind.
                        let legacy = rng.chance(20).then(|| score(rng));
                        Constraint::Order(Order {
                            id: format!("ord{i}"),
                            kind: match legacy {
                                Some(score) => order_kind_for(score),
                                None => [
                                    OrderKind::Mandatory,
                                    OrderKind::Optional,
                                    OrderKind::Serialize,
                                ][rng.below(3) as usize],
                            },
                            first: a,
                            first_action: rng.chance(40).then(|| "start".to_string()),
                            then: b,
                            then_action: rng.chance(40).then(|| "promote".to_string()),
                            symmetrical: [None, Some(true), Some(false)][rng.below(3) as usize],
                            require_all: [None, Some(false)][rng.below(2) as usize],
                            score: legacy,
                        })
                    }
                };
                config.constraints.push(constraint);
            }
        }
        config.properties = nvlist(rng, "prop");
        config.rsc_defaults = nvlist(rng, "rd");
        config.op_defaults = nvlist(rng, "od");
        config
    }

    /// Resource sets as the crm language can write them: `sequential` and `require-all`
    /// unset or false (a written `true` is the default).
    fn random_sets(rng: &mut Rng, ids: &[String], qualifier: &str) -> Vec<ResourceSet> {
        (0..1 + rng.below(3))
            .map(|_| {
                let qualifier = rng.chance(30).then(|| qualifier.to_string());
                ResourceSet {
                    id: rng.chance(20).then(|| format!("s{}", rng.below(1000))),
                    resources: (0..1 + rng.below(3))
                        .map(|_| ids[rng.below(ids.len() as u64) as usize].clone())
                        .collect(),
                    sequential: rng.chance(40).then_some(false),
                    require_all: rng.chance(30).then_some(false),
                    role: qualifier.clone().filter(|q| q == "Promoted"),
                    action: qualifier.filter(|q| q == "stop"),
                    ordering: rng.chance(10).then(|| "listed".to_string()),
                }
            })
            .collect()
    }

    #[test]
    fn resource_sets_read_and_show_in_crmsh_notation() {
        let resources =
            "primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\nprimitive d Dummy\n";
        for (line, shown) in [
            ("order o1 Mandatory: a ( b c ) d", None),
            ("colocation c1 inf: a b ( c d )", None),
            ("colocation c2 inf: a b c", None),
            (
                "order o2 Optional: a:start [ b c ] d:start symmetrical=false",
                None,
            ),
            ("order o3 Mandatory: [ b c sequential=true ] d", None),
            ("colocation c3 -inf: _rsc_set_ a b", None),
            ("colocation c4 inf: a b ( c d sequential=true )", None),
            (
                "order o4 Mandatory: (a b) d",
                Some("order o4 Mandatory: ( a b ) d"),
            ),
            (
                "colocation c5 inf: a:Promoted b:Promoted c",
                Some("colocation c5 inf: a:Promoted b:Promoted ( c sequential=true )"),
            ),
        ] {
            let config = parse_back(&format!("{resources}{line}\n"));
            let text = show(&config);
            let expected = shown.unwrap_or(line);
            assert!(text.contains(&format!("{expected}\n")), "{line}:\n{text}");
            assert_eq!(parse_back(&text), config, "{text}");
        }
        let config = parse_back(&format!("{resources}order o1 Mandatory: a ( b c ) d\n"));
        let Constraint::OrderSet(o) = &config.constraints[0] else {
            panic!("not a set: {:?}", config.constraints[0]);
        };
        let members: Vec<&[String]> = o.sets.iter().map(|s| s.resources.as_slice()).collect();
        assert_eq!(
            members,
            [
                &["a".to_string()][..],
                &["b".into(), "c".into()],
                &["d".into()]
            ]
        );
        assert_eq!(o.sets[1].sequential, Some(false));
        assert_eq!((o.sets[0].sequential, o.sets[0].require_all), (None, None));
        // Three resources make one set, each member placed with the one before it.
        let config = parse_back(&format!("{resources}colocation cc inf: a b c\n"));
        let Constraint::ColocationSet(c) = &config.constraints[0] else {
            panic!("not a set: {:?}", config.constraints[0]);
        };
        assert_eq!(c.sets.len(), 1);
        assert_eq!(c.sets[0].resources, ["a", "b", "c"]);
        // `[ … ]`: neither sequential nor requiring all.
        let config = parse_back(&format!("{resources}order o inf: a [ b c ] d\n"));
        let Constraint::OrderSet(o) = &config.constraints[0] else {
            panic!("not a set");
        };
        assert_eq!(
            (o.sets[1].sequential, o.sets[1].require_all),
            (Some(false), Some(false))
        );
    }

    #[test]
    fn resource_set_ids_and_attributes_survive_xml_and_text() {
        let xml = r#"<cib><configuration><crm_config/><nodes/><resources>
            <primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
            <primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
            <primitive id="c" class="ocf" provider="heartbeat" type="Dummy"/>
            </resources><constraints>
            <rsc_order id="o" kind="Mandatory" symmetrical="false">
              <resource_set id="first-set" sequential="true" action="promote">
                <resource_ref id="a"/><resource_ref id="b"/></resource_set>
              <resource_set id="o-1" require-all="false"><resource_ref id="c"/></resource_set>
              <resource_set id="last" sequential="false"><resource_ref id="a"/></resource_set>
            </rsc_order>
            <rsc_colocation id="coloc" score="-INFINITY">
              <resource_set id="coloc-0" role="Started" ordering="listed">
                <resource_ref id="a"/><resource_ref id="b"/><resource_ref id="c"/></resource_set>
            </rsc_colocation>
            </constraints></configuration><status/></cib>"#;
        let cib = parse_cib(xml).unwrap();
        let Constraint::OrderSet(o) = &cib.configuration.constraints[0] else {
            panic!("not a set");
        };
        assert_eq!(o.sets[0].id.as_deref(), Some("first-set"));
        assert_eq!(o.sets[0].sequential, Some(true));
        assert_eq!(o.sets[0].action.as_deref(), Some("promote"));
        // A generated id is not stored, so that the text form gives it back.
        assert_eq!(o.sets[1].id, None);
        assert_eq!(o.sets[1].require_all, Some(false));
        assert_eq!(parse_cib(&to_xml(&cib)).unwrap(), cib);
        let text = show(&cib.configuration);
        assert!(
            text.contains(
                "order o Mandatory: ( a:promote b:promote sequential=true $id=first-set ) \
                 [ c sequential=true ] ( a $id=last ) symmetrical=false\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("colocation coloc -inf: ( a:Started b:Started c:Started sequential=true ordering=listed )\n"),
            "{text}"
        );
        // The text form is stable: what it reads back shows the same, set ids included.
        let back = parse_back(&text);
        assert_eq!(show(&back), text);
        let Constraint::OrderSet(o) = &back.constraints[1] else {
            panic!("not a set: {:?}", back.constraints[1]);
        };
        assert_eq!(o.sets[0].id.as_deref(), Some("first-set"));
        assert_eq!(o.sets[1].id, None);
    }

    #[test]
    fn guide_configuration_shows_in_crmsh_layout() {
        let config = parse_back(
            "node node1\nnode node2\nproperty stonith-enabled=false\nproperty no-quorum-policy=ignore\n\
             primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100\n\
             primitive gohttpd lsb:gohttpd\ngroup my_group vip gohttpd\n",
        );
        assert_eq!(
            show(&config),
            "node node1\nnode node2\nprimitive gohttpd lsb:gohttpd\nprimitive vip IPaddr \\\n\
             \tparams ip=192.168.2.100\ngroup my_group vip gohttpd\n\
             property cib-bootstrap-options: \\\n\tstonith-enabled=false \\\n\tno-quorum-policy=ignore\n"
        );
    }

    #[test]
    fn constraints_show_like_crmsh() {
        let text = "primitive a Dummy\nprimitive b Dummy\n\
            location l1 a role=Started -100: node2\n\
            location l2 a rule -inf: not_defined pingd or pingd lte 0 rule pingd: defined pingd\n\
            colocation c1 inf: a:Promoted b\norder o1 Optional: a:start b:stop symmetrical=false\n\
            rsc_defaults resource-stickiness=100\nop_defaults timeout=240s\n";
        let shown = show(&parse_back(text));
        assert_eq!(
            shown,
            "primitive a Dummy\nprimitive b Dummy\ncolocation c1 inf: a:Promoted b\n\
             location l1 a role=Started -100: node2\nlocation l2 a \\\n\
             \trule -inf: not_defined pingd or pingd lte 0 \\\n\trule pingd: defined pingd\n\
             order o1 Optional: a:start b:stop symmetrical=false\n\
             rsc_defaults rsc-options: \\\n\tresource-stickiness=100\n\
             op_defaults op-options: \\\n\ttimeout=240s\n"
        );
    }

    #[test]
    fn parse_of_show_gives_back_every_generated_configuration() {
        let runs: u64 = std::env::var("HAKIT_ROUNDTRIP_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        for seed in 0..runs {
            let mut rng = Rng::new(seed);
            let generated = generate(&mut rng);
            let config = canonical(&generated);
            let text = show(&config);
            let back = parse_back(&text);
            assert_eq!(back, config, "seed {seed}:\n{text}");
            assert_eq!(show(&back), text, "seed {seed}");
            // Any order in the CIB shows the same and parses to show order; the CIB's own
            // order is what keep_order puts back.
            let mut shuffled = generated.clone();
            shuffled.resources.reverse();
            shuffled.constraints.reverse();
            assert_eq!(canonical(&shuffled), config, "seed {seed}");
            assert_eq!(show(&shuffled), text, "seed {seed}");
            let mut reordered = parse_back(&text);
            keep_order(&shuffled, &mut reordered);
            assert_eq!(reordered, shuffled, "seed {seed}");
        }
    }

    #[test]
    fn xml_export_and_import_give_back_every_generated_cib() {
        for seed in 0..200 {
            let mut rng = Rng::new(seed);
            let cib = Cib {
                admin_epoch: rng.below(3),
                epoch: rng.below(100),
                num_updates: rng.below(10),
                configuration: generate(&mut rng),
                ..Cib::default()
            };
            let xml = crate::crm::xml::to_xml(&cib);
            let back = crate::crm::xml::parse_cib(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
            assert_eq!(back, cib, "seed {seed}:\n{xml}");
            assert_eq!(crate::crm::xml::to_xml(&back), xml, "seed {seed}");
        }
    }

    #[test]
    fn generated_ids_are_hidden_and_explicit_ones_shown() {
        let config = parse_back(
            "primitive a Dummy op monitor interval=10s op start id=a-go timeout=20s\n\
             location l a rule $id=l-first 50: $id=e-one #uname eq node1 or pingd gt 0 \\\n\
             \trule -inf: not_defined pingd\n",
        );
        let p = config.find_primitive("a").unwrap();
        assert_eq!(p.ops[0].id, None);
        assert_eq!(p.ops[1].id.as_deref(), Some("a-go"));
        assert_eq!(
            p.ops[1].attrs.get("interval"),
            Some("0"),
            "added as crmsh does"
        );
        assert_eq!(
            show(&config),
            "primitive a Dummy \\\n\top monitor interval=10s \\\n\
             \top start id=a-go timeout=20s interval=0\n\
             location l a \\\n\trule $id=l-first 50: $id=e-one #uname eq node1 or pingd gt 0 \\\n\
             \trule -inf: not_defined pingd\n"
        );
        // crmsh's generated ids in XML read as "generated" and stay hidden.
        let xml = crate::crm::xml::to_xml(&Cib {
            configuration: config.clone(),
            ..Cib::default()
        });
        assert!(xml.contains(r#"<op id="a-monitor-10s""#), "{xml}");
        assert!(xml.contains(r#"<rule id="l-rule-0""#), "{xml}");
        assert!(xml.contains(r#"id="l-first-expression-0""#), "{xml}");
        let back = crate::crm::xml::parse_cib(&xml).unwrap();
        assert_eq!(back.configuration, config);
    }

    #[test]
    fn show_lines_point_at_each_object() {
        let config = parse_back("primitive a Dummy params x=1\nprimitive b Dummy\n");
        let shown = show_with_lines(&config);
        assert_eq!(shown.lines, [("a".to_string(), 1), ("b".to_string(), 3)]);
    }
}
