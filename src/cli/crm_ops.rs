//! `ha-crm status`, `ha-crm events` and the node and resource commands (one-shot, batch and
//! interactive alike): reading and changing the CIB through [`CibAccess`], a CIB file or the
//! live controller, and printing results as text or JSON.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use clap::Args;
use serde_json::{Value, json};

use super::{CliResult, Failure, print_json_ok};
use crate::crm::access::{AccessError, CibAccess, ModifyError};
use crate::crm::cib::Cib;
use crate::crm::ops::{self, OpsError};
use crate::crm::shell::{AttributeAction, NodeCommand, ResourceCommand};
use crate::crm::status_view::{ClusterStatus, LiveFacts, cluster_status};
use crate::paths::Paths;

/// The hint printed when the controller cannot be reached.
pub const UNREACHABLE_HINT: &str = "is the cluster stack running? (ha-ring with service crm)";

/// `ha-crm status` options.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Refresh in place on every cluster event (or every --interval) until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: the longest wait between refreshes.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub interval: String,
    /// With --watch: stop after this many refreshes.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Show the status recorded in a Pacemaker CIB XML file instead.
    #[arg(long, value_name = "FILE")]
    pub xml: Option<PathBuf>,
}

/// `ha-crm events` options.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Turns a CIB access error into a command failure: exit 3 with the cluster-stack hint when
/// the controller is out of reach or has no DC, else exit 1.
pub fn access_failure(error: AccessError) -> Failure {
    if error.is_unreachable() {
        return Failure::unreachable(anyhow!("{error}")).with_hint(UNREACHABLE_HINT);
    }
    match error {
        AccessError::Conflict(_) => Failure::failed(anyhow!("{error}"))
            .with_hint("the CIB was changed by someone else twice; run the command again"),
        other => Failure::failed(anyhow!("{other}")),
    }
}

fn ops_failure(error: OpsError) -> Failure {
    Failure::failed(anyhow!("{error}"))
}

fn io_failure(error: std::io::Error) -> Failure {
    Failure::failed(anyhow::Error::new(error))
}

/// The wall clock in epoch seconds.
pub fn wall_clock() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Everything a node or resource command needs.
pub struct OpsContext<'a> {
    /// Where the CIB is.
    pub access: CibAccess,
    /// Configuration and run directories (local node identity).
    pub paths: Paths,
    /// Print JSON.
    pub json: bool,
    /// Where results go.
    pub out: &'a mut dyn Write,
    /// In a batch, the CIB being built: changes go there and are committed with the batch.
    pub batch: Option<&'a mut Cib>,
}

impl OpsContext<'_> {
    fn read(&mut self) -> CliResult<Cib> {
        match &self.batch {
            Some(cib) => Ok((**cib).clone()),
            None => self.access.load().map_err(access_failure),
        }
    }

    /// Applies `edit` (committing at once unless in a batch); nothing changes on error.
    fn change<T>(&mut self, edit: impl FnMut(&mut Cib) -> Result<T, OpsError>) -> CliResult<T> {
        let mut edit = edit;
        if let Some(cib) = self.batch.as_deref_mut() {
            let mut next = cib.clone();
            let answer = edit(&mut next).map_err(ops_failure)?;
            *cib = next;
            return Ok(answer);
        }
        match self.access.modify(edit) {
            Ok((answer, _)) => Ok(answer),
            Err(ModifyError::Edit(error)) => Err(ops_failure(error)),
            Err(ModifyError::Access(error)) => Err(access_failure(error)),
        }
    }

    fn print(&mut self, text: &str) -> CliResult {
        self.out.write_all(text.as_bytes()).map_err(io_failure)
    }

    fn print_json(&mut self, data: &Value) -> CliResult {
        print_json_ok(self.out, data).map_err(io_failure)
    }

    /// The local node's name: the controller's own name when live; else the nodelist name
    /// of this machine in `ha.conf` (`HA_NODE_ID` picks one when several share it); else the
    /// host name, as `uname -n` prints it.
    fn local_node(&mut self) -> CliResult<String> {
        if !self.access.is_file() {
            return Ok(self.access.status().map_err(access_failure)?.node.name);
        }
        if let Some(name) = conf_node_name(&self.paths) {
            return Ok(name);
        }
        nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .map_err(|e| Failure::failed(anyhow!("cannot read the host name: {e}")))
    }
}

