//! Resource sets in colocation and order constraints, expanded into the pairwise colocations
//! and orderings they stand for. Pure functions of the constraint; `unpack` maps the names to
//! resources and creates the `one-or-more` pseudo-actions.
//!
//! Colocation sets: within a sequential set each member is placed with the one before it
//! (`a b c`: b with a, c with b); with a negative score every member avoids every earlier one.
//! Between sets, the earlier set is placed with the later one: the first member of a
//! sequential earlier set (else every member) with the last member of a sequential later set
//! (else every member).
//!
//! Order sets: a sequential set's members act one after the other (a Serialize set: every
//! member before every later one); between sets, the last member of an earlier set whose
//! `sequential` is explicitly true (else every member) before the first member of a later set
//! whose `sequential` is explicitly true (else every member). A set with `require-all=false`
//! goes through a pseudo-action `one-or-more:<set id>` that is runnable once one member's
//! action is. Symmetrical orders add the reverse for the inverse actions (stops after stops
//! in reverse), where `require-all=false` no longer applies.

use super::super::cib::{ColocationSet, OrderKind, OrderSet, ResourceSet};
use super::super::score::Score;
use super::actions::flags;
use super::task::Task;

/// One colocation a set constraint stands for: `dependent` placed with `primary`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetColocation<'a> {
    pub(super) dependent: &'a str,
    pub(super) primary: &'a str,
    pub(super) score: Score,
}

/// The pairwise colocations of a colocation set constraint, in Pacemaker's creation order.
pub(super) fn expand_colocation(c: &ColocationSet) -> Vec<SetColocation<'_>> {
    let mut out = Vec::new();
    let score = c.score;
    if score == Score::ZERO {
        return out;
    }
    for (index, set) in c.sets.iter().enumerate() {
        within_colocation_set(set, score, &mut out);
        if index > 0 {
            between_colocation_sets(&c.sets[index - 1], set, score, &mut out);
        }
    }
    out
}

fn within_colocation_set<'a>(set: &'a ResourceSet, score: Score, out: &mut Vec<SetColocation<'a>>) {
    if set.sequential == Some(false) {
        return;
    }
    let members = &set.resources;
    if score > Score::ZERO {
        // The deprecated `ordering` other than `group` colocates with the next member instead.
        let with_previous = set
            .ordering
            .as_deref()
            .is_none_or(|o| o.eq_ignore_ascii_case("group"));
        for pair in members.windows(2) {
            let (earlier, later) = (pair[0].as_str(), pair[1].as_str());
            let (dependent, primary) = if with_previous {
                (later, earlier)
            } else {
                (earlier, later)
            };
            out.push(SetColocation {
                dependent,
                primary,
                score,
            });
        }
    } else {
        // Anti-colocation with every earlier member keeps any two members apart.
        for (index, member) in members.iter().enumerate() {
            for earlier in members[..index].iter().take_while(|e| *e != member) {
                out.push(SetColocation {
                    dependent: member,
                    primary: earlier,
                    score,
                });
            }
        }
    }
}

fn between_colocation_sets<'a>(
    dependent_set: &'a ResourceSet,
    primary_set: &'a ResourceSet,
    score: Score,
    out: &mut Vec<SetColocation<'a>>,
) {
    let dependents: Vec<&str> = if dependent_set.sequential != Some(false) {
        dependent_set
            .resources
            .first()
            .map(String::as_str)
            .into_iter()
            .collect()
    } else {
        dependent_set.resources.iter().map(String::as_str).collect()
    };
    let primaries: Vec<&str> = if primary_set.sequential != Some(false) {
        primary_set
            .resources
            .last()
            .map(String::as_str)
            .into_iter()
            .collect()
    } else {
        primary_set.resources.iter().map(String::as_str).collect()
    };
    for dependent in &dependents {
        for primary in &primaries {
            out.push(SetColocation {
                dependent,
                primary,
                score,
            });
        }
    }
}

/// One end of an ordering a set constraint stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SetEnd<'a> {
    /// A member's action.
    Member(&'a str, Task),
    /// The `one-or-more:<set id>` pseudo-action (runnable once one member's action is).
    OneOrMore(String),
}

/// One ordering a set constraint stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SetOrder<'a> {
    pub(super) first: SetEnd<'a>,
    pub(super) then: SetEnd<'a>,
    pub(super) flags: u32,
}

/// Why an order set constraint cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UnknownAction(pub(super) String);

