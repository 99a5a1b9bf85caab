//! Applying crm commands ([`Change`]) to a CIB, with crmsh's rules: ids are unique, `group`
//! moves existing primitives into the group, `delete` refuses running resources (unless
//! forced) and removes constraints that would be left pointing at nothing, `rename` follows
//! references. Pure: the caller decides whether the result is committed.
//!
//! Every function leaves the CIB untouched when it returns an error.

use std::fmt;

use super::cib::{Cib, Configuration, Constraint, Group, NvList, Resource};
use super::shell::{
    Change, CloneDef, Command, ConfigureCommand, GroupDef, Level, Line, ParseError, Pos,
    did_you_mean, lex, parse,
};

/// How definitions treat an id that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Typed commands: an existing id is an error.
    Create,
    /// `load update`: an object with the same id is replaced.
    Update,
}

/// Why a change was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditError {
    /// What is wrong, lowercase, no final period.
    pub message: String,
    /// The word of the command the error is about (to point at its position).
    pub subject: Option<String>,
    /// A near id the user probably meant.
    pub suggestion: Option<String>,
}

impl EditError {
    fn new(message: impl Into<String>, subject: &str) -> EditError {
        EditError {
            message: message.into(),
            subject: Some(subject.to_string()),
            suggestion: None,
        }
    }