fn conf_node_name(paths: &Paths) -> Option<String> {
    let loaded = crate::conf::load(&paths.conf_file()).ok()?;
    let explicit = std::env::var(crate::paths::ENV_NODE_ID)
        .ok()
        .and_then(|v| v.parse().ok());
    let addresses = crate::sys::net::local_addresses().unwrap_or_default();
    crate::conf::identity::local_node(&loaded.conf, explicit, &addresses)
        .ok()?
        .name
}

/// Runs a resource-level command.
pub fn resource(ctx: &mut OpsContext<'_>, command: ResourceCommand) -> CliResult {
    let now = wall_clock();
    match command {
        ResourceCommand::Status(None) => {
            let cib = ctx.read()?;
            let status = cluster_status(&cib, now, None);
            if ctx.json {
                return ctx.print_json(&json!({ "resources": status.resources }));
            }
            let mut text = String::new();
            for r in &status.resources {
                text.push_str(&running_sentence(&r.id, &r.nodes));
            }
            ctx.print(&text)
        }
        ResourceCommand::Status(Some(rsc)) | ResourceCommand::Locate(rsc) => {
            let cib = ctx.read()?;
            let found = ops::locate(&cib, &rsc, now).map_err(ops_failure)?;
            if ctx.json {
                return ctx.print_json(&serde_json::to_value(&found).expect("serialisable"));
            }
            let mut text = running_sentence(&found.resource, &found.nodes);
            for member in &found.members {
                text.push_str("  ");
                text.push_str(&running_sentence(&member.resource, &member.nodes));
            }
            ctx.print(&text)
        }
        ResourceCommand::Start(rsc) => set_role(ctx, &rsc, "Started"),
        ResourceCommand::Stop(rsc) => set_role(ctx, &rsc, "Stopped"),
        ResourceCommand::Manage(rsc) => set_meta(ctx, &rsc, "is-managed", "true"),
        ResourceCommand::Unmanage(rsc) => set_meta(ctx, &rsc, "is-managed", "false"),
        ResourceCommand::Restart(rsc) => restart(ctx, &rsc),
        ResourceCommand::Move {
            rsc,
            node,
            lifetime,
        } => {
            let until = lifetime_end(lifetime.as_deref(), now)?;
            let placed =
                ctx.change(|cib| ops::move_resource(cib, &rsc, node.as_deref(), until, now))?;
            report_placed(ctx, &placed, node.is_none())
        }
        ResourceCommand::Ban {
            rsc,
            node,
            lifetime,
        } => {
            let until = lifetime_end(lifetime.as_deref(), now)?;
            let node = match node {
                Some(node) => node,
                None => {
                    let cib = ctx.read()?;
                    let found = ops::locate(&cib, &rsc, now).map_err(ops_failure)?;
                    match found.nodes.as_slice() {
                        [node] => node.clone(),
                        _ => {
                            return Err(Failure::failed(anyhow!(
                                "resource {rsc} does not run on exactly one node; give the node to ban it from"
                            )));
                        }
                    }
                }
            };
            let placed = ctx.change(|cib| ops::ban(cib, &rsc, &node, until))?;
            report_placed(ctx, &placed, true)
        }
        ResourceCommand::Clear { rsc, node } => {
            let removed = ctx.change(|cib| ops::clear(cib, &rsc, node.as_deref()))?;
            if ctx.json {
                return ctx.print_json(&json!({ "resource": rsc, "removed": removed }));
            }
            if removed.is_empty() {
                ctx.print(&format!("no move or ban constraints of {rsc} to remove\n"))
            } else {
                ctx.print(&format!("removed {}\n", removed.join(", ")))
            }
        }
        ResourceCommand::Cleanup { rsc, node } => cleanup(ctx, &rsc, node.as_deref()),
    }
}

