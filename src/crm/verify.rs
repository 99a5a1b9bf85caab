//! `verify`: checks a configuration the way crmsh and crm_verify do, as a list of findings
//! (errors block a commit, warnings inform). Pure: agent meta-data comes through the
//! [`AgentCatalog`] the caller passes, so no agent is run from here.

use std::collections::BTreeMap;
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use super::cib::{
    Cib, Configuration, Constraint, Primitive, Resource, ResourceSet, parse_duration_ms,
};
use super::shell::{CLASSES, parse_bool};

/// Maps keyed by ids. Verify runs on every commit and hashes every id a few times; ids come
/// from the administrator's own configuration, so a fast multiply-rotate hash serves better
/// than the standard library's flooding-resistant SipHash (a third of verify's time).
type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<IdHasher>>;
type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<IdHasher>>;

/// The multiply-rotate word hash of [`HashMap`] (the one rustc uses for its own tables).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("8 bytes")));
        }
        for byte in words.remainder() {
            self.add(u64::from(*byte));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The configuration is wrong; commit refuses it.
    Error,
    /// Works, but probably not as intended.
    Warning,
}

/// One problem found. JSON: `{"severity":"error","object":"vip","message":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The object the finding is about (to name its line), when there is one.
    pub object: Option<String>,
    /// What is wrong, lowercase, no final period.
    pub message: String,
}

/// One parameter an agent declares in its meta-data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentParameter {
    /// Parameter name.
    pub name: String,
    /// Must be set.
    pub required: bool,
}

/// Where verify learns which agents exist and what parameters they take.
pub trait AgentCatalog {
    /// The agent's parameters; `Ok(None)` when the agent does not exist; `Err` with the reason
    /// when its meta-data cannot be read (parameters are then not checked).
    fn parameters(&self, primitive: &Primitive) -> Result<Option<Vec<AgentParameter>>, String>;

    /// Whether to check this primitive's agent at all (a commit checks only what changed).
    fn checks(&self, _primitive: &Primitive) -> bool {
        true
    }

    /// Whether an agent this catalog does not know is an error. On a cluster node it is (the
    /// resource cannot start); when editing a CIB file elsewhere the agent may be installed
    /// on the nodes only, so it is a warning.
    fn unknown_is_error(&self) -> bool {
        true
    }
}

/// Checks agents only for primitives that differ from `base` (new or changed): what was
/// committed before was checked then, and running every agent's meta-data on each commit
/// would make a one-line change of a large CIB slow.
pub struct ChangedOnly<'a> {
    inner: &'a dyn AgentCatalog,
    /// The committed primitives by id (looked up once per primitive checked); `None` when
    /// no primitive changed.
    base: Option<HashMap<&'a str, &'a Primitive>>,
}

impl<'a> ChangedOnly<'a> {
    /// Asks `inner` about primitives that differ from those in `base`.
    pub fn new(inner: &'a dyn AgentCatalog, base: &'a Configuration) -> ChangedOnly<'a> {
        ChangedOnly {
            inner,
            base: Some(
                base.primitives()
                    .into_iter()
                    .map(|p| (p.id.as_str(), p))
                    .collect(),
            ),
        }
    }

    /// Asks `inner` about no primitive: for a change known to leave every primitive as
    /// committed (cluster options, defaults), without comparing them one by one.
    pub fn none(inner: &'a dyn AgentCatalog) -> ChangedOnly<'a> {
        ChangedOnly { inner, base: None }
    }
}

impl AgentCatalog for ChangedOnly<'_> {
    fn parameters(&self, primitive: &Primitive) -> Result<Option<Vec<AgentParameter>>, String> {
        self.inner.parameters(primitive)
    }

    fn checks(&self, primitive: &Primitive) -> bool {
        self.base
            .as_ref()
            .is_some_and(|base| base.get(primitive.id.as_str()) != Some(&primitive))
            && self.inner.checks(primitive)
    }

    fn unknown_is_error(&self) -> bool {
        self.inner.unknown_is_error()
    }
}

/// A catalog that cannot answer: every agent check becomes one warning with this reason.
#[derive(Debug, Clone)]
pub struct NoCatalog(pub String);

impl AgentCatalog for NoCatalog {
    fn parameters(&self, _: &Primitive) -> Result<Option<Vec<AgentParameter>>, String> {
        Err(self.0.clone())
    }
}