    fn unknown(what: &str, id: &str, known: &[&str]) -> EditError {
        EditError {
            message: format!("{what} \"{id}\" does not exist"),
            subject: Some(id.to_string()),
            suggestion: did_you_mean(id, known.iter().copied()).map(str::to_string),
        }
    }
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean \"{suggestion}\"?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for EditError {}

/// Applies one change. Returns notes for the user (e.g. constraints removed along with a
/// resource). On error the CIB is unchanged.
pub fn apply(cib: &mut Cib, change: &Change, mode: Mode) -> Result<Vec<String>, EditError> {
    // Changes that check everything before touching the configuration work on it in place;
    // the others work on a copy that replaces it only on success. Copying (and dropping) a
    // large configuration costs more than the whole of a one-line change.
    let config = &mut cib.configuration;
    match change {
        Change::Node(node) => match config.nodes.iter_mut().find(|n| n.uname == node.uname) {
            Some(existing) if mode == Mode::Update => *existing = node.clone(),
            Some(_) => {
                return Err(EditError::new(
                    format!("node \"{}\" already exists", node.uname),
                    &node.uname,
                ));
            }
            None => config.nodes.push(node.clone()),
        },
        Change::Primitive(p) => {
            let replaced = mode == Mode::Update && replace_primitive(config, p);
            if !replaced {
                check_free(config, &p.id)?;
                config.resources.push(Resource::Primitive(p.clone()));
            }
        }
        Change::Location(_)
        | Change::Colocation(_)
        | Change::Order(_)
        | Change::ColocationSet(_)
        | Change::OrderSet(_) => {
            let constraint = match change {
                Change::Location(l) => Constraint::Location(l.clone()),
                Change::Colocation(c) => Constraint::Colocation(c.clone()),
                Change::Order(o) => Constraint::Order(o.clone()),
                Change::ColocationSet(c) => Constraint::ColocationSet(c.clone()),
                Change::OrderSet(o) => Constraint::OrderSet(o.clone()),
                _ => unreachable!("matched constraint kinds above"),
            };
            let known = resource_ids(config);
            for id in constraint.resource_refs() {
                if !known.contains(&id) {
                    return Err(EditError::unknown("resource", id, &known));
                }
            }
            let position = config
                .constraints
                .iter()
                .position(|c| c.id() == constraint.id());
            match position {
                Some(index) if mode == Mode::Update => config.constraints[index] = constraint,
                _ => {
                    check_free(config, constraint.id())?;
                    config.constraints.push(constraint);
                }
            }
        }
        Change::Property(list) => merge(&mut config.properties, list),
        Change::RscDefaults(list) => merge(&mut config.rsc_defaults, list),
        Change::OpDefaults(list) => merge(&mut config.op_defaults, list),
        Change::Erase { nodes } => {
            config.resources.clear();
            config.constraints.clear();
            config.properties = NvList::new();
            config.rsc_defaults = NvList::new();
            config.op_defaults = NvList::new();
            if *nodes {
                config.nodes.clear();
            }
        }
        Change::Group(def) => {
            return on_copy(cib, |_, config, _| define_group(config, def, mode));
        }
        Change::Clone(def) => {
            return on_copy(cib, |_, config, _| define_clone(config, def, mode));
        }
        Change::Delete { ids, force } => {
            return on_copy(cib, |cib, config, notes| {
                for id in ids {
                    delete(cib, config, id, *force, notes)?;
                }
                Ok(())
            });
        }
        Change::Rename { from, to } => {
            return on_copy(cib, |_, config, notes| rename(config, from, to, notes));
        }
    }
    Ok(Vec::new())
}

/// Runs a change that may fail half-way on a copy of the configuration, kept only when all
/// of it worked. Returns the change's notes.
fn on_copy(
    cib: &mut Cib,
    change: impl FnOnce(&Cib, &mut Configuration, &mut Vec<String>) -> Result<(), EditError>,
) -> Result<Vec<String>, EditError> {
    let mut config = cib.configuration.clone();
    let mut notes = Vec::new();
    change(cib, &mut config, &mut notes)?;
    cib.configuration = config;
    Ok(notes)
}

fn merge(into: &mut NvList, from: &NvList) {
    for (name, value) in from.iter() {
        into.set(name, value);
    }
}

/// Every resource id at any depth, in configuration order.
pub fn resource_ids(config: &Configuration) -> Vec<&str> {
    config
        .ids()
        .into_iter()
        .filter(|(_, kind)| matches!(*kind, "primitive" | "group" | "clone"))
        .map(|(id, _)| id)
        .collect()
}

fn check_free(config: &Configuration, id: &str) -> Result<(), EditError> {
    let used = config
        .ids()
        .into_iter()
        .find(|(used, kind)| *used == id && *kind != "node");
    match used {
        Some((_, kind)) => Err(EditError::new(
            format!("id \"{id}\" is already in use by a {kind}"),
            id,
        )),
        None => Ok(()),
    }
}

fn replace_primitive(config: &mut Configuration, p: &super::cib::Primitive) -> bool {
    fn walk(r: &mut Resource, p: &super::cib::Primitive) -> bool {
        match r {
            Resource::Primitive(existing) if existing.id == p.id => {
                *existing = p.clone();
                true
            }
            Resource::Primitive(_) => false,
            Resource::Group(g) => g.children.iter_mut().any(|c| walk(c, p)),
            Resource::Clone(c) => walk(&mut c.child, p),
        }
    }
    config.resources.iter_mut().any(|r| walk(r, p))
}

/// Where a resource sits: the container id holding it, when nested.
fn parent_of(config: &Configuration, id: &str) -> Option<(String, &'static str)> {
    fn walk(r: &Resource, id: &str) -> Option<(String, &'static str)> {
        match r {
            Resource::Primitive(_) => None,
            Resource::Group(g) => {
                if g.children.iter().any(|c| c.id() == id) {
                    return Some((g.id.clone(), "group"));
                }
                g.children.iter().find_map(|c| walk(c, id))
            }
            Resource::Clone(c) => {
                if c.child.id() == id {
                    return Some((c.id.clone(), "clone"));
                }
                walk(&c.child, id)
            }
        }
    }
    config.resources.iter().find_map(|r| walk(r, id))
}

/// Takes a top-level resource out of the list, checking it may be moved into a container.
fn take_top_level(
    config: &mut Configuration,
    id: &str,
    container: &str,
) -> Result<Resource, EditError> {
    if let Some(index) = config.resources.iter().position(|r| r.id() == id) {
        return Ok(config.resources.remove(index));
    }
    if let Some((parent, kind)) = parent_of(config, id) {
        return Err(EditError::new(
            format!(
                "resource \"{id}\" is already in {kind} \"{parent}\" (a resource can be in one {container} only)"
            ),
            id,
        ));
    }
    let known = resource_ids(config);
    let mut error = EditError::unknown("resource", id, &known);
    if config.find_constraint(id).is_some() {
        error.message = format!("\"{id}\" is a constraint, not a resource");
    }
    Err(error)
}

fn define_group(config: &mut Configuration, def: &GroupDef, mode: Mode) -> Result<(), EditError> {
    let mut work = config.clone();
    let mut position = None;
    if mode == Mode::Update
        && let Some(index) = work.resources.iter().position(|r| r.id() == def.id)
        && let Resource::Group(_) = &work.resources[index]
    {
        let Resource::Group(old) = work.resources.remove(index) else {
            unreachable!("checked to be a group")
        };
        for (offset, child) in old.children.into_iter().enumerate() {
            work.resources.insert(index + offset, child);
        }
        position = Some(index);
    }
    check_free(&work, &def.id)?;
    let mut children = Vec::new();
    for (index, member) in def.members.iter().enumerate() {
        if def.members[..index].contains(member) {
            return Err(EditError::new(
                format!(
                    "resource \"{member}\" is listed twice in group \"{}\"",
                    def.id
                ),
                member,
            ));
        }
        let resource = take_top_level(&mut work, member, "group")?;
        if !matches!(resource, Resource::Primitive(_)) {
            return Err(EditError::new(
                format!("\"{member}\" is not a primitive (groups hold primitives only)"),
                member,
            ));
        }
        children.push(resource);
    }
    let group = Resource::Group(Group {
        id: def.id.clone(),
        children,
        meta: def.meta.clone(),
        params: def.params.clone(),
    });
    match position {
        Some(index) => work
            .resources
            .insert(index.min(work.resources.len()), group),
        None => work.resources.push(group),
    }
    *config = work;
    Ok(())
}

fn define_clone(config: &mut Configuration, def: &CloneDef, mode: Mode) -> Result<(), EditError> {
    let mut work = config.clone();
    let mut position = None;
    if mode == Mode::Update
        && let Some(index) = work.resources.iter().position(|r| r.id() == def.id)
        && let Resource::Clone(_) = &work.resources[index]
    {
        let Resource::Clone(old) = work.resources.remove(index) else {
            unreachable!("checked to be a clone")
        };
        work.resources.insert(index, *old.child);
        position = Some(index);
    }
    check_free(&work, &def.id)?;
    let child = take_top_level(&mut work, &def.child, "clone")?;
    if matches!(child, Resource::Clone(_)) {
        return Err(EditError::new(
            format!("\"{}\" is a clone; a clone cannot be cloned", def.child),
            &def.child,
        ));
    }
    let clone = Resource::Clone(super::cib::Clone {
        id: def.id.clone(),
        child: Box::new(child),
        meta: def.meta.clone(),
        params: def.params.clone(),
    });
    match position {
        Some(index) => work
            .resources
            .insert(index.min(work.resources.len()), clone),
        None => work.resources.push(clone),
    }
    *config = work;
    Ok(())
}

/// True when the status section shows the resource (or any member or instance) active on
/// some node: its latest recorded operation there left it started or promoted.
pub fn is_running(cib: &Cib, id: &str) -> bool {
    let mut ids = vec![id.to_string()];
    if let Some(resource) = cib.configuration.find_resource(id) {
        ids = Vec::new();
        collect_ids(resource, &mut ids);
    }
    cib.status.nodes.iter().any(|node| {
        node.resources.iter().any(|history| {
            let base = history.id.split(':').next().unwrap_or(&history.id);
            if !ids.iter().any(|i| i == base) {
                return false;
            }
            let last = history
                .ops
                .iter()
                .filter(|op| op.call_id >= 0 && op.op_status == 0)
                .max_by_key(|op| op.call_id);
            last.is_some_and(|op| {
                matches!(
                    op.operation.as_str(),
                    "start" | "promote" | "demote" | "monitor" | "migrate_from"
                ) && matches!(op.rc_code, 0 | 8)
            })
        })
    })
}

fn collect_ids(resource: &Resource, out: &mut Vec<String>) {
    out.push(resource.id().to_string());
    match resource {
        Resource::Primitive(_) => {}
        Resource::Group(g) => g.children.iter().for_each(|c| collect_ids(c, out)),
        Resource::Clone(c) => collect_ids(&c.child, out),
    }
}

fn delete(
    cib: &Cib,
    config: &mut Configuration,
    id: &str,
    force: bool,
    notes: &mut Vec<String>,
) -> Result<(), EditError> {
    if let Some(index) = config.constraints.iter().position(|c| c.id() == id) {
        config.constraints.remove(index);
        return Ok(());
    }
    if let Some(resource) = config.find_resource(id) {
        if !force && is_running(cib, id) {
            return Err(EditError::new(
                format!(
                    "resource \"{id}\" is running; stop it first (resource stop {id}) or use delete --force"
                ),
                id,
            ));
        }
        let mut removed = Vec::new();
        collect_ids(resource, &mut removed);
        remove_resource(config, id, notes, &mut removed);
        // A set constraint loses the deleted members, and only goes when no set is left.
        for constraint in &mut config.constraints {
            let sets = match constraint {
                Constraint::ColocationSet(c) => &mut c.sets,
                Constraint::OrderSet(o) => &mut o.sets,
                Constraint::Location(_) | Constraint::Colocation(_) | Constraint::Order(_) => {
                    continue;
                }
            };
            let before: usize = sets.iter().map(|s| s.resources.len()).sum();
            for set in sets.iter_mut() {
                set.resources.retain(|r| !removed.contains(r));
            }
            sets.retain(|s| !s.resources.is_empty());
            let after: usize = sets.iter().map(|s| s.resources.len()).sum();
            if after != before && after > 0 {
                notes.push(format!(
                    "updated {} {}",
                    constraint.kind_name(),
                    constraint.id()
                ));
            }
        }
        config.constraints.retain(|c| {
            let emptied = match c {
                Constraint::ColocationSet(c) => c.sets.is_empty(),
                Constraint::OrderSet(o) => o.sets.is_empty(),
                Constraint::Location(_) | Constraint::Colocation(_) | Constraint::Order(_) => false,
            };
            if emptied {
                notes.push(format!(
                    "removed {} {} (all its resources were deleted)",
                    c.kind_name(),
                    c.id()
                ));
                return false;
            }
            let dangling = c
                .resource_refs()
                .iter()
                .any(|r| removed.iter().any(|x| x == r));
            if dangling {
                notes.push(format!(
                    "removed {} {} (it referred to a deleted resource)",
                    c.kind_name(),
                    c.id()
                ));
            }
            !dangling
        });
        return Ok(());
    }
    if let Some(index) = config.nodes.iter().position(|n| n.uname == id) {
        config.nodes.remove(index);
        return Ok(());
    }
    let mut known: Vec<&str> = config.ids().into_iter().map(|(id, _)| id).collect();
    known.sort();
    Err(EditError::unknown("object", id, &known))
}

fn remove_resource(
    config: &mut Configuration,
    id: &str,
    notes: &mut Vec<String>,
    removed: &mut Vec<String>,
) {
    if let Some(index) = config.resources.iter().position(|r| r.id() == id) {
        config.resources.remove(index);
        return;
    }
    match parent_of(config, id) {
        Some((parent, "group")) => {
            let mut emptied = false;
            for resource in &mut config.resources {
                if let Some(Resource::Group(g)) = find_mut(resource, &parent) {
                    g.children.retain(|c| c.id() != id);
                    emptied = g.children.is_empty();
                }
            }
            if emptied {
                notes.push(format!(
                    "removed group {parent} (its last member was deleted)"
                ));
                removed.push(parent.clone());
                remove_resource(config, &parent, notes, removed);
            }
        }
        Some((parent, _)) => {
            notes.push(format!("removed clone {parent} (its resource was deleted)"));
            removed.push(parent.clone());
            remove_resource(config, &parent, notes, removed);
        }
        None => {}
    }
}

fn find_mut<'a>(resource: &'a mut Resource, id: &str) -> Option<&'a mut Resource> {
    if resource.id() == id {
        return Some(resource);
    }
    match resource {
        Resource::Primitive(_) => None,
        Resource::Group(g) => g.children.iter_mut().find_map(|c| find_mut(c, id)),
        Resource::Clone(c) => find_mut(&mut c.child, id),
    }
}

