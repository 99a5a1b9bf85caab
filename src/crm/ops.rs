//! Node and resource commands as CIB edits, with crmsh's semantics: `node standby` sets the
//! permanent node attribute `standby=on`, `resource stop` the meta attribute
//! `target-role=Stopped`, `resource move` a location constraint `cli-prefer-RSC`, `ban`
//! `cli-ban-RSC-on-NODE`, `clear` removes both kinds, `cleanup` forgets recorded operations
//! and fail counts. Plain functions on a [`Cib`]; no I/O, no clock (the caller passes "now").

use std::fmt;

use serde::Serialize;

use super::cib::{
    BooleanOp, Cib, Configuration, Constraint, DATE_ATTRIBUTE, Expression, Location, Node,
    Resource, Rule,
};
use super::scheduler::schedule;
use super::score::Score;
use super::shell::did_you_mean;

/// Why a node or resource command could not be applied. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpsError {
    /// No resource with this id; `near` is a close existing id.
    UnknownResource {
        /// The id given.
        id: String,
        /// A close match, when one exists.
        near: Option<String>,
    },
    /// No node with this name; `near` is a close existing name.
    UnknownNode {
        /// The name given.
        name: String,
        /// A close match, when one exists.
        near: Option<String>,
    },
    /// The request cannot be carried out as asked (e.g. `move` of a resource that runs
    /// nowhere, without a node).
    Invalid(String),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, name, near) = match self {
            OpsError::UnknownResource { id, near } => ("resource", id, near),
            OpsError::UnknownNode { name, near } => ("node", name, near),
            OpsError::Invalid(message) => return f.write_str(message),
        };
        write!(f, "{what} \"{name}\" does not exist")?;
        if let Some(near) = near {
            write!(f, " (did you mean \"{near}\"?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for OpsError {}

/// The resource (primitive, group or clone, at any depth) with this id, or an error
/// suggesting a close one.
pub fn resource<'a>(config: &'a Configuration, id: &str) -> Result<&'a Resource, OpsError> {
    config.find_resource(id).ok_or_else(|| {
        let ids = resource_ids(config);
        OpsError::UnknownResource {
            id: id.into(),
            near: did_you_mean(id, ids.iter().copied()).map(str::to_string),
        }
    })
}

fn resource_ids(config: &Configuration) -> Vec<&str> {
    config
        .ids()
        .into_iter()
        .filter(|(_, kind)| matches!(*kind, "primitive" | "group" | "clone"))
        .map(|(id, _)| id)
        .collect()
}

/// Node names known to the CIB: configured ones, then ones only seen in the status section.
pub fn node_names(cib: &Cib) -> Vec<&str> {
    let mut names: Vec<&str> = cib
        .configuration
        .nodes
        .iter()
        .map(|n| n.uname.as_str())
        .collect();
    for state in &cib.status.nodes {
        if !names.contains(&state.uname.as_str()) {
            names.push(&state.uname);
        }
    }
    names
}

/// Checks that `name` is a node of the CIB.
pub fn check_node(cib: &Cib, name: &str) -> Result<(), OpsError> {
    let names = node_names(cib);
    if names.contains(&name) {
        return Ok(());
    }
    Err(OpsError::UnknownNode {
        name: name.into(),
        near: did_you_mean(name, names.iter().copied()).map(str::to_string),
    })
}

/// The configured entry of node `name`, created from its status entry when the cluster has
/// seen the node but nobody configured it yet (as Pacemaker adds a `node` element).
fn node_entry<'a>(cib: &'a mut Cib, name: &str) -> Result<&'a mut Node, OpsError> {
    check_node(cib, name)?;
    if cib.configuration.find_node(name).is_none() {
        let id = cib
            .status
            .node(name)
            .map(|s| s.id.clone())
            .unwrap_or_else(|| name.to_string());
        cib.configuration.nodes.push(Node {
            id,
            uname: name.into(),
            ..Node::default()
        });
    }
    Ok(cib
        .configuration
        .nodes
        .iter_mut()
        .find(|n| n.uname == name)
        .expect("present or added above"))
}