/// Checks the configuration; findings in a stable order (errors and warnings interleaved
/// by check).
pub fn verify(cib: &Cib, agents: &dyn AgentCatalog) -> Vec<Finding> {
    let config = &cib.configuration;
    let mut out = Findings::default();
    check_ids(config, &mut out);
    check_resources(config, agents, &mut out);
    check_constraints(config, &mut out);
    check_loops(config, &mut out);
    check_options(config, &mut out);
    out.0
}

/// The warnings `cib` has that come from no agent (colocation loops, cluster options): the
/// ones a commit on top of it has already shown. The same as the warnings of [`verify`] with
/// a catalog that checks no primitive, for a fraction of the work.
pub fn standing_warnings(cib: &Cib) -> Vec<Finding> {
    let mut out = Findings::default();
    check_loops(&cib.configuration, &mut out);
    check_options(&cib.configuration, &mut out);
    out.0.retain(|f| f.severity == Severity::Warning);
    out.0
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn error(&mut self, object: Option<&str>, message: String) {
        self.0.push(Finding {
            severity: Severity::Error,
            object: object.map(str::to_string),
            message,
        });
    }

    fn warning(&mut self, object: Option<&str>, message: String) {
        self.0.push(Finding {
            severity: Severity::Warning,
            object: object.map(str::to_string),
            message,
        });
    }
}

fn check_ids(config: &Configuration, out: &mut Findings) {
    let ids = config.ids();
    let mut seen: HashMap<&str, &str> =
        HashMap::with_capacity_and_hasher(ids.len(), Default::default());
    let mut reported = HashSet::default();
    // Group membership per primitive names "in two groups" precisely; built only when an id
    // repeats, which a valid configuration never has.
    let mut groups_of: Option<BTreeMap<&str, Vec<&str>>> = None;
    for (id, kind) in ids {
        if kind == "node" {
            continue;
        }
        let Some(first) = seen.get(id).copied() else {
            seen.insert(id, kind);
            continue;
        };
        if !reported.insert(id) {
            continue;
        }
        let groups_of = groups_of.get_or_insert_with(|| {
            let mut groups_of = BTreeMap::new();
            for resource in &config.resources {
                collect_groups(resource, &mut groups_of);
            }
            groups_of
        });
        match groups_of.get(id) {
            Some(groups) if groups.len() > 1 => out.error(
                Some(id),
                format!(
                    "resource {id} is in two groups ({}); a resource can be in one group only",
                    groups.join(" and ")
                ),
            ),
            _ => out.error(
                Some(id),
                format!(
                    "id {id} is used twice (by {} and {})",
                    with_article(first),
                    with_article(kind)
                ),
            ),
        }
    }
}

/// `a primitive`, `an order`.
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

fn collect_groups<'a>(resource: &'a Resource, out: &mut BTreeMap<&'a str, Vec<&'a str>>) {
    match resource {
        Resource::Primitive(_) => {}
        Resource::Group(g) => {
            for child in &g.children {
                out.entry(child.id()).or_default().push(&g.id);
                collect_groups(child, out);
            }
        }
        Resource::Clone(c) => collect_groups(&c.child, out),
    }
}

/// Role names a constraint may name (current and legacy spellings).
pub(crate) const ROLES: &[&str] = &[
    "Started",
    "Stopped",
    "Promoted",
    "Unpromoted",
    "Master",
    "Slave",
];