fn rename(
    config: &mut Configuration,
    from: &str,
    to: &str,
    notes: &mut Vec<String>,
) -> Result<(), EditError> {
    if from == to {
        return Ok(());
    }
    check_free(config, to)?;
    if let Some(constraint) = config.constraints.iter_mut().find(|c| c.id() == from) {
        match constraint {
            Constraint::Location(l) => l.id = to.to_string(),
            Constraint::Colocation(c) => c.id = to.to_string(),
            Constraint::Order(o) => o.id = to.to_string(),
            Constraint::ColocationSet(c) => c.id = to.to_string(),
            Constraint::OrderSet(o) => o.id = to.to_string(),
        }
        return Ok(());
    }
    let found = config.resources.iter_mut().find_map(|r| find_mut(r, from));
    let Some(resource) = found else {
        let known: Vec<&str> = config.ids().into_iter().map(|(id, _)| id).collect();
        return Err(EditError::unknown("object", from, &known));
    };
    match resource {
        Resource::Primitive(p) => p.id = to.to_string(),
        Resource::Group(g) => g.id = to.to_string(),
        Resource::Clone(c) => c.id = to.to_string(),
    }
    for constraint in &mut config.constraints {
        let mut touched = false;
        let mut fix = |field: &mut String| {
            if field == from {
                *field = to.to_string();
                touched = true;
            }
        };
        match constraint {
            Constraint::Location(l) => fix(&mut l.rsc),
            Constraint::Colocation(c) => {
                fix(&mut c.rsc);
                fix(&mut c.with_rsc);
            }
            Constraint::Order(o) => {
                fix(&mut o.first);
                fix(&mut o.then);
            }
            Constraint::ColocationSet(c) => c
                .sets
                .iter_mut()
                .flat_map(|set| set.resources.iter_mut())
                .for_each(&mut fix),
            Constraint::OrderSet(o) => o
                .sets
                .iter_mut()
                .flat_map(|set| set.resources.iter_mut())
                .for_each(&mut fix),
        }
        if touched {
            notes.push(format!(
                "updated {} {}",
                constraint.kind_name(),
                constraint.id()
            ));
        }
    }
    Ok(())
}