/// Sets a permanent node attribute (`standby`, `maintenance`, or any other).
pub fn set_node_attribute(
    cib: &mut Cib,
    node: &str,
    name: &str,
    value: &str,
) -> Result<(), OpsError> {
    node_entry(cib, node)?.attributes.set(name, value);
    Ok(())
}

/// Removes a permanent node attribute; returns the value it had.
pub fn delete_node_attribute(
    cib: &mut Cib,
    node: &str,
    name: &str,
) -> Result<Option<String>, OpsError> {
    check_node(cib, node)?;
    Ok(cib
        .configuration
        .nodes
        .iter_mut()
        .find(|n| n.uname == node)
        .and_then(|n| n.attributes.remove(name)))
}

/// A permanent node attribute's value (`None` when unset).
pub fn node_attribute(cib: &Cib, node: &str, name: &str) -> Result<Option<String>, OpsError> {
    check_node(cib, node)?;
    Ok(cib
        .configuration
        .find_node(node)
        .and_then(|n| n.attributes.get(name))
        .map(str::to_string))
}

/// Sets a resource's meta attribute (`target-role`, `is-managed`).
pub fn set_resource_meta(cib: &mut Cib, id: &str, name: &str, value: &str) -> Result<(), OpsError> {
    fn walk<'r>(r: &'r mut Resource, id: &str) -> Option<&'r mut Resource> {
        if r.id() == id {
            return Some(r);
        }
        match r {
            Resource::Primitive(_) => None,
            Resource::Group(g) => g.children.iter_mut().find_map(|c| walk(c, id)),
            Resource::Clone(c) => walk(&mut c.child, id),
        }
    }
    resource(&cib.configuration, id)?;
    let found = cib
        .configuration
        .resources
        .iter_mut()
        .find_map(|r| walk(r, id))
        .expect("checked above");
    found.meta_mut().set(name, value);
    Ok(())
}

/// The id of `move`'s constraint for a resource.
pub fn prefer_id(rsc: &str) -> String {
    format!("cli-prefer-{rsc}")
}

/// The id of `ban`'s constraint for a resource and node.
pub fn ban_id(rsc: &str, node: &str) -> String {
    format!("cli-ban-{rsc}-on-{node}")
}

/// Adds (or replaces) a location constraint `id` placing `rsc` on `node` with `score`,
/// expiring at `until` (epoch seconds) when given: then it is a rule with a date test, which
/// the scheduler stops applying once its "now" reaches `until`.
fn put_location(
    config: &mut Configuration,
    id: String,
    rsc: &str,
    node: &str,
    score: Score,
    until: Option<i64>,
) {
    let location = match until {
        None => Location {
            id: id.clone(),
            rsc: rsc.into(),
            score: Some(score),
            node: Some(node.into()),
            rules: Vec::new(),
            role: None,
            resource_discovery: None,
        },
        Some(until) => {
            let test = |attribute: &str, operation: &str, value: String| Expression {
                id: None,
                attribute: attribute.into(),
                operation: operation.into(),
                value: Some(value),
                value_type: None,
            };
            Location {
                id: id.clone(),
                rsc: rsc.into(),
                score: None,
                node: None,
                rules: vec![Rule {
                    id: None,
                    score: Some(score),
                    score_attribute: None,
                    boolean_op: BooleanOp::And,
                    role: None,
                    expressions: vec![
                        test("#uname", "eq", node.into()),
                        test(DATE_ATTRIBUTE, "lt", super::date::format_rfc3339(until)),
                    ],
                }],
                role: None,
                resource_discovery: None,
            }
        }
    };
    let constraint = Constraint::Location(location);
    match config.constraints.iter().position(|c| c.id() == id) {
        Some(index) => config.constraints[index] = constraint,
        None => config.constraints.push(constraint),
    }
}

