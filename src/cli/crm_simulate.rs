//! `ha-crm simulate` and `ha-crm explain`: run the scheduler on a CIB file (Pacemaker XML or
//! the JSON store), optionally after what-if changes, and print what it decided and why.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;

use super::{CliResult, Failure, print_json_ok};
use crate::crm::cib::{Cib, NodeState, NvList, OpRecord, ResourceHistory};
use crate::crm::scheduler::{Explanation, Transition, effective_now, schedule_explained, simulate};
use crate::crm::xml::parse_cib;

/// Where the CIB comes from.
#[derive(Debug, Clone, Args)]
pub struct CibSource {
    /// Pacemaker CIB XML file to read (instead of the CIB file).
    #[arg(long, value_name = "FILE")]
    pub xml: Option<PathBuf>,
    /// hakit CIB store (JSON, or XML when it starts with `<`): the global `--cib-file` /
    /// `HA_CIB_FILE`, filled in by `cli::crm`.
    #[arg(skip)]
    pub cib_file: Option<PathBuf>,
}

/// `ha-crm simulate`: what the cluster would do now (like `crm_simulate -S`).
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Input CIB.
    #[command(flatten)]
    pub source: CibSource,
    /// Also print the allocation score of every resource on every node.
    #[arg(long)]
    pub show_scores: bool,
    /// What if this node went down cleanly (repeatable).
    #[arg(long, value_name = "NODE")]
    pub node_down: Vec<String>,
    /// What if this node came up (repeatable).
    #[arg(long, value_name = "NODE")]
    pub node_up: Vec<String>,
    /// What if this node were put in standby (repeatable).
    #[arg(long, value_name = "NODE")]
    pub standby: Vec<String>,
    /// What if an operation returned RC: `RSC_OP_INTERVAL@NODE=RC`, e.g. `vip_monitor_10000@node1=7`.
    #[arg(long, value_name = "RSC_OP_INTERVAL@NODE=RC")]
    pub op_fail: Vec<String>,
    /// "Now" as epoch seconds (default: the CIB's execution-date, else the clock).
    #[arg(long, value_name = "EPOCH")]
    pub now: Option<i64>,
}

/// `ha-crm explain RSC`: every score term per node and why the resource is where it is.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Resource (primitive or group) to explain.
    pub resource: String,
    /// Input CIB.
    #[command(flatten)]
    pub source: CibSource,
    /// "Now" as epoch seconds (default: the CIB's execution-date, else the clock).
    #[arg(long, value_name = "EPOCH")]
    pub now: Option<i64>,
}

/// Reads a CIB from XML or the JSON store. Errors name the file and line.
pub fn load_cib(source: &CibSource) -> CliResult<Cib> {
    let (path, xml_expected) = match (&source.xml, &source.cib_file) {
        (Some(p), _) => (p, true),
        (None, Some(p)) => (p, false),
        (None, None) => {
            return Err(Failure::usage(anyhow!(
                "no input: give --xml FILE or --cib-file FILE"
            )));
        }
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::failed)?;
    parse_cib_text(path, &text, xml_expected).map_err(Failure::failed)
}