fn running_sentence(rsc: &str, nodes: &[String]) -> String {
    if nodes.is_empty() {
        format!("resource {rsc} is NOT running\n")
    } else {
        format!("resource {rsc} is running on: {}\n", nodes.join(" "))
    }
}

fn lifetime_end(lifetime: Option<&str>, now: i64) -> CliResult<Option<i64>> {
    let Some(text) = lifetime else {
        return Ok(None);
    };
    let seconds = crate::crm::date::parse_lifetime(text).ok_or_else(|| {
        Failure::failed(anyhow!(
            "invalid lifetime \"{text}\" (an ISO 8601 duration such as PT1H or P1D, or 30min, 2h)"
        ))
    })?;
    Ok(Some(now.saturating_add(seconds as i64)))
}

fn report_placed(ctx: &mut OpsContext<'_>, placed: &ops::Placed, is_ban: bool) -> CliResult {
    if ctx.json {
        return ctx.print_json(&serde_json::to_value(placed).expect("serialisable"));
    }
    let what = if is_ban {
        format!("keeps {} off {}", placed.resource, placed.node)
    } else {
        format!("moves {} to {}", placed.resource, placed.node)
    };
    let until = match &placed.expires_at {
        Some(at) => format!(" until {at}"),
        None => String::new(),
    };
    ctx.print(&format!(
        "location constraint {} {what}{until}\nremove it with `ha-crm resource clear {}`{}\n",
        placed.constraint,
        placed.resource,
        if placed.expires_at.is_some() {
            " (it stops applying by itself when it expires)"
        } else {
            ""
        }
    ))
}

fn set_role(ctx: &mut OpsContext<'_>, rsc: &str, role: &str) -> CliResult {
    set_meta(ctx, rsc, "target-role", role)
}

fn set_meta(ctx: &mut OpsContext<'_>, rsc: &str, name: &str, value: &str) -> CliResult {
    ctx.change(|cib| ops::set_resource_meta(cib, rsc, name, value))?;
    if ctx.json {
        return ctx.print_json(&json!({ "resource": rsc, "meta": { name: value } }));
    }
    Ok(())
}

/// How long `restart` waits for the stop.
const RESTART_STOP_WAIT: Duration = Duration::from_secs(120);