/// What `move`/`ban` left in the configuration.
///
/// JSON shape: `{"constraint":"cli-prefer-vip","resource":"vip","node":"node2",
/// "expires_at":"2026-11-26T09:00:00Z"}` (`expires_at` null without `--lifetime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placed {
    /// The constraint's id (`cli-prefer-vip`, `cli-ban-vip-on-node1`).
    pub constraint: String,
    /// The resource.
    pub resource: String,
    /// The node preferred or banned.
    pub node: String,
    /// When it stops applying (RFC 3339), `null` when it stays until cleared.
    pub expires_at: Option<String>,
}

/// `resource move RSC NODE`: prefer NODE with INFINITY (`cli-prefer-RSC`, replacing an
/// earlier one). Without NODE, crm_resource's meaning: ban the node it runs on now.
pub fn move_resource(
    cib: &mut Cib,
    rsc: &str,
    node: Option<&str>,
    until: Option<i64>,
    now: i64,
) -> Result<Placed, OpsError> {
    resource(&cib.configuration, rsc)?;
    let Some(node) = node else {
        let current = locate(cib, rsc, now)?.nodes;
        return match current.as_slice() {
            [node] => ban(cib, rsc, &node.clone(), until),
            [] => Err(OpsError::Invalid(format!(
                "resource {rsc} is not running; give the node to move it to"
            ))),
            _ => Err(OpsError::Invalid(format!(
                "resource {rsc} runs on several nodes ({}); give the node to move it to",
                current.join(", ")
            ))),
        };
    };
    check_node(cib, node)?;
    let id = prefer_id(rsc);
    put_location(
        &mut cib.configuration,
        id.clone(),
        rsc,
        node,
        Score::INFINITY,
        until,
    );
    Ok(Placed {
        constraint: id,
        resource: rsc.into(),
        node: node.into(),
        expires_at: until.map(super::date::format_rfc3339),
    })
}

/// `resource ban RSC NODE`: keep it off NODE with -INFINITY (`cli-ban-RSC-on-NODE`).
pub fn ban(cib: &mut Cib, rsc: &str, node: &str, until: Option<i64>) -> Result<Placed, OpsError> {
    resource(&cib.configuration, rsc)?;
    check_node(cib, node)?;
    let id = ban_id(rsc, node);
    put_location(
        &mut cib.configuration,
        id.clone(),
        rsc,
        node,
        Score::NEG_INFINITY,
        until,
    );
    Ok(Placed {
        constraint: id,
        resource: rsc.into(),
        node: node.into(),
        expires_at: until.map(super::date::format_rfc3339),
    })
}

/// `resource clear RSC [NODE]`: removes the constraints `move` and `ban` left for RSC (only
/// the ban on NODE, and the preference when it is for NODE, when NODE is given). Returns the
/// removed ids.
pub fn clear(cib: &mut Cib, rsc: &str, node: Option<&str>) -> Result<Vec<String>, OpsError> {
    resource(&cib.configuration, rsc)?;
    if let Some(node) = node {
        check_node(cib, node)?;
    }
    let prefer = prefer_id(rsc);
    let ban_prefix = format!("cli-ban-{rsc}-on-");
    let mut removed = Vec::new();
    cib.configuration.constraints.retain(|c| {
        let Constraint::Location(location) = c else {
            return true;
        };
        let matches = if location.id == prefer {
            node.is_none_or(|n| location_node(location) == Some(n))
        } else if let Some(banned) = location.id.strip_prefix(&ban_prefix) {
            node.is_none_or(|n| n == banned)
        } else {
            false
        };
        if matches {
            removed.push(location.id.clone());
        }
        !matches
    });
    Ok(removed)
}

/// The node a `cli-` constraint names, in either form.
fn location_node(location: &Location) -> Option<&str> {
    location.node.as_deref().or_else(|| {
        location
            .rules
            .iter()
            .flat_map(|r| &r.expressions)
            .find(|e| e.attribute == "#uname")
            .and_then(|e| e.value.as_deref())
    })
}