/// A failure at a place in crm text. Nothing was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptError {
    /// Where: the offending word, or the start of the line.
    pub pos: Pos,
    /// What is wrong, with a "did you mean" when one is known.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for ScriptError {}

impl From<ParseError> for ScriptError {
    fn from(error: ParseError) -> ScriptError {
        let mut message = error.message.clone();
        if let Some(suggestion) = &error.suggestion {
            message.push_str(&format!(" (did you mean \"{suggestion}\"?)"));
        }
        ScriptError {
            pos: error.pos,
            message,
        }
    }
}

/// Where in `line` the word an [`EditError`] is about starts (the line's start when absent).
pub fn position_of(line: &Line, error: &EditError) -> Pos {
    error
        .subject
        .as_deref()
        .and_then(|subject| {
            line.tokens
                .iter()
                .skip(1)
                .find(|t| t.text == subject || t.text.split(':').next() == Some(subject))
        })
        .map(|t| t.pos)
        .unwrap_or(line.pos)
}

/// Applies one parsed line's change, pointing errors at the offending word.
pub fn apply_line(
    cib: &mut Cib,
    line: &Line,
    change: &Change,
    mode: Mode,
) -> Result<Vec<String>, ScriptError> {
    apply(cib, change, mode).map_err(|error| ScriptError {
        pos: position_of(line, &error),
        message: error.to_string(),
    })
}