fn check_resources(config: &Configuration, agents: &dyn AgentCatalog, out: &mut Findings) {
    let mut unreadable: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in config.primitives() {
        let id = Some(p.id.as_str());
        if !CLASSES.contains(&p.class.as_str()) {
            out.error(
                id,
                format!("{}: unknown resource class \"{}\"", p.id, p.class),
            );
        }
        // A handful of ops per primitive: a list beats a set here.
        let mut seen_ops: Vec<(&str, u64)> = Vec::with_capacity(p.ops.len());
        for op in &p.ops {
            for key in ["interval", "timeout", "start-delay"] {
                if let Some(value) = op.attrs.get(key)
                    && parse_duration_ms(value).is_none()
                {
                    out.error(
                        id,
                        format!(
                            "{}: op {}: invalid {key} \"{value}\" (expected e.g. 10s, 500ms, 2min)",
                            p.id, op.name
                        ),
                    );
                }
            }
            let key = (op.name.as_str(), op.interval_ms());
            if seen_ops.contains(&key) {
                out.error(
                    id,
                    format!(
                        "{}: op {} with interval {} ms is defined twice",
                        p.id, op.name, key.1
                    ),
                );
            } else {
                seen_ops.push(key);
            }
            if let Some(on_fail) = op.attrs.get("on-fail")
                && !matches!(
                    on_fail,
                    "ignore" | "block" | "stop" | "restart" | "standby" | "fence" | "demote"
                )
            {
                out.error(
                    id,
                    format!(
                        "{}: op {}: invalid on-fail \"{on_fail}\" (expected ignore, block, stop, restart, standby, fence, demote)",
                        p.id, op.name
                    ),
                );
            }
        }
        if !agents.checks(p) {
            continue;
        }
        match agents.parameters(p) {
            Ok(None) if agents.unknown_is_error() => {
                out.error(id, format!("{}: unknown agent {}", p.id, p.agent()))
            }
            Ok(None) => out.warning(
                id,
                format!(
                    "{}: unknown agent {} (not installed on this machine)",
                    p.id,
                    p.agent()
                ),
            ),
            Ok(Some(params)) => {
                for param in params.iter().filter(|param| param.required) {
                    if p.params.get(&param.name).is_none() {
                        out.error(
                            id,
                            format!(
                                "{}: required parameter {} of {} is not set",
                                p.id,
                                param.name,
                                p.agent()
                            ),
                        );
                    }
                }
                for (name, _) in p.params.iter() {
                    if !params.iter().any(|param| param.name == name) {
                        out.warning(
                            id,
                            format!("{}: {} has no parameter {name}", p.id, p.agent()),
                        );
                    }
                }
            }
            Err(reason) => unreadable.entry(reason).or_default().push(p.id.clone()),
        }
    }
    for (reason, ids) in unreadable {
        out.warning(
            None,
            format!(
                "cannot check agent parameters of {}: {reason}",
                ids.join(", ")
            ),
        );
    }
    let mut meta_holders: Vec<(&str, &super::cib::NvList)> = Vec::new();
    for resource in &config.resources {
        collect_meta(resource, &mut meta_holders);
    }
    meta_holders.push(("rsc_defaults", &config.rsc_defaults));
    for (id, meta) in meta_holders {
        check_meta(id, meta, out);
    }
}

fn collect_meta<'a>(resource: &'a Resource, out: &mut Vec<(&'a str, &'a super::cib::NvList)>) {
    out.push((resource.id(), resource.meta()));
    match resource {
        Resource::Primitive(_) => {}
        Resource::Group(g) => g.children.iter().for_each(|c| collect_meta(c, out)),
        Resource::Clone(c) => collect_meta(&c.child, out),
    }
}

fn check_meta(id: &str, meta: &super::cib::NvList, out: &mut Findings) {
    for (name, value) in meta.iter() {
        let problem = match name {
            // Pacemaker reads roles case-insensitively (`started` is Started).
            "target-role" if !ROLES.iter().any(|r| r.eq_ignore_ascii_case(value)) => {
                Some("expected Started, Stopped, Promoted or Unpromoted")
            }
            "is-managed" | "maintenance" | "critical" | "interleave" | "notify"
            | "globally-unique" | "ordered"
                if parse_bool(value).is_none() =>
            {
                Some("expected true or false")
            }
            "resource-stickiness" | "priority" | "migration-threshold"
                if super::score::Score::parse_lenient(value).is_none() =>
            {
                Some("expected an integer or INFINITY")
            }
            "failure-timeout" if parse_duration_ms(value).is_none() => {
                Some("expected a duration such as 60s")
            }
            _ => None,
        };
        if let Some(expected) = problem {
            out.error(
                Some(id),
                format!("{id}: invalid meta {name}=\"{value}\" ({expected})"),
            );
        }
    }
}