/// What `cleanup` removed from a status section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cleaned {
    /// Nodes whose operation history of the resource was dropped.
    pub history_on: Vec<String>,
    /// Fail-count and last-failure attributes removed.
    pub attributes: usize,
}

/// `resource cleanup RSC [NODE]` on a CIB's status section: forgets the recorded operations
/// of RSC (its group members, clone instances `RSC:N`) and their fail counts, on NODE or on
/// every node, so the scheduler probes it afresh.
pub fn cleanup(cib: &mut Cib, rsc: &str, node: Option<&str>) -> Result<Cleaned, OpsError> {
    let ids: Vec<String> = {
        let found = resource(&cib.configuration, rsc)?;
        let mut ids = vec![found.id().to_string()];
        collect_primitive_ids(found, &mut ids);
        ids
    };
    if let Some(node) = node {
        check_node(cib, node)?;
    }
    let covers = |recorded: &str| {
        let base = recorded.split(':').next().unwrap_or(recorded);
        ids.iter().any(|id| id == base)
    };
    let mut cleaned = Cleaned::default();
    for state in &mut cib.status.nodes {
        if node.is_some_and(|n| n != state.uname) {
            continue;
        }
        let before = state.resources.len();
        state.resources.retain(|h| !covers(&h.id));
        if state.resources.len() != before {
            cleaned.history_on.push(state.uname.clone());
        }
        let names: Vec<String> = state
            .transient_attributes
            .iter()
            .map(|(name, _)| name.to_string())
            .filter(|name| {
                ["fail-count-", "last-failure-"].iter().any(|prefix| {
                    name.strip_prefix(prefix).is_some_and(|rest| {
                        // `fail-count-vip` or `fail-count-vip#monitor_10000`.
                        covers(rest.split('#').next().unwrap_or(rest))
                    })
                })
            })
            .collect();
        for name in names {
            state.transient_attributes.remove(&name);
            cleaned.attributes += 1;
        }
    }
    Ok(cleaned)
}

/// The primitives a resource stands for: itself, or its group's or clone's members.
pub fn primitive_ids(config: &Configuration, rsc: &str) -> Result<Vec<String>, OpsError> {
    let mut ids = Vec::new();
    collect_primitive_ids(resource(config, rsc)?, &mut ids);
    Ok(ids)
}

fn collect_primitive_ids(resource: &Resource, out: &mut Vec<String>) {
    match resource {
        Resource::Primitive(p) => {
            if !out.contains(&p.id) {
                out.push(p.id.clone());
            }
        }
        Resource::Group(g) => g
            .children
            .iter()
            .for_each(|c| collect_primitive_ids(c, out)),
        Resource::Clone(c) => collect_primitive_ids(&c.child, out),
    }
}

/// Where a resource runs, as the status section records it.
///
/// JSON shape: `{"resource":"my_group","running":true,"nodes":["node1"],
/// "members":[{"resource":"vip","nodes":["node1"]}]}` (`members` empty for a primitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunningOn {
    /// The resource asked about.
    pub resource: String,
    /// True when it runs somewhere.
    pub running: bool,
    /// Nodes it runs on (for a group: where any member runs).
    pub nodes: Vec<String>,
    /// Per member of a group or clone: where it runs.
    pub members: Vec<MemberLocation>,
}

/// Where one primitive runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberLocation {
    /// Primitive id.
    pub resource: String,
    /// Nodes it runs on.
    pub nodes: Vec<String>,
}