fn restart(ctx: &mut OpsContext<'_>, rsc: &str) -> CliResult {
    if ctx.access.is_file() || ctx.batch.is_some() {
        return Err(Failure::failed(anyhow!(
            "resource restart needs a running cluster (it waits for the stop); on a CIB file use stop and start"
        )));
    }
    ctx.change(|cib| ops::set_resource_meta(cib, rsc, "target-role", "Stopped"))?;
    let deadline = Instant::now() + RESTART_STOP_WAIT;
    let stopped = loop {
        let cib = ctx.access.load().map_err(access_failure)?;
        let found = ops::locate(&cib, rsc, wall_clock()).map_err(ops_failure)?;
        if !found.running {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    ctx.change(|cib| ops::set_resource_meta(cib, rsc, "target-role", "Started"))?;
    if !stopped {
        return Err(Failure::failed(anyhow!(
            "resource {rsc} did not stop within {} s; it was asked to start again",
            RESTART_STOP_WAIT.as_secs()
        )));
    }
    if ctx.json {
        return ctx.print_json(&json!({ "resource": rsc, "restarted": true }));
    }
    ctx.print(&format!(
        "resource {rsc} stopped and asked to start again\n"
    ))
}

fn cleanup(ctx: &mut OpsContext<'_>, rsc: &str, node: Option<&str>) -> CliResult {
    let where_ = node.map_or("every node".to_string(), |n| n.to_string());
    if !ctx.access.is_file() && ctx.batch.is_none() {
        // Check the names first so a typo gets the same one-line answer as in file mode.
        let cib = ctx.read()?;
        // The controller forgets one primitive's history at a time: a group is its members.
        let ids = ops::primitive_ids(&cib.configuration, rsc).map_err(ops_failure)?;
        if let Some(node) = node {
            ops::check_node(&cib, node).map_err(ops_failure)?;
        }
        let mut client = ctx.access.client().map_err(access_failure)?;
        for id in &ids {
            client.cleanup(id, node).map_err(|e| {
                access_failure(match e {
                    crate::ipc::Error::Remote(body) if body.code == "unavailable" => {
                        AccessError::Unavailable(body.message)
                    }
                    crate::ipc::Error::Remote(body) => AccessError::Refused(body),
                    other => AccessError::Ipc(other),
                })
            })?;
        }
        if ctx.json {
            return ctx.print_json(&json!({ "resource": rsc, "node": node, "primitives": ids }));
        }
        return ctx.print(&format!("cleaned up {rsc} on {where_}\n"));
    }
    let cleaned = ctx.change(|cib| ops::cleanup(cib, rsc, node))?;
    if ctx.json {
        return ctx.print_json(&json!({ "resource": rsc, "node": node, "cleaned": cleaned }));
    }
    ctx.print(&format!(
        "cleaned up {rsc} on {where_}: history dropped on {} node{}, {} failure attribute{} removed\n",
        cleaned.history_on.len(),
        if cleaned.history_on.len() == 1 { "" } else { "s" },
        cleaned.attributes,
        if cleaned.attributes == 1 { "" } else { "s" },
    ))
}

/// Runs a node-level command.
pub fn node(ctx: &mut OpsContext<'_>, command: NodeCommand) -> CliResult {
    let (node, name, action) = match command {
        NodeCommand::Show => return node_list(ctx),
        NodeCommand::Standby(node) => (node, "standby", AttributeAction::Set("on".into())),
        NodeCommand::Online(node) => (node, "standby", AttributeAction::Set("off".into())),
        NodeCommand::Maintenance(node) => (node, "maintenance", AttributeAction::Set("on".into())),
        NodeCommand::Ready(node) => (node, "maintenance", AttributeAction::Set("off".into())),
        NodeCommand::Attribute { node, action, name } => {
            return attribute(ctx, &node, &name, action);
        }
    };
    let node = match node {
        Some(node) => node,
        None => ctx.local_node()?,
    };
    attribute(ctx, &node, name, action)
}

fn attribute(
    ctx: &mut OpsContext<'_>,
    node: &str,
    name: &str,
    action: AttributeAction,
) -> CliResult {
    match action {
        AttributeAction::Show => {
            let cib = ctx.read()?;
            let value = ops::node_attribute(&cib, node, name).map_err(ops_failure)?;
            match (value, ctx.json) {
                (value, true) => {
                    ctx.print_json(&json!({ "node": node, "name": name, "value": value }))
                }
                (Some(value), false) => ctx.print(&format!("{value}\n")),
                (None, false) => Err(Failure::failed(anyhow!(
                    "node {node} has no attribute {name}"
                ))),
            }
        }
        AttributeAction::Set(value) => {
            ctx.change(|cib| ops::set_node_attribute(cib, node, name, &value))?;
            if ctx.json {
                return ctx.print_json(&json!({ "node": node, "name": name, "value": value }));
            }
            Ok(())
        }
        AttributeAction::Delete => {
            let old = ctx.change(|cib| ops::delete_node_attribute(cib, node, name))?;
            if ctx.json {
                return ctx.print_json(&json!({ "node": node, "name": name, "deleted": old }));
            }
            Ok(())
        }
    }
}

fn node_list(ctx: &mut OpsContext<'_>) -> CliResult {
    let (cib, live) = read_with_facts(ctx)?;
    let status = cluster_status(&cib, wall_clock(), live.as_ref());
    let mut nodes = status.nodes.clone();
    if let Some(live) = &live {
        for node in &mut nodes {
            node.online = live.members.contains(&node.name);
        }
    }
    if ctx.json {
        let list: Vec<Value> = nodes
            .iter()
            .map(|n| {
                let attributes = cib
                    .configuration
                    .find_node(&n.name)
                    .map(|c| serde_json::to_value(&c.attributes).expect("serialisable"))
                    .unwrap_or_else(|| json!({}));
                let mut value = serde_json::to_value(n).expect("serialisable");
                value["attributes"] = attributes;
                value
            })
            .collect();
        return ctx.print_json(&json!({ "nodes": list }));
    }
    let width = nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for n in &nodes {
        let state = match (n.online, n.standby, n.maintenance) {
            (_, _, true) if n.online => "maintenance",
            (true, true, _) => "standby",
            (true, false, _) => "online",
            (false, _, _) => "OFFLINE",
        };
        let attributes: Vec<String> = cib
            .configuration
            .find_node(&n.name)
            .map(|c| {
                c.attributes
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "{:width$}  {:>4}  {:11}  {}\n",
            n.name,
            n.id,
            state,
            attributes.join(" ")
        ));
    }
    ctx.print(
        &text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n"),
    )?;
    if !text.is_empty() {
        ctx.print("\n")?;
    }
    Ok(())
}

/// The CIB and, when live, the controller's view of membership.
fn read_with_facts(ctx: &mut OpsContext<'_>) -> CliResult<(Cib, Option<LiveFacts>)> {
    if ctx.batch.is_some() || ctx.access.is_file() {
        return Ok((ctx.read()?, None));
    }
    let snapshot = ctx.access.status().map_err(access_failure)?;
    let facts = LiveFacts {
        dc: snapshot.dc.map(|m| m.name),
        quorate: snapshot.quorate,
        members: snapshot.members.into_iter().map(|m| m.name).collect(),
    };
    Ok((*snapshot.cib, Some(facts)))
}

/// Takes the status from the CIB file, an XML file or the controller.
fn take_status(access: &CibAccess, xml: Option<&PathBuf>) -> CliResult<(ClusterStatus, i64)> {
    let (cib, live) = if let Some(path) = xml {
        let source = super::crm_simulate::CibSource {
            xml: Some(path.clone()),
            cib_file: None,
        };
        (super::crm_simulate::load_cib(&source)?, None)
    } else if access.is_file() {
        (access.load().map_err(access_failure)?, None)
    } else {
        let snapshot = access.status().map_err(access_failure)?;
        let facts = LiveFacts {
            dc: snapshot.dc.map(|m| m.name),
            quorate: snapshot.quorate,
            members: snapshot.members.into_iter().map(|m| m.name).collect(),
        };
        (*snapshot.cib, Some(facts))
    };
    // A recorded execution date (saved cluster snapshots) is the "now" the status was taken.
    let now = cib.status.execution_date.unwrap_or_else(wall_clock);
    Ok((cluster_status(&cib, now, live.as_ref()), now))
}

fn print_status(out: &mut dyn Write, status: &ClusterStatus, json: bool) -> CliResult {
    if json {
        print_json_ok(out, status).map_err(io_failure)
    } else {
        out.write_all(status.text().as_bytes()).map_err(io_failure)
    }
}

fn failed_exit(status: &ClusterStatus) -> CliResult {
    if !status.failed {
        return Ok(());
    }
    let n = status.failed_actions.len();
    Err(Failure::failed(anyhow!(
        "{n} failed resource action{} (`ha-crm resource cleanup RSC` once fixed)",
        if n == 1 { "" } else { "s" }
    )))
}

/// `status` typed in the shell: one snapshot.
pub fn status_once(access: &CibAccess, json: bool, out: &mut dyn Write) -> CliResult {
    let (status, _) = take_status(access, None)?;
    print_status(out, &status, json)?;
    failed_exit(&status)
}

/// `ha-crm status`: crm_mon -1 (or crm_mon with `--watch`).
pub fn run_status(
    args: &StatusArgs,
    access: &CibAccess,
    json: bool,
    out: &mut dyn Write,
) -> CliResult {
    if !args.watch {
        let (status, _) = take_status(access, args.xml.as_ref())?;
        print_status(out, &status, json)?;
        return failed_exit(&status);
    }
    let interval = crate::crm::cib::parse_duration_ms(&args.interval)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| Failure::usage(anyhow!("invalid --interval \"{}\"", args.interval)))?;
    // Events wake the refresh early when the controller is there; a file is re-read on the
    // interval.
    let live = !access.is_file() && args.xml.is_none();
    let mut events = if live {
        Some(subscribe(access, interval)?)
    } else {
        None
    };
    let rounds = args.count.unwrap_or(u64::MAX);
    for round in 0..rounds {
        let (status, _) = take_status(access, args.xml.as_ref())?;
        if json {
            print_status(out, &status, true)?;
        } else {
            // Home the cursor and clear the screen, as crm_mon redraws.
            let text = format!("\x1b[H\x1b[2J{}", status.text());
            out.write_all(text.as_bytes()).map_err(io_failure)?;
        }
        out.flush().map_err(io_failure)?;
        if round + 1 == rounds {
            return failed_exit(&status);
        }
        match events.as_mut() {
            Some(client) => match client.next_event() {
                Ok(Some(_)) => {
                    // Let a burst of events settle into one refresh.
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(None) => {
                    return Err(Failure::unreachable(anyhow!(
                        "the controller closed the event stream"
                    ))
                    .with_hint(UNREACHABLE_HINT));
                }
                // A timed-out connection may hold half a line: start a fresh subscription.
                Err(crate::ipc::Error::Timeout(_)) => events = Some(subscribe(access, interval)?),
                Err(e) => return Err(access_failure(AccessError::Ipc(e))),
            },
            None => std::thread::sleep(interval),
        }
    }
    Ok(())
}

/// A connection subscribed to the controller's events, waiting at most `wait` per read.
fn subscribe(access: &CibAccess, wait: Duration) -> CliResult<crate::crm::client::CrmClient> {
    let mut client = access.client().map_err(access_failure)?;
    client
        .subscribe()
        .map_err(|e| access_failure(AccessError::Ipc(e)))?;
    client
        .set_timeout(wait)
        .map_err(|e| access_failure(AccessError::Ipc(e)))?;
    Ok(client)
}

/// `ha-crm events`: the controller's event stream, one line per event.
pub fn run_events(
    args: &EventsArgs,
    access: &CibAccess,
    json: bool,
    out: &mut dyn Write,
) -> CliResult {
    if access.is_file() {
        return Err(Failure::failed(anyhow!(
            "events come from a running cluster; a CIB file has none"
        )));
    }
    // Events may be far apart: wait long, but not forever, between reads.
    let patience = Duration::from_secs(3600);
    let mut client = subscribe(access, patience)?;
    let rounds = args.count.unwrap_or(u64::MAX);
    let mut seen = 0;
    while seen < rounds {
        let event = match client.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => {
                return Err(Failure::unreachable(anyhow!(
                    "the controller closed the event stream"
                ))
                .with_hint(UNREACHABLE_HINT));
            }
            Err(crate::ipc::Error::Timeout(_)) => {
                client = subscribe(access, patience)?;
                continue;
            }
            Err(e) => return Err(access_failure(AccessError::Ipc(e))),
        };
        seen += 1;
        let line = if json {
            event.to_string()
        } else {
            event_text(&event)
        };
        writeln!(out, "{line}").map_err(io_failure)?;
        out.flush().map_err(io_failure)?;
    }
    Ok(())
}

/// One event as a line for people: the type, then its fields as `name=value`.
pub fn event_text(event: &Value) -> String {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("event");
    let mut line = kind.to_string();
    if let Some(fields) = event.as_object() {
        for (name, value) in fields {
            if name == "type" {
                continue;
            }
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            line.push_str(&format!(" {name}={value}"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_name_the_type_then_fields() {
        let event = json!({"type":"op_result","node":"node1","rsc":"vip","rc":0});
        assert_eq!(event_text(&event), "op_result node=node1 rc=0 rsc=vip");
    }
}