fn check_constraints(config: &Configuration, out: &mut Findings) {
    let known: HashSet<&str> = config
        .ids()
        .into_iter()
        .filter(|(_, kind)| matches!(*kind, "primitive" | "group" | "clone"))
        .map(|(id, _)| id)
        .collect();
    for constraint in &config.constraints {
        let id = constraint.id();
        for rsc in constraint.resource_refs() {
            if !known.contains(rsc) {
                out.error(
                    Some(id),
                    format!(
                        "{} {id} refers to resource {rsc}, which does not exist",
                        constraint.kind_name()
                    ),
                );
            }
        }
        if let Constraint::Location(l) = constraint {
            if l.rules.is_empty() && (l.score.is_none() || l.node.is_none()) {
                out.error(
                    Some(id),
                    format!("location {id} has neither a score and node nor a rule"),
                );
            }
            for rule in &l.rules {
                if rule.expressions.is_empty() {
                    out.error(
                        Some(id),
                        format!("location {id} has a rule without expressions"),
                    );
                }
                if rule.score.is_none() && rule.score_attribute.is_none() {
                    out.error(
                        Some(id),
                        format!("location {id} has a rule without a score"),
                    );
                }
                for e in &rule.expressions {
                    let unary = matches!(e.operation.as_str(), "defined" | "not_defined");
                    let binary = matches!(
                        e.operation.as_str(),
                        "lt" | "gt" | "lte" | "gte" | "eq" | "ne"
                    );
                    if !(unary || binary) || (binary && e.value.is_none()) {
                        out.error(
                            Some(id),
                            format!(
                                "location {id}: invalid expression on {} ({})",
                                e.attribute, e.operation
                            ),
                        );
                    }
                }
            }
        }
        if let Constraint::Colocation(c) = constraint
            && c.rsc == c.with_rsc
        {
            out.error(
                Some(id),
                format!("colocation {id} ties {} to itself", c.rsc),
            );
        }
        if let Constraint::Order(o) = constraint
            && o.first == o.then
            && o.first_action == o.then_action
        {
            out.error(
                Some(id),
                format!("order {id} orders {} after itself", o.first),
            );
        }
    }
}

/// Finds a cycle in `edges` (from → to with the constraint id), returning its ids and path.
fn find_cycle<'a>(edges: &[(&'a str, &'a str, &'a str)]) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
    let mut nodes: Vec<&str> = edges.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    nodes.sort();
    nodes.dedup();
    // Iterative DFS with colours; bounded by the number of edges.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour: HashMap<&str, Colour> = nodes.iter().map(|n| (*n, Colour::White)).collect();
    let mut adjacent: HashMap<&str, Vec<&(&str, &str, &str)>> = HashMap::default();
    for edge in edges {
        adjacent.entry(edge.0).or_default().push(edge);
    }
    let none = Vec::new();
    for start in &nodes {
        if colour[start] != Colour::White {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        let mut path: Vec<(&str, &str)> = Vec::new(); // (node, via constraint)
        colour.insert(start, Colour::Grey);
        while let Some((node, next)) = stack.pop() {
            let outgoing = adjacent.get(node).unwrap_or(&none);
            if next < outgoing.len() {
                stack.push((node, next + 1));
                let (_, to, via) = outgoing[next];
                match colour[to] {
                    Colour::White => {
                        colour.insert(to, Colour::Grey);
                        path.push((to, via));
                        stack.push((to, 0));
                    }
                    Colour::Grey => {
                        let mut names = vec![*to];
                        let mut ids = Vec::new();
                        let from = path.iter().position(|(n, _)| n == to);
                        let tail = match from {
                            Some(index) => &path[index + 1..],
                            None => &path[..],
                        };
                        for (n, v) in tail {
                            names.push(n);
                            ids.push(*v);
                        }
                        names.push(to);
                        ids.push(via);
                        return Some((ids, names));
                    }
                    Colour::Black => {}
                }
            } else {
                colour.insert(node, Colour::Black);
                path.pop();
            }
        }
    }
    None
}

fn check_loops(config: &Configuration, out: &mut Findings) {
    let mut orders = Vec::new();
    let mut colocations = Vec::new();
    for constraint in &config.constraints {
        match constraint {
            Constraint::Order(o) if o.first != o.then => {
                orders.push((o.first.as_str(), o.then.as_str(), o.id.as_str()))
            }
            Constraint::Colocation(c) if c.rsc != c.with_rsc => {
                colocations.push((c.rsc.as_str(), c.with_rsc.as_str(), c.id.as_str()))
            }
            // Sets reach the same resources as their expansion: in turn within a sequential
            // set, every member of one set to every member of the next.
            Constraint::OrderSet(o) => set_edges(&o.sets, &o.id, false, &mut orders),
            Constraint::ColocationSet(c) => set_edges(&c.sets, &c.id, true, &mut colocations),
            _ => {}
        }
    }
    if let Some((ids, path)) = find_cycle(&orders) {
        out.error(
            Some(ids[0]),
            format!(
                "order constraints {} form a loop ({}): none of these can start",
                ids.join(", "),
                path.join(" then ")
            ),
        );
    }
    if let Some((ids, path)) = find_cycle(&colocations) {
        out.warning(
            Some(ids[0]),
            format!(
                "colocation constraints {} form a loop ({}); placement depends on resource order",
                ids.join(", "),
                path.join(" with ")
            ),
        );
    }
}