/// The orderings of an order set constraint, in Pacemaker's creation order.
pub(super) fn expand_order(o: &OrderSet) -> Result<Vec<SetOrder<'_>>, UnknownAction> {
    let kind = o.kind;
    let symmetric = o.symmetrical.unwrap_or(true) && kind != OrderKind::Serialize;
    let mut tasks = Vec::with_capacity(o.sets.len());
    for set in &o.sets {
        let name = set.action.as_deref().unwrap_or("start");
        let task = Task::from_order_action(name).ok_or_else(|| UnknownAction(name.into()))?;
        tasks.push(task);
    }
    let mut out = Vec::new();
    for (index, set) in o.sets.iter().enumerate() {
        within_order_set(set, tasks[index], kind, symmetric, &mut out);
        if index > 0 {
            let (earlier, earlier_task) = (&o.sets[index - 1], tasks[index - 1]);
            let earlier_id = earlier.id_in(&o.id, index - 1);
            let later_id = set.id_in(&o.id, index);
            let forward = SetSide {
                set: earlier,
                id: &earlier_id,
                task: earlier_task,
            };
            let backward = SetSide {
                set,
                id: &later_id,
                task: tasks[index],
            };
            between_order_sets(&forward, &backward, kind, symmetric, false, &mut out);
            if symmetric {
                between_order_sets(&backward, &forward, kind, symmetric, true, &mut out);
            }
        }
    }
    Ok(out)
}

fn member(name: &str, task: Task) -> SetEnd<'_> {
    SetEnd::Member(name, task)
}

fn within_order_set<'a>(
    set: &'a ResourceSet,
    task: Task,
    kind: OrderKind,
    symmetric: bool,
    out: &mut Vec<SetOrder<'a>>,
) {
    let members = &set.resources;
    if members.len() == 1 {
        return;
    }
    let sequential = set.sequential != Some(false);
    let f = flags::for_kind(kind, task, symmetric, false);
    for (index, then) in members.iter().enumerate() {
        if kind == OrderKind::Serialize {
            for later in &members[index + 1..] {
                out.push(SetOrder {
                    first: member(then, task),
                    then: member(later, task),
                    flags: f,
                });
            }
        } else if sequential && index > 0 {
            out.push(SetOrder {
                first: member(&members[index - 1], task),
                then: member(then, task),
                flags: f,
            });
        }
    }
    let Some(inverse) = task.inverse().filter(|_| symmetric && sequential) else {
        return;
    };
    let f = flags::for_kind(kind, inverse, true, true);
    for pair in members.windows(2) {
        out.push(SetOrder {
            first: member(&pair[1], inverse),
            then: member(&pair[0], inverse),
            flags: f,
        });
    }
}

/// A set as one side of an ordering between two sets.
struct SetSide<'s, 'a> {
    set: &'a ResourceSet,
    id: &'s str,
    task: Task,
}