/// Applies configure-level crm text (definitions, `delete`, `rename`, `erase`; one command
/// per logical line) to `cib`, all or nothing: on error the CIB is unchanged. Does not bump
/// the epoch; the caller commits. This is the entry point for anything that receives crm
/// text to apply (`load`, `edit`, the controller serving `ha-crm configure`).
pub fn apply_text(cib: &mut Cib, text: &str, mode: Mode) -> Result<Vec<String>, ScriptError> {
    let mut work = cib.clone();
    let mut notes = Vec::new();
    for line in lex(text)? {
        match parse(Level::Configure, &line)? {
            Command::Configure(ConfigureCommand::Change(change)) => {
                notes.extend(apply_line(&mut work, &line, &change, mode)?);
            }
            _ => {
                return Err(ScriptError {
                    pos: line.pos,
                    message: format!(
                        "\"{}\" does not change the configuration (only definitions, delete, rename and erase are allowed here)",
                        line.tokens[0].text
                    ),
                });
            }
        }
    }
    *cib = work;
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::cib::{NodeState, OpRecord, ResourceHistory};

    fn cib(text: &str) -> Cib {
        let mut cib = Cib::default();
        apply_text(&mut cib, text, Mode::Create).unwrap();
        cib
    }

    fn record(operation: &str, call_id: i64, rc_code: i32) -> OpRecord {
        OpRecord {
            operation: operation.into(),
            call_id,
            rc_code,
            ..OpRecord::default()
        }
    }

    #[test]
    fn delete_refuses_a_running_resource_unless_forced() {
        let mut cib = cib(
            "primitive vip IPaddr params ip=10.0.0.1\nprimitive web lsb:apache2\ngroup g vip web\n",
        );
        cib.status.nodes.push(NodeState {
            uname: "node1".into(),
            resources: vec![ResourceHistory {
                id: "vip".into(),
                ops: vec![record("start", 3, 0), record("monitor", 4, 0)],
                ..ResourceHistory::default()
            }],
            ..NodeState::default()
        });
        assert!(is_running(&cib, "vip"));
        assert!(is_running(&cib, "g"), "a group runs when a member does");
        assert!(!is_running(&cib, "web"));
        let before = cib.clone();
        let change = Change::Delete {
            ids: vec!["g".into()],
            force: false,
        };
        let error = apply(&mut cib, &change, Mode::Create).unwrap_err();
        assert!(error.message.contains("is running"), "{error}");
        assert_eq!(cib, before, "nothing changed");
        let change = Change::Delete {
            ids: vec!["g".into()],
            force: true,
        };
        apply(&mut cib, &change, Mode::Create).unwrap();
        assert!(cib.configuration.resources.is_empty());
        // A later stop makes it not running.
        cib.status.nodes[0].resources[0]
            .ops
            .push(record("stop", 5, 0));
        assert!(!is_running(&cib, "vip"));
    }

    #[test]
    fn deleting_a_resource_takes_it_out_of_resource_sets() {
        let mut cib = cib("primitive a Dummy\nprimitive b Dummy\nprimitive c Dummy\n\
             order o Mandatory: a ( b c )\ncolocation only inf: _rsc_set_ c\n");
        apply_text(&mut cib, "delete b", Mode::Create).unwrap();
        let Some(Constraint::OrderSet(o)) = cib.configuration.find_constraint("o") else {
            panic!("order o is gone");
        };
        let members: Vec<&[String]> = o.sets.iter().map(|s| s.resources.as_slice()).collect();
        assert_eq!(members, [&["a".to_string()][..], &["c".to_string()][..]]);
        apply_text(&mut cib, "delete c", Mode::Create).unwrap();
        assert!(cib.configuration.find_constraint("only").is_none());
        assert!(cib.configuration.find_constraint("o").is_some());
    }

    #[test]
    fn group_takes_only_free_primitives() {
        let mut cib = cib("primitive a Dummy\nprimitive b Dummy\ngroup g1 a\n");
        let error = apply_text(&mut cib, "group g2 b a", Mode::Create).unwrap_err();
        assert!(error.message.contains("already in group \"g1\""), "{error}");
        assert_eq!(error.pos.col, 12);
        let error = apply_text(&mut cib, "group g2 bb", Mode::Create).unwrap_err();
        assert!(error.message.contains("did you mean \"b\""), "{error}");
    }

    #[test]
    fn load_update_replaces_objects_in_place() {
        let mut cib = cib("primitive a Dummy\nprimitive b Dummy\ngroup g a b\n");
        apply_text(
            &mut cib,
            "primitive a Dummy params x=1\ngroup g b a\n",
            Mode::Update,
        )
        .unwrap();
        let text = crate::crm::render::show(&cib.configuration);
        assert!(
            text.contains("primitive a Dummy \\\n\tparams x=1\n"),
            "{text}"
        );
        assert!(text.contains("group g b a\n"), "{text}");
    }
}