fn parse_cib_text(path: &Path, text: &str, xml_expected: bool) -> anyhow::Result<Cib> {
    if xml_expected || text.trim_start().starts_with('<') {
        return parse_cib(text)
            .map_err(|e| anyhow!("{}:{}: {}", path.display(), e.line, e.message));
    }
    crate::crm::store::decode(text.as_bytes()).map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Runs `simulate`, writing to `out`.
pub fn run_simulate(args: &SimulateArgs, json: bool, out: &mut dyn Write) -> CliResult {
    let mut cib = load_cib(&args.source)?;
    let now = args
        .now
        .unwrap_or_else(|| effective_now(&cib, wall_clock()));
    apply_what_if(&mut cib, args, now).map_err(Failure::usage)?;
    let transition = simulate(&cib, now);
    if json {
        print_json_ok(out, &transition).map_err(Failure::failed)?;
        return Ok(());
    }
    write_simulate(out, &transition, args.show_scores).map_err(Failure::failed)
}

fn write_simulate(out: &mut dyn Write, t: &Transition, scores: bool) -> std::io::Result<()> {
    write!(out, "{}", t.preamble())?;
    writeln!(out, "Current cluster status:")?;
    write!(out, "{}", t.current_status())?;
    writeln!(out)?;
    if scores {
        writeln!(out, "Allocation scores:")?;
        write!(out, "{}", t.scores_text())?;
        writeln!(out)?;
    }
    write!(out, "{}", t.summary_block())?;
    writeln!(out)?;
    writeln!(out, "Executing Cluster Transition:")?;
    write!(out, "{}", t.executing_block())?;
    writeln!(out)?;
    writeln!(out, "Revised Cluster Status:")?;
    write!(out, "{}", t.revised_status())?;
    for note in &t.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// Runs `explain`, writing to `out`.
pub fn run_explain(args: &ExplainArgs, json: bool, out: &mut dyn Write) -> CliResult {
    let cib = load_cib(&args.source)?;
    let now = args
        .now
        .unwrap_or_else(|| effective_now(&cib, wall_clock()));
    let transition = schedule_explained(&cib, now);
    let Some(explanation) = transition.explain(&args.resource) else {
        return Err(Failure::failed(anyhow!(
            "unknown resource {:?} (not a primitive or group in this CIB)",
            args.resource
        )));
    };
    if json {
        print_json_ok(out, &explanation).map_err(Failure::failed)?;
        return Ok(());
    }
    write_explanation(out, &explanation).map_err(Failure::failed)
}

fn write_explanation(out: &mut dyn Write, e: &Explanation) -> std::io::Result<()> {
    writeln!(out, "{}", e.why)?;
    let current = if e.current.is_empty() {
        "stopped".to_string()
    } else {
        e.current.join(", ")
    };
    let next = e.node.clone().unwrap_or_else(|| "stopped".to_string());
    writeln!(out, "now: {current}; next: {next}")?;
    for node in &e.scores {
        let state = match &node.unavailable {
            Some(why) => format!("  (cannot run resources: {why})"),
            None => String::new(),
        };
        writeln!(
            out,
            "{:<20} {:>10}{state}",
            node.node,
            node.score.to_string()
        )?;
        if node.terms.is_empty() {
            writeln!(out, "    (no constraints: base score 0)")?;
        }
        for term in &node.terms {
            let sign = if term.score.value() >= 0 && !term.score.is_neg_infinity() {
                "+"
            } else {
                ""
            };
            writeln!(
                out,
                "    {sign}{:<10} {}",
                term.score.to_string(),
                term.source
            )?;
        }
    }
    Ok(())
}

/// Applies the what-if flags to the CIB (status changes as crm_simulate's injections).
fn apply_what_if(cib: &mut Cib, args: &SimulateArgs, now: i64) -> anyhow::Result<()> {
    for name in &args.node_down {
        let state = node_state(cib, name)?;
        state.in_ccm = Some("false".into());
        state.crmd = Some("offline".into());
        state.join = Some("down".into());
        state.expected = Some("down".into());
    }
    for name in &args.node_up {
        let state = node_state(cib, name)?;
        state.in_ccm = Some("true".into());
        state.crmd = Some("online".into());
        state.join = Some("member".into());
        state.expected = Some("member".into());
    }
    for name in &args.standby {
        let node = cib
            .configuration
            .nodes
            .iter_mut()
            .find(|n| &n.uname == name)
            .ok_or_else(|| anyhow!("--standby: unknown node {name:?}"))?;
        node.attributes.set("standby", "on");
    }
    for spec in &args.op_fail {
        inject_op(cib, spec, now)?;
    }
    Ok(())
}

fn node_state<'a>(cib: &'a mut Cib, name: &str) -> anyhow::Result<&'a mut NodeState> {
    let node = cib
        .configuration
        .nodes
        .iter()
        .find(|n| n.uname == name)
        .ok_or_else(|| anyhow!("unknown node {name:?}"))?
        .clone();
    let index = match cib.status.nodes.iter().position(|s| s.id == node.id) {
        Some(i) => i,
        None => {
            cib.status.nodes.push(NodeState {
                id: node.id.clone(),
                uname: node.uname.clone(),
                ..NodeState::default()
            });
            cib.status.nodes.len() - 1
        }
    };
    Ok(&mut cib.status.nodes[index])
}