fn between_order_sets<'a>(
    first: &SetSide<'_, 'a>,
    then: &SetSide<'_, 'a>,
    kind: OrderKind,
    symmetric: bool,
    inverse: bool,
    out: &mut Vec<SetOrder<'a>>,
) {
    let invert = |task: Task| {
        if inverse {
            task.inverse().unwrap_or(task)
        } else {
            task
        }
    };
    let (task1, task2) = (invert(first.task), invert(then.task));
    // `require-all=false` is about starting (or promoting): stopping still waits for all.
    let require_all =
        first.set.require_all != Some(false) || matches!(task1, Task::Stop | Task::Demote);
    let f = flags::for_kind(kind, task1, symmetric, inverse);
    if !require_all {
        let name = format!("one-or-more:{}", first.id);
        for rsc in &first.set.resources {
            out.push(SetOrder {
                first: member(rsc, task1),
                then: SetEnd::OneOrMore(name.clone()),
                flags: flags::MIN_RUNNABLE | flags::FIRST_IMPLIES_THEN_GRAPHED,
            });
        }
        for rsc in &then.set.resources {
            out.push(SetOrder {
                first: SetEnd::OneOrMore(name.clone()),
                then: member(rsc, task2),
                flags: f | flags::UNRUNNABLE_FIRST_BLOCKS,
            });
        }
        return;
    }
    // Only an explicit `sequential=true` narrows a set to one end here.
    let ends = |set: &'a ResourceSet, take_last: bool| -> Vec<&'a str> {
        let all = set.resources.iter().map(String::as_str);
        if set.sequential != Some(true) {
            return all.collect();
        }
        let end = if take_last {
            set.resources.last()
        } else {
            set.resources.first()
        };
        end.map(String::as_str).into_iter().collect()
    };
    let firsts = ends(first.set, !inverse);
    let thens = ends(then.set, inverse);
    for rsc1 in &firsts {
        for rsc2 in &thens {
            out.push(SetOrder {
                first: member(rsc1, task1),
                then: member(rsc2, task2),
                flags: f,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(members: &[&str]) -> ResourceSet {
        ResourceSet {
            id: None,
            resources: members.iter().map(|m| m.to_string()).collect(),
            sequential: None,
            require_all: None,
            role: None,
            action: None,
            ordering: None,
        }
    }

    fn pairs(c: &ColocationSet) -> Vec<(String, String)> {
        expand_colocation(c)
            .into_iter()
            .map(|p| (p.dependent.to_string(), p.primary.to_string()))
            .collect()
    }

    fn p(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn a_sequential_colocation_set_places_each_member_with_the_previous_one() {
        let c = ColocationSet {
            id: "c".into(),
            score: Score::INFINITY,
            sets: vec![set(&["a", "b", "c"])],
        };
        assert_eq!(pairs(&c), vec![p("b", "a"), p("c", "b")]);
    }

    #[test]
    fn a_negative_colocation_set_keeps_every_pair_apart() {
        let c = ColocationSet {
            id: "c".into(),
            score: Score::NEG_INFINITY,
            sets: vec![set(&["a", "b", "c"])],
        };
        assert_eq!(pairs(&c), vec![p("b", "a"), p("c", "a"), p("c", "b")]);
    }

    #[test]
    fn an_earlier_colocation_set_is_placed_with_the_later_one() {
        let mut unordered = set(&["c", "d"]);
        unordered.sequential = Some(false);
        let c = ColocationSet {
            id: "c".into(),
            score: Score::INFINITY,
            sets: vec![unordered, set(&["a", "b"])],
        };
        // Within (a b): b with a; between: c and d each with b, the last of the later set.
        assert_eq!(pairs(&c), vec![p("b", "a"), p("c", "b"), p("d", "b")]);
        let c = ColocationSet {
            id: "c".into(),
            score: Score::INFINITY,
            sets: vec![set(&["x", "y"]), set(&["a", "b"])],
        };
        assert_eq!(pairs(&c), vec![p("y", "x"), p("b", "a"), p("x", "b")]);
    }

    fn order(sets: Vec<ResourceSet>) -> OrderSet {
        OrderSet {
            id: "o".into(),
            kind: OrderKind::Mandatory,
            symmetrical: None,
            score: None,
            sets,
        }
    }

    fn show(end: &SetEnd<'_>) -> String {
        match end {
            SetEnd::Member(rsc, task) => format!("{rsc}_{task}"),
            SetEnd::OneOrMore(name) => name.clone(),
        }
    }

    fn edges(o: &OrderSet) -> Vec<String> {
        expand_order(o)
            .unwrap()
            .iter()
            .map(|e| format!("{} -> {}", show(&e.first), show(&e.then)))
            .collect()
    }

    #[test]
    fn a_sequential_order_set_chains_starts_and_reverses_stops() {
        assert_eq!(
            edges(&order(vec![set(&["a", "b", "c"])])),
            vec![
                "a_start -> b_start",
                "b_start -> c_start",
                "b_stop -> a_stop",
                "c_stop -> b_stop",
            ]
        );
    }

    #[test]
    fn unordered_sets_order_every_member_of_one_before_every_member_of_the_next() {
        let mut first = set(&["a", "b"]);
        first.sequential = Some(false);
        let mut o = order(vec![first, set(&["c"])]);
        o.symmetrical = Some(false);
        assert_eq!(edges(&o), vec!["a_start -> c_start", "b_start -> c_start"]);
    }

    #[test]
    fn explicitly_sequential_sets_are_joined_at_their_ends() {
        let mut first = set(&["a", "b"]);
        first.sequential = Some(true);
        let mut second = set(&["c", "d"]);
        second.sequential = Some(true);
        let mut o = order(vec![first, second]);
        o.symmetrical = Some(false);
        assert_eq!(
            edges(&o),
            vec![
                "a_start -> b_start",
                "c_start -> d_start",
                "b_start -> c_start"
            ]
        );
    }

    #[test]
    fn require_all_false_goes_through_a_one_or_more_pseudo_action() {
        let mut any = set(&["b", "c"]);
        any.id = Some("any".into());
        any.sequential = Some(false);
        any.require_all = Some(false);
        let o = order(vec![set(&["a"]), any, set(&["d"])]);
        let out = expand_order(&o).unwrap();
        let text: Vec<String> = out
            .iter()
            .map(|e| format!("{} -> {}", show(&e.first), show(&e.then)))
            .collect();
        assert_eq!(
            text,
            vec![
                "a_start -> b_start",
                "a_start -> c_start",
                "b_stop -> a_stop",
                "c_stop -> a_stop",
                "b_start -> one-or-more:any",
                "c_start -> one-or-more:any",
                "one-or-more:any -> d_start",
                "d_stop -> b_stop",
                "d_stop -> c_stop",
            ]
        );
        assert_eq!(
            out[4].flags,
            flags::MIN_RUNNABLE | flags::FIRST_IMPLIES_THEN_GRAPHED
        );
        assert_ne!(out[6].flags & flags::UNRUNNABLE_FIRST_BLOCKS, 0);
    }

    #[test]
    fn an_unknown_set_action_is_refused() {
        let mut odd = set(&["a", "b"]);
        odd.action = Some("migrate".into());
        assert_eq!(
            expand_order(&order(vec![odd])),
            Err(UnknownAction("migrate".into()))
        );
    }
}