/// `resource locate/status RSC`: where RSC runs now, read from the status section through the
/// scheduler's unpacking (failed and partially stopped resources included).
pub fn locate(cib: &Cib, rsc: &str, now: i64) -> Result<RunningOn, OpsError> {
    let found = resource(&cib.configuration, rsc)?;
    let mut primitive_ids = Vec::new();
    collect_primitive_ids(found, &mut primitive_ids);
    let transition = schedule(cib, now);
    let mut nodes: Vec<String> = Vec::new();
    let mut members = Vec::new();
    for id in &primitive_ids {
        let current: Vec<String> = transition
            .placements
            .iter()
            .filter(|p| &p.resource == id)
            .flat_map(|p| p.current.clone())
            .collect();
        for node in &current {
            if !nodes.contains(node) {
                nodes.push(node.clone());
            }
        }
        members.push(MemberLocation {
            resource: id.clone(),
            nodes: current,
        });
    }
    if matches!(found, Resource::Primitive(_)) {
        members.clear();
    }
    Ok(RunningOn {
        resource: rsc.into(),
        running: !nodes.is_empty(),
        nodes,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::edit::{Mode, apply_text};

    const NOW: i64 = 1_800_000_000;

    fn sample() -> Cib {
        let mut cib = Cib::default();
        apply_text(
            &mut cib,
            "node 1: node1\nnode 2: node2\nprimitive vip Dummy\nprimitive web Dummy\n\
             group g vip web\n",
            Mode::Create,
        )
        .unwrap();
        cib
    }

    #[test]
    fn move_replaces_its_preference_and_clear_removes_only_cli_constraints() {
        let mut cib = sample();
        apply_text(&mut cib, "location keep g 10: node1\n", Mode::Create).unwrap();
        move_resource(&mut cib, "g", Some("node2"), None, NOW).unwrap();
        move_resource(&mut cib, "g", Some("node1"), None, NOW).unwrap();
        ban(&mut cib, "g", "node2", None).unwrap();
        let ids: Vec<&str> = cib
            .configuration
            .constraints
            .iter()
            .map(|c| c.id())
            .collect();
        assert_eq!(ids, ["keep", "cli-prefer-g", "cli-ban-g-on-node2"]);
        assert_eq!(
            clear(&mut cib, "g", Some("node2")).unwrap(),
            ["cli-ban-g-on-node2"]
        );
        assert_eq!(clear(&mut cib, "g", None).unwrap(), ["cli-prefer-g"]);
        assert_eq!(cib.configuration.constraints.len(), 1);
    }

    #[test]
    fn lifetime_rule_expires_and_survives_xml_and_crm_text() {
        let mut cib = sample();
        let placed = move_resource(&mut cib, "vip", Some("node2"), Some(NOW + 3600), NOW).unwrap();
        assert_eq!(placed.expires_at.as_deref(), Some("2027-01-15T09:00:00Z"));
        let xml = crate::crm::xml::to_xml(&cib);
        assert!(
            xml.contains("operation=\"lt\" end=\"2027-01-15T09:00:00Z\""),
            "{xml}"
        );
        let back = crate::crm::xml::parse_cib(&xml).unwrap();
        let text = crate::crm::render::show(&cib.configuration);
        assert_eq!(crate::crm::render::show(&back.configuration), text);
        assert!(text.contains("date lt 2027-01-15T09:00:00Z"), "{text}");
        let mut again = Cib::default();
        apply_text(&mut again, &text, Mode::Create).unwrap();
        assert_eq!(
            again.configuration.constraints,
            cib.configuration.constraints
        );
    }

    #[test]
    fn move_without_node_needs_a_running_resource() {
        let mut cib = sample();
        let error = move_resource(&mut cib, "vip", None, None, NOW).unwrap_err();
        assert_eq!(
            error.to_string(),
            "resource vip is not running; give the node to move it to"
        );
        assert!(cib.configuration.constraints.is_empty());
    }

    #[test]
    fn node_attributes_need_a_known_node() {
        let mut cib = sample();
        set_node_attribute(&mut cib, "node1", "standby", "on").unwrap();
        assert_eq!(
            node_attribute(&cib, "node1", "standby").unwrap().as_deref(),
            Some("on")
        );
        let error = set_node_attribute(&mut cib, "node3", "standby", "on").unwrap_err();
        assert_eq!(
            error.to_string(),
            "node \"node3\" does not exist (did you mean \"node1\"?)"
        );
    }
}