/// `RSC_OP_INTERVAL@NODE=RC`: records the result and bumps the fail count when it failed.
fn inject_op(cib: &mut Cib, spec: &str, now: i64) -> anyhow::Result<()> {
    let bad = || anyhow!("--op-fail {spec:?}: expected RSC_OP_INTERVAL@NODE=RC");
    let (key, rc) = spec.rsplit_once('=').ok_or_else(bad)?;
    let rc: i32 = rc.trim().parse().map_err(|_| bad())?;
    let (key, node) = key.rsplit_once('@').ok_or_else(bad)?;
    let (rest, interval) = key.rsplit_once('_').ok_or_else(bad)?;
    let interval_ms: u64 = interval.parse().map_err(|_| bad())?;
    let (rsc, operation) = rest.rsplit_once('_').ok_or_else(bad)?;
    let primitive = cib
        .configuration
        .find_primitive(rsc)
        .ok_or_else(|| anyhow!("--op-fail: unknown primitive {rsc:?}"))?
        .clone();
    let state = node_state(cib, node)?;
    let next_call = state
        .resources
        .iter()
        .flat_map(|r| r.ops.iter().map(|o| o.call_id))
        .max()
        .unwrap_or(0)
        + 1;
    let expected = if operation == "monitor" && interval_ms == 0 {
        7
    } else {
        0
    };
    let history = match state.resources.iter().position(|r| r.id == rsc) {
        Some(i) => &mut state.resources[i],
        None => {
            state.resources.push(ResourceHistory {
                id: rsc.to_string(),
                class: primitive.class.clone(),
                provider: primitive.provider.clone(),
                kind: primitive.kind.clone(),
                ops: Vec::new(),
            });
            state.resources.last_mut().expect("just pushed")
        }
    };
    history.ops.push(OpRecord {
        id: format!("{rsc}_{operation}_{interval_ms}"),
        operation: operation.to_string(),
        interval_ms,
        call_id: next_call,
        rc_code: rc,
        op_status: if rc == expected { 0 } else { 4 },
        last_rc_change: Some(now),
        last_run: Some(now),
        transition_key: Some(format!("0:0:{expected}:what-if")),
        on_node: Some(node.to_string()),
        ..OpRecord::default()
    });
    if rc != expected {
        let attrs: &mut NvList = &mut state.transient_attributes;
        let name = format!("fail-count-{rsc}#{operation}_{interval_ms}");
        let count = attrs
            .get(&name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        attrs.set(name, (count + 1).to_string());
        attrs.set(
            format!("last-failure-{rsc}#{operation}_{interval_ms}"),
            now.to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_fail_spec_is_parsed_with_underscores_in_ids() {
        let xml = r#"<cib><configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes>
            <resources><primitive id="my_vip" class="ocf" provider="heartbeat" type="IPaddr2"/></resources>
            <constraints/></configuration><status/></cib>"#;
        let mut cib = parse_cib(xml).unwrap();
        inject_op(&mut cib, "my_vip_monitor_10000@n1=7", 100).unwrap();
        let state = &cib.status.nodes[0];
        assert_eq!(state.resources[0].ops[0].operation, "monitor");
        assert_eq!(state.resources[0].ops[0].interval_ms, 10_000);
        assert_eq!(
            state
                .transient_attributes
                .get("fail-count-my_vip#monitor_10000"),
            Some("1")
        );
        assert!(inject_op(&mut cib, "garbage", 100).is_err());
        assert!(inject_op(&mut cib, "nope_start_0@n1=1", 100).is_err());
    }
}