/// Edges `(from, to, constraint id)` of a set constraint: for orders `first` to `then`, for
/// colocations (`placed_with`) dependent to primary, where a set's member follows the one
/// before it and an earlier set follows the later one.
fn set_edges<'a>(
    sets: &'a [ResourceSet],
    id: &'a str,
    placed_with: bool,
    edges: &mut Vec<(&'a str, &'a str, &'a str)>,
) {
    let mut push = |before: &'a str, after: &'a str| {
        if before != after {
            let (from, to) = if placed_with {
                (after, before)
            } else {
                (before, after)
            };
            edges.push((from, to, id));
        }
    };
    for (index, set) in sets.iter().enumerate() {
        if set.sequential != Some(false) {
            for pair in set.resources.windows(2) {
                push(&pair[0], &pair[1]);
            }
        }
        if index > 0 {
            for earlier in &sets[index - 1].resources {
                for later in &set.resources {
                    if placed_with {
                        // The earlier set is placed with the later one.
                        push(later, earlier);
                    } else {
                        push(earlier, later);
                    }
                }
            }
        }
    }
}

fn check_options(config: &Configuration, out: &mut Findings) {
    let properties = &config.properties;
    for (name, value) in properties.iter() {
        let valid = match name {
            "stonith-enabled"
            | "fencing-enabled"
            | "symmetric-cluster"
            | "maintenance-mode"
            | "start-failure-is-fatal"
            | "stop-orphan-resources"
            | "stop-orphan-actions"
            | "enable-startup-probes"
            | "stop-all-resources"
            | "concurrent-fencing" => parse_bool(value).is_some(),
            "no-quorum-policy" => {
                matches!(
                    value,
                    "stop" | "ignore" | "freeze" | "suicide" | "demote" | "fence"
                )
            }
            "cluster-recheck-interval" | "stonith-timeout" | "shutdown-lock-limit" => {
                parse_duration_ms(value).is_some()
            }
            _ => true,
        };
        if !valid {
            out.error(
                Some("cib-bootstrap-options"),
                format!("property {name} has an invalid value \"{value}\""),
            );
        }
    }
    let stonith_enabled = properties
        .get("stonith-enabled")
        .or(properties.get("fencing-enabled"))
        .and_then(parse_bool)
        .unwrap_or(true);
    let has_stonith = config.primitives().iter().any(|p| p.class == "stonith");
    if stonith_enabled && !has_stonith {
        out.warning(
            Some("cib-bootstrap-options"),
            "stonith-enabled is true (the default) but no stonith resource is configured: \
             resources will not start until one is added or stonith-enabled=false is set"
                .to_string(),
        );
    }
    if !stonith_enabled && properties.get("no-quorum-policy") == Some("ignore") {
        out.warning(
            Some("cib-bootstrap-options"),
            "stonith-enabled=false with no-quorum-policy=ignore lets a two-node cluster keep \
             running when one node is lost, but allows split brain: if the nodes only lose \
             sight of each other, both run the resources"
                .to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::cib::{Constraint, Group, Order, OrderKind, Resource};
    use crate::crm::edit::{Mode, apply_text};

    fn cib(text: &str) -> Cib {
        let mut cib = Cib::default();
        apply_text(&mut cib, text, Mode::Create).unwrap();
        cib
    }

    fn messages(cib: &Cib, severity: Severity) -> Vec<String> {
        verify(cib, &NoCatalog("no agents in unit tests".into()))
            .into_iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn two_node_shortcut_is_one_warning_explaining_split_brain() {
        let cib = cib("property stonith-enabled=false\nproperty no-quorum-policy=ignore\n");
        let warnings = messages(&cib, Severity::Warning);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("split brain"), "{warnings:?}");
        assert!(messages(&cib, Severity::Error).is_empty());
    }

    #[test]
    fn stonith_enabled_without_a_stonith_resource_warns() {
        let warnings = messages(&cib("primitive d Dummy\n"), Severity::Warning);
        assert!(
            warnings.iter().any(|w| w.contains("no stonith resource")),
            "{warnings:?}"
        );
        let fenced = cib("primitive st stonith:fence_xvm\n");
        let warnings = messages(&fenced, Severity::Warning);
        assert!(
            !warnings.iter().any(|w| w.contains("no stonith resource")),
            "{warnings:?}"
        );
    }

    #[test]
    fn order_loops_are_errors_and_name_their_constraints() {
        let cib = cib("primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\n\
             order o1 Mandatory: a b\norder o2 Mandatory: b c\norder o3 Mandatory: c a\n");
        let errors = messages(&cib, Severity::Error);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("form a loop"), "{errors:?}");
        for id in ["o1", "o2", "o3"] {
            assert!(errors[0].contains(id), "{errors:?}");
        }
    }

    #[test]
    fn loops_through_resource_sets_are_found() {
        let ordered = cib("primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\n\
             order o1 Mandatory: a ( b c )\norder o2 Mandatory: c a\n");
        let errors = messages(&ordered, Severity::Error);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("o1") && errors[0].contains("o2"),
            "{errors:?}"
        );
        // `a b c` in one set: b with a, c with b; `c` then placed with `a` again is no loop,
        // `a` placed with `c` is.
        let quiet = cib("primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\n\
             colocation s inf: a b c\ncolocation p inf: c a\n");
        let warnings = messages(&quiet, Severity::Warning);
        assert!(!warnings.iter().any(|w| w.contains("loop")), "{warnings:?}");
        let looped = cib("primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\n\
             colocation s inf: a b c\ncolocation p inf: a c\n");
        let warnings = messages(&looped, Severity::Warning);
        assert!(
            warnings.iter().any(|w| w.contains("form a loop")),
            "{warnings:?}"
        );
    }

    #[test]
    fn dangling_references_duplicates_and_two_groups_are_errors() {
        let mut cib = cib("primitive a Dummy\nprimitive b Dummy\ngroup g1 a\n");
        // Shapes the language refuses can still arrive from XML or JSON.
        let a = cib.configuration.find_primitive("a").unwrap().clone();
        cib.configuration.resources.push(Resource::Group(Group {
            id: "g2".into(),
            children: vec![Resource::Primitive(a)],
            ..Group::default()
        }));
        cib.configuration.constraints.push(Constraint::Order(Order {
            id: "o1".into(),
            kind: OrderKind::Mandatory,
            first: "b".into(),
            first_action: None,
            then: "nope".into(),
            then_action: None,
            symmetrical: None,
            require_all: None,
            score: None,
        }));
        let errors = messages(&cib, Severity::Error);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("resource a is in two groups (g1 and g2)")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("refers to resource nope")),
            "{errors:?}"
        );
    }

    #[test]
    fn bad_values_are_errors() {
        let cib = cib(
            "primitive a Dummy meta target-role=Sideways op monitor interval=ten\n\
             property no-quorum-policy=sometimes\n",
        );
        let errors = messages(&cib, Severity::Error);
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn standing_warnings_are_the_warnings_without_agent_checks() {
        struct ChecksNothing;
        impl AgentCatalog for ChecksNothing {
            fn parameters(&self, _: &Primitive) -> Result<Option<Vec<AgentParameter>>, String> {
                Ok(None)
            }
            fn checks(&self, _: &Primitive) -> bool {
                false
            }
        }
        for text in [
            "property stonith-enabled=false\nproperty no-quorum-policy=ignore\n",
            "primitive a Dummy meta target-role=Sideways\nprimitive b Dummy\n\
             colocation c1 inf: a b\ncolocation c2 inf: b a\n",
            "primitive a Dummy op monitor interval=ten\ngroup g a\nlocation l g 10: node1\n",
        ] {
            let cib = cib(text);
            let mut all: Vec<Finding> = verify(&cib, &ChecksNothing)
                .into_iter()
                .filter(|f| f.severity == Severity::Warning)
                .collect();
            let mut standing = standing_warnings(&cib);
            all.sort_by(|a, b| a.message.cmp(&b.message));
            standing.sort_by(|a, b| a.message.cmp(&b.message));
            assert!(!standing.is_empty(), "{text}");
            assert_eq!(standing, all, "{text}");
        }
    }

    #[test]
    fn an_id_used_by_two_objects_is_an_error() {
        let mut cib = cib("primitive a Dummy\nprimitive b Dummy\n");
        // The language refuses a second object with a used id; XML or JSON can carry one.
        cib.configuration.constraints.push(Constraint::Order(Order {
            id: "a".into(),
            kind: OrderKind::Mandatory,
            first: "a".into(),
            first_action: None,
            then: "b".into(),
            then_action: None,
            symmetrical: None,
            require_all: None,
            score: None,
        }));
        let errors = messages(&cib, Severity::Error);
        assert_eq!(
            errors,
            ["id a is used twice (by a primitive and an order)"],
            "{errors:?}"
        );
    }

    #[test]
    fn bad_scores_intervals_and_op_settings_are_errors() {
        let cib = cib(
            "primitive a Dummy meta resource-stickiness=lots migration-threshold=3 \
             op monitor interval=10s on-fail=explode op monitor interval=10 timeout=soon\n\
             rsc_defaults failure-timeout=never\n",
        );
        let errors = messages(&cib, Severity::Error);
        for expected in [
            "invalid meta resource-stickiness=\"lots\"",
            "invalid on-fail \"explode\"",
            "op monitor with interval 10000 ms is defined twice",
            "invalid timeout \"soon\"",
            "rsc_defaults: invalid meta failure-timeout=\"never\"",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{expected}: {errors:?}"
            );
        }
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn colocation_loops_warn_and_self_references_are_errors() {
        let cib = cib("primitive a Dummy\nprimitive b Dummy\n\
             colocation c1 inf: a b\ncolocation c2 inf: b a\n\
             property stonith-enabled=false\n");
        let warnings = messages(&cib, Severity::Warning);
        let loops: Vec<&String> = warnings.iter().filter(|w| w.contains("loop")).collect();
        assert_eq!(loops.len(), 1, "{warnings:?}");
        assert!(loops[0].contains("c1, c2 form a loop"), "{warnings:?}");
        let mut selfish = cib.clone();
        selfish
            .configuration
            .constraints
            .push(Constraint::Colocation(crate::crm::cib::Colocation {
                id: "c3".into(),
                score: crate::crm::score::Score::INFINITY,
                rsc: "a".into(),
                with_rsc: "a".into(),
                rsc_role: None,
                with_rsc_role: None,
            }));
        let errors = messages(&selfish, Severity::Error);
        assert_eq!(errors, ["colocation c3 ties a to itself"], "{errors:?}");
    }

    #[test]
    fn agents_are_checked_against_their_meta_data() {
        struct Known;
        impl AgentCatalog for Known {
            fn parameters(&self, p: &Primitive) -> Result<Option<Vec<AgentParameter>>, String> {
                Ok((p.kind == "IPaddr2").then(|| {
                    vec![
                        AgentParameter {
                            name: "ip".into(),
                            required: true,
                        },
                        AgentParameter {
                            name: "nic".into(),
                            required: false,
                        },
                    ]
                }))
            }
        }
        let cib = cib(
            "primitive v IPaddr2 params nick=eth0\nprimitive w Nonesuch\n\
             property stonith-enabled=false\n",
        );
        let findings = verify(&cib, &Known);
        let text: Vec<String> = findings
            .iter()
            .map(|f| format!("{:?}: {}", f.severity, f.message))
            .collect();
        assert_eq!(
            text,
            [
                "Error: v: required parameter ip of ocf:heartbeat:IPaddr2 is not set",
                "Warning: v: ocf:heartbeat:IPaddr2 has no parameter nick",
                "Error: w: unknown agent ocf:heartbeat:Nonesuch",
            ],
            "{text:?}"
        );
    }

    #[test]
    fn changed_only_asks_about_new_and_changed_primitives() {
        struct Counting(std::cell::Cell<usize>);
        impl AgentCatalog for Counting {
            fn parameters(&self, _: &Primitive) -> Result<Option<Vec<AgentParameter>>, String> {
                self.0.set(self.0.get() + 1);
                Ok(Some(Vec::new()))
            }
        }
        let base = cib("primitive a Dummy\nprimitive b Dummy\n");
        let mut work = base.clone();
        apply_text(&mut work, "primitive c Dummy", Mode::Create).unwrap();
        let counting = Counting(std::cell::Cell::new(0));
        verify(&work, &ChangedOnly::new(&counting, &base.configuration));
        assert_eq!(counting.0.get(), 1);
        verify(&work, &ChangedOnly::none(&counting));
        assert_eq!(counting.0.get(), 1, "none asks about no primitive");
    }
}
