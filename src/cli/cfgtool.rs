//! `ha-cfgtool`: the cluster configuration (check, show, export, import).
//!
//! Subcommands are one enum so ring commands (status, members, quorum, shutdown, reload,
//! sync, doctor) can sit beside `config`. The `config` commands work without a running ring.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};

use super::{CliResult, Failure, print_json_failed_report, print_json_ok};
use crate::conf::authkey::{AuthKey, KEY_FILE_MODE, hex, unhex};
use crate::conf::identity::{self, LocalNode};
use crate::conf::model::Encryption;
use crate::conf::{self, ConfError, Diagnostic, HaConf, Loaded, MAX_CONF_BYTES};
use crate::paths::Paths;
use crate::sys::fs::{create_atomic, write_atomic};

/// Ring status, members, quorum and cluster configuration tools.
///
/// `config` reads $HA_CONF_DIR/ha.conf (default /etc/ha/ha.conf) unless a FILE is given.
/// Exit status: 0 ok, 1 failed (bad configuration included; nothing changed), 2 usage,
/// 3 daemon not reachable.
#[derive(Debug, Parser)]
#[command(name = "ha-cfgtool", version)]
pub struct Args {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// This node's id, where several nodes share a machine (else found by address).
    #[arg(long, global = true, env = "HA_NODE_ID", value_name = "ID")]
    pub node_id: Option<u32>,

    /// Show the ring status (same as the `status` subcommand; like corosync-cfgtool -s).
    #[arg(short = 's', long = "status")]
    pub status_flag: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `ha-cfgtool` subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check, show, export or import the cluster configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Ring status of this node: node id, ring id, interface state (needs ha-ring).
    Status,
    /// Members of the current ring: id, name, address, votes, time in the ring.
    Members,
    /// Quorum: expected and total votes, quorate, flags (like corosync-quorumtool -s).
    Quorum,
    /// Make the local ha-ring leave the ring cleanly and stop.
    Shutdown,
    /// Make the local ha-ring re-read ha.conf (nodes may be added or removed).
    Reload,
    /// Push this node's ha.conf to every ring member, which check, back up, write and reload it.
    ///
    /// Each member refuses a configuration that does not parse, names another cluster, drops
    /// it from the nodelist or cannot be written, and keeps its own then. Prints one line per
    /// member: installed, unchanged, rejected (with the reason) or no_answer. Exit status 0
    /// when every member took it, 1 otherwise, 3 when ha-ring is not running.
    Sync {
        /// How long to wait for the members' answers.
        #[arg(long, value_name = "MS", default_value_t = 5000)]
        timeout_ms: u64,
    },
    /// Check what keeps a ring from forming: config, key, addresses, routes, host name, port,
    /// datagrams dropped per node, and every member's key, config hash and version.
    ///
    /// Each problem is printed with the command that fixes it. Works without a running
    /// ha-ring (then only the local checks and a port probe are made). Exit status 0 when no
    /// finding is an error, 1 otherwise.
    Doctor {
        /// How long to wait for the members' facts.
        #[arg(long, value_name = "MS", default_value_t = 2000)]
        timeout_ms: u64,
    },
}

/// `ha-cfgtool config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate a configuration; print its warnings.
    Check {
        /// Configuration file (default $HA_CONF_DIR/ha.conf).
        file: Option<PathBuf>,
    },
    /// Print the effective configuration, every default filled in.
    Show {
        /// Configuration file (default $HA_CONF_DIR/ha.conf).
        file: Option<PathBuf>,
    },
    /// Write the configuration, and with --with-key the authkey, as one bundle to stdout.
    ///
    /// Install it on another node with `ha-cfgtool config import`.
    Export {
        /// Include the authkey (anyone holding the bundle can then join the cluster).
        #[arg(long)]
        with_key: bool,
        /// Configuration file (default $HA_CONF_DIR/ha.conf).
        file: Option<PathBuf>,
    },
    /// Install a bundle from stdin: validate, back up the old configuration, write atomically.
    Import {
        /// Replace an existing authkey that differs from the bundle's.
        #[arg(long)]
        force: bool,
    },
}

/// The streams a command uses, passed in so tests can drive `run` directly.
pub struct Stdio<'a> {
    /// Bundle input for `config import`.
    pub stdin: &'a mut dyn Read,
    /// Results.
    pub stdout: &'a mut dyn Write,
    /// Warnings and extra error lines.
    pub stderr: &'a mut dyn Write,
}

/// Runs `ha-cfgtool` with parsed arguments.
pub fn run(args: &Args, paths: &Paths, io: &mut Stdio<'_>) -> CliResult {
    let command = match (&args.command, args.status_flag) {
        (Some(command), _) => command,
        (None, true) => &Command::Status,
        (None, false) => {
            return Err(Failure::usage(anyhow!(
                "a command is required (status, members, quorum, shutdown, reload, sync, doctor, config)"
            )));
        }
    };
    match command {
        Command::Status => ring_status(args, paths, io),
        Command::Members => ring_members(args, paths, io),
        Command::Quorum => ring_quorum(args, paths, io),
        Command::Shutdown => {
            ring_simple(args, paths, io, "shutdown", "ha-ring is leaving the ring")
        }
        Command::Reload => ring_simple(
            args,
            paths,
            io,
            "reload",
            "ha-ring reloaded its configuration",
        ),
        Command::Sync { timeout_ms } => sync(args, paths, *timeout_ms, io),
        Command::Doctor { timeout_ms } => super::doctor::run(
            args.json,
            args.node_id,
            paths,
            std::time::Duration::from_millis(*timeout_ms),
            io.stdout,
        ),
        Command::Config(ConfigCommand::Check { file }) => check(args, paths, file.as_deref(), io),
        Command::Config(ConfigCommand::Show { file }) => show(args, paths, file.as_deref(), io),
        Command::Config(ConfigCommand::Export { with_key, file }) => {
            export(paths, file.as_deref(), *with_key, io)
        }
        Command::Config(ConfigCommand::Import { force }) => import(args, paths, *force, io),
    }
}

/// Loads and validates a configuration; on errors prints all of them (text mode) and fails.
fn load_checked(path: &Path, json: bool, io: &mut Stdio<'_>) -> Result<Loaded, Failure> {
    match conf::load(path) {
        Ok(loaded) => Ok(loaded),
        Err(ConfError::Invalid(rejected)) => {
            print_warnings(&rejected.warnings, io.stderr)?;
            if json {
                return Err(Failure::failed(ConfError::Invalid(rejected)));
            }
            // Every error on its own line; the last one is the command's error line.
            let (last, rest) = rejected
                .errors
                .split_last()
                .expect("a rejected configuration has an error");
            for error in rest {
                writeln!(io.stderr, "ha-cfgtool: error: {error}")?;
            }
            Err(Failure::failed(anyhow!("{last}")))
        }
        Err(other) => Err(Failure::failed(other)),
    }
}

fn print_warnings(warnings: &[Diagnostic], stderr: &mut dyn Write) -> io::Result<()> {
    for warning in warnings {
        writeln!(stderr, "ha-cfgtool: warning: {warning}")?;
    }
    Ok(())
}

fn conf_path(paths: &Paths, file: Option<&Path>) -> PathBuf {
    file.map_or_else(|| paths.conf_file(), Path::to_path_buf)
}

/// `config check --json` data: `{"file":"/etc/ha/ha.conf","nodes":2,"transport":"udpu",
/// "warnings":[{"file","line","column","key","message"}]}`.
#[derive(Debug, serde::Serialize)]
struct CheckReport<'a> {
    file: String,
    nodes: usize,
    transport: crate::conf::model::Transport,
    warnings: &'a [Diagnostic],
}

fn check(args: &Args, paths: &Paths, file: Option<&Path>, io: &mut Stdio<'_>) -> CliResult {
    let path = conf_path(paths, file);
    let loaded = load_checked(&path, args.json, io)?;
    print_warnings(&loaded.warnings, io.stderr)?;
    let report = CheckReport {
        file: path.display().to_string(),
        nodes: loaded.conf.nodes.len(),
        transport: loaded.conf.totem.transport,
        warnings: &loaded.warnings,
    };
    if args.json {
        print_json_ok(io.stdout, &report)?;
    } else {
        writeln!(
            io.stdout,
            "{}: ok ({} nodes, transport {}, {} warnings)",
            report.file,
            report.nodes,
            serde_name(&report.transport),
            report.warnings.len()
        )?;
    }
    Ok(())
}

/// `config show --json` data:
/// `{"file":"…","config":{HaConf},"encryption":"aes256","expected_votes":2,
/// "local_node":{"nodeid":1,"name":"node1","address":"…"}|null,"local_node_error":null|"…",
/// "warnings":[…]}`.
#[derive(Debug, serde::Serialize)]
struct ShowReport<'a> {
    file: String,
    config: &'a HaConf,
    encryption: Encryption,
    expected_votes: u32,
    local_node: Option<LocalNode>,
    local_node_error: Option<String>,
    warnings: &'a [Diagnostic],
}

fn show(args: &Args, paths: &Paths, file: Option<&Path>, io: &mut Stdio<'_>) -> CliResult {
    let path = conf_path(paths, file);
    let loaded = load_checked(&path, args.json, io)?;
    print_warnings(&loaded.warnings, io.stderr)?;
    let local = crate::sys::net::local_addresses()
        .map_err(|e| e.to_string())
        .and_then(|addrs| {
            identity::local_node(&loaded.conf, args.node_id, &addrs).map_err(|e| e.to_string())
        });
    let (local_node, local_node_error) = match local {
        Ok(node) => (Some(node), None),
        Err(e) => (None, Some(e)),
    };
    let report = ShowReport {
        file: path.display().to_string(),
        config: &loaded.conf,
        encryption: loaded.conf.totem.encryption(),
        expected_votes: loaded.conf.expected_votes(),
        local_node,
        local_node_error,
        warnings: &loaded.warnings,
    };
    if args.json {
        print_json_ok(io.stdout, &report)?;
        return Ok(());
    }
    writeln!(io.stdout, "# effective configuration of {}", report.file)?;
    match (&report.local_node, &report.local_node_error) {
        (Some(me), _) => writeln!(
            io.stdout,
            "# local node: {} ({}, {})",
            me.nodeid,
            me.name.as_deref().unwrap_or("no name"),
            me.address
        )?,
        (None, Some(e)) => writeln!(io.stdout, "# local node: unknown: {e}")?,
        (None, None) => {}
    }
    writeln!(
        io.stdout,
        "# encryption: {}; expected votes: {}",
        serde_name(&report.encryption),
        report.expected_votes
    )?;
    write!(io.stdout, "{}", loaded.conf.to_conf_text())?;
    Ok(())
}

/// Identifies a bundle; anything else on stdin is refused by `config import`.
pub const BUNDLE_FORMAT: &str = "hakit-config-bundle";
/// Bundle layout version.
pub const BUNDLE_VERSION: u32 = 1;

/// The `config export` bundle, one JSON object on one line:
/// `{"format":"hakit-config-bundle","v":1,"config":"totem {…","config_sha256":"…",
/// "authkey_hex":"…"|null,"authkey_fingerprint":"SHA256:…"|null}`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Always [`BUNDLE_VERSION`].
    pub v: u32,
    /// The configuration file's text, unchanged.
    pub config: String,
    /// Hex SHA-256 of `config`, to catch truncation on the way.
    pub config_sha256: String,
    /// The authkey in hex, with `--with-key`.
    pub authkey_hex: Option<String>,
    /// The authkey's fingerprint, with `--with-key`.
    pub authkey_fingerprint: Option<String>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn key_path(paths: &Paths, conf: &HaConf) -> PathBuf {
    conf.totem
        .keyfile
        .clone()
        .unwrap_or_else(|| paths.authkey_file())
}

fn export(paths: &Paths, file: Option<&Path>, with_key: bool, io: &mut Stdio<'_>) -> CliResult {
    let path = conf_path(paths, file);
    let loaded = load_checked(&path, false, io)?;
    let text = conf::read_text(&path)?;
    let key = if with_key {
        let key_file = key_path(paths, &loaded.conf);
        Some(AuthKey::load(&key_file)?)
    } else {
        None
    };
    let bundle = Bundle {
        format: BUNDLE_FORMAT.into(),
        v: BUNDLE_VERSION,
        config_sha256: sha256_hex(text.as_bytes()),
        config: text,
        authkey_hex: key.as_ref().map(|k| hex(k.as_bytes())),
        authkey_fingerprint: key.as_ref().map(AuthKey::fingerprint),
    };
    let line = serde_json::to_string(&bundle).context("encoding the bundle")?;
    writeln!(io.stdout, "{line}")?;
    Ok(())
}

/// Largest bundle accepted: a maximal config in JSON plus a maximal key in hex.
const MAX_BUNDLE_BYTES: u64 = 2 * MAX_CONF_BYTES + 64 * 1024;

/// What happened to one file during import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Installed,
    Unchanged,
    NotInBundle,
}

/// `config import --json` data: `{"config_path":"…","config":"installed"|"unchanged",
/// "backup":"…/ha.conf.bak"|null,"key_path":"…","key":"installed"|"unchanged"|"not_in_bundle",
/// "fingerprint":"SHA256:…"|null,"warnings":[…]}`.
#[derive(Debug, serde::Serialize)]
struct ImportReport {
    config_path: PathBuf,
    config: Outcome,
    backup: Option<PathBuf>,
    key_path: PathBuf,
    key: Outcome,
    fingerprint: Option<String>,
    warnings: Vec<Diagnostic>,
}

fn import(args: &Args, paths: &Paths, force: bool, io: &mut Stdio<'_>) -> CliResult {
    let mut raw = Vec::new();
    io.stdin
        .take(MAX_BUNDLE_BYTES + 1)
        .read_to_end(&mut raw)
        .context("reading the bundle from stdin")?;
    if raw.len() as u64 > MAX_BUNDLE_BYTES {
        return Err(
            anyhow!("bundle larger than {MAX_BUNDLE_BYTES} bytes; nothing installed").into(),
        );
    }
    let bundle: Bundle = serde_json::from_slice(&raw)
        .map_err(|e| anyhow!("stdin is not a configuration bundle ({e}); nothing installed"))?;
    if bundle.format != BUNDLE_FORMAT || bundle.v != BUNDLE_VERSION {
        return Err(anyhow!(
            "unsupported bundle {:?} version {} (expected {BUNDLE_FORMAT} {BUNDLE_VERSION}); \
             nothing installed",
            bundle.format,
            bundle.v
        )
        .into());
    }
    if sha256_hex(bundle.config.as_bytes()) != bundle.config_sha256 {
        return Err(anyhow!("bundle config does not match its checksum; nothing installed").into());
    }
    let loaded = match conf::parse_str(&bundle.config, "<bundle>") {
        Ok(loaded) => loaded,
        Err(rejected) => {
            print_warnings(&rejected.warnings, io.stderr)?;
            return Err(anyhow!("{}; nothing installed", ConfError::Invalid(rejected)).into());
        }
    };
    print_warnings(&loaded.warnings, io.stderr)?;
    let key = match &bundle.authkey_hex {
        None => None,
        Some(text) => {
            let bytes = unhex(text).ok_or_else(|| anyhow!("bundle authkey is not hex"))?;
            let key = AuthKey::from_bytes(bytes).map_err(|e| anyhow!("bundle authkey: {e}"))?;
            if let Some(expected) = &bundle.authkey_fingerprint
                && *expected != key.fingerprint()
            {
                return Err(anyhow!(
                    "bundle authkey does not match its fingerprint; nothing installed"
                )
                .into());
            }
            Some(key)
        }
    };

    let config_path = paths.conf_file();
    let key_path = key_path(paths, &loaded.conf);
    std::fs::create_dir_all(&paths.conf_dir)
        .with_context(|| format!("creating {}", paths.conf_dir.display()))?;

    // Decide everything before writing anything, so a refusal changes nothing.
    let key_outcome = match &key {
        None => Outcome::NotInBundle,
        Some(key) => match std::fs::read(&key_path) {
            Ok(existing) if existing == key.as_bytes() => Outcome::Unchanged,
            Ok(_) if !force => {
                return Err(Failure::failed(anyhow!(
                    "authkey {} differs from the bundle's key; nothing installed",
                    key_path.display()
                ))
                .with_hint("use --force to replace it"));
            }
            Ok(_) => Outcome::Installed,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Outcome::Installed,
            Err(e) => return Err(anyhow!("cannot read {}: {e}", key_path.display()).into()),
        },
    };
    let old_config = match std::fs::read(&config_path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(anyhow!("cannot read {}: {e}", config_path.display()).into()),
    };
    let config_outcome = if old_config.as_deref() == Some(bundle.config.as_bytes()) {
        Outcome::Unchanged
    } else {
        Outcome::Installed
    };

    if let (Outcome::Installed, Some(key)) = (key_outcome, &key) {
        if force {
            write_atomic(&key_path, key.as_bytes(), KEY_FILE_MODE)
        } else {
            create_atomic(&key_path, key.as_bytes(), KEY_FILE_MODE)
        }
        .with_context(|| format!("writing {}", key_path.display()))?;
    }
    let mut backup = None;
    if config_outcome == Outcome::Installed {
        if let Some(old) = &old_config {
            let path = backup_path(&config_path);
            write_atomic(&path, old, 0o644)
                .with_context(|| format!("writing backup {}", path.display()))?;
            backup = Some(path);
        }
        write_atomic(&config_path, bundle.config.as_bytes(), 0o644)
            .with_context(|| format!("writing {}", config_path.display()))?;
    }

    let report = ImportReport {
        config_path,
        config: config_outcome,
        backup,
        key_path,
        key: key_outcome,
        fingerprint: key.as_ref().map(AuthKey::fingerprint),
        warnings: loaded.warnings,
    };
    if args.json {
        print_json_ok(io.stdout, &report)?;
        return Ok(());
    }
    match (report.config, &report.backup) {
        (Outcome::Installed, Some(b)) => writeln!(
            io.stdout,
            "installed {} (previous saved as {})",
            report.config_path.display(),
            b.display()
        )?,
        (Outcome::Installed, None) => {
            writeln!(io.stdout, "installed {}", report.config_path.display())?
        }
        _ => writeln!(io.stdout, "unchanged {}", report.config_path.display())?,
    }
    let fingerprint = report.fingerprint.as_deref().unwrap_or("");
    match report.key {
        Outcome::Installed => writeln!(
            io.stdout,
            "installed {} ({fingerprint})",
            report.key_path.display()
        )?,
        Outcome::Unchanged => writeln!(
            io.stdout,
            "unchanged {} ({fingerprint})",
            report.key_path.display()
        )?,
        Outcome::NotInBundle => writeln!(
            io.stdout,
            "no authkey in the bundle; {} left as it was",
            report.key_path.display()
        )?,
    }
    Ok(())
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

fn serde_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Ring commands: one request to ha-ring's control socket, then print.

fn ring_call(paths: &Paths, cmd: &str) -> Result<serde_json::Value, Failure> {
    let socket = paths.ring_socket();
    let mut client = crate::ipc::Client::connect(&socket, crate::ipc::DEFAULT_TIMEOUT)
        .map_err(|e| super::ipc_failure("ha-ring", e))?;
    client
        .call(cmd, serde_json::Value::Null)
        .map_err(|e| super::ipc_failure("ha-ring", e))
}

fn ring_status(args: &Args, paths: &Paths, io: &mut Stdio<'_>) -> CliResult {
    let data = ring_call(paths, "status")?;
    if args.json {
        print_json_ok(io.stdout, &data)?;
        return Ok(());
    }
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let ring = &data["ring"];
    let ring_id = if ring.is_null() {
        "none".to_string()
    } else {
        format!("{}.{}", ring["rep"], ring["seq"])
    };
    writeln!(
        io.stdout,
        "Local node ID {}, transport {}",
        data["node_id"],
        text(&data["transport"])
    )?;
    writeln!(io.stdout, "Ring ID {ring_id} ({})", text(&data["phase"]))?;
    for interface in data["interfaces"].as_array().into_iter().flatten() {
        writeln!(io.stdout, "LINK ID {}", interface["ring"])?;
        writeln!(io.stdout, "\taddr\t= {}", text(&interface["address"]))?;
        writeln!(io.stdout, "\tstatus:\n\t\t{}", text(&interface["status"]))?;
    }
    let members: Vec<String> = data["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].to_string())
        .collect();
    writeln!(
        io.stdout,
        "Members: {} ({})",
        members.len(),
        members.join(" ")
    )?;
    Ok(())
}

fn ring_members(args: &Args, paths: &Paths, io: &mut Stdio<'_>) -> CliResult {
    let data = ring_call(paths, "members")?;
    if args.json {
        print_json_ok(io.stdout, &data)?;
        return Ok(());
    }
    writeln!(
        io.stdout,
        "{:<8} {:<16} {:<24} {:<6} MEMBER FOR",
        "ID", "NAME", "ADDRESS", "VOTES"
    )?;
    for m in data["members"].as_array().into_iter().flatten() {
        let ms = m["member_for_ms"].as_u64().unwrap_or(0);
        writeln!(
            io.stdout,
            "{:<8} {:<16} {:<24} {:<6} {}.{:01}s",
            m["id"].as_u64().unwrap_or(0),
            m["name"].as_str().unwrap_or("-"),
            m["addr"].as_str().unwrap_or("-"),
            m["votes"].as_u64().unwrap_or(0),
            ms / 1000,
            (ms % 1000) / 100
        )?;
    }
    Ok(())
}

fn ring_quorum(args: &Args, paths: &Paths, io: &mut Stdio<'_>) -> CliResult {
    let data = ring_call(paths, "quorum")?;
    if args.json {
        print_json_ok(io.stdout, &data)?;
        return Ok(());
    }
    let q = &data["quorum"];
    let yes = |v: &serde_json::Value| {
        if v.as_bool() == Some(true) {
            "Yes"
        } else {
            "No"
        }
    };
    let ring = &data["ring"];
    let ring_id = if ring.is_null() {
        "none".to_string()
    } else {
        format!("{}.{}", ring["rep"], ring["seq"])
    };
    let mut flags = Vec::new();
    if q["two_node"].as_bool() == Some(true) {
        flags.push("2Node");
    }
    if q["quorate"].as_bool() == Some(true) {
        flags.push("Quorate");
    }
    if q["wait_for_all"].as_bool() == Some(true) {
        flags.push("WaitForAll");
    }
    writeln!(io.stdout, "Quorum information\n------------------")?;
    writeln!(io.stdout, "Node ID:          {}", data["node_id"])?;
    writeln!(io.stdout, "Ring ID:          {ring_id}")?;
    writeln!(io.stdout, "Nodes:            {}", data["members"])?;
    writeln!(io.stdout, "Quorate:          {}", yes(&q["quorate"]))?;
    writeln!(
        io.stdout,
        "\nVotequorum information\n----------------------"
    )?;
    writeln!(io.stdout, "Expected votes:   {}", q["expected_votes"])?;
    writeln!(io.stdout, "Total votes:      {}", q["total_votes"])?;
    writeln!(io.stdout, "Quorum:           {}", q["quorum"])?;
    writeln!(io.stdout, "Flags:            {}", flags.join(" "))?;
    Ok(())
}

fn ring_simple(args: &Args, paths: &Paths, io: &mut Stdio<'_>, cmd: &str, done: &str) -> CliResult {
    let data = ring_call(paths, cmd)?;
    if args.json {
        print_json_ok(io.stdout, &data)?;
    } else {
        writeln!(io.stdout, "{done}")?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// sync: this node's ha.conf to every member, through ha-ring's configuration group.

/// Time the daemon gets on top of the members' timeout to send its report.
const REPLY_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

fn sync(args: &Args, paths: &Paths, timeout_ms: u64, io: &mut Stdio<'_>) -> CliResult {
    let path = paths.conf_file();
    // Refuse locally first: a broken file is named with its line, and nothing is sent.
    let loaded = load_checked(&path, args.json, io)?;
    print_warnings(&loaded.warnings, io.stderr)?;
    let text = conf::read_text(&path)?;
    let socket = paths.ring_socket();
    let mut client = crate::ipc::Client::connect(&socket, crate::ipc::DEFAULT_TIMEOUT)
        .map_err(|e| super::ipc_failure("ha-ring", e))?;
    client
        .set_timeout(std::time::Duration::from_millis(timeout_ms) + REPLY_MARGIN)
        .map_err(|e| super::ipc_failure("ha-ring", e))?;
    let report = client
        .call(
            "config_sync",
            serde_json::json!({ "config": text, "timeout_ms": timeout_ms }),
        )
        .map_err(|e| super::ipc_failure("ha-ring", e))?;
    let nodes = report["nodes"].as_array().cloned().unwrap_or_default();
    let refused = nodes
        .iter()
        .filter(|n| !matches!(n["result"].as_str(), Some("installed" | "unchanged")))
        .count();
    let message = format!(
        "{refused} of {} members did not take the configuration of {}",
        nodes.len(),
        path.display()
    );
    if args.json {
        if refused == 0 {
            print_json_ok(io.stdout, &report)?;
            return Ok(());
        }
        print_json_failed_report(io.stdout, &report, &message)?;
        return Err(Failure::failed(anyhow!("{message}")).with_json_printed());
    }
    writeln!(
        io.stdout,
        "{:<8} {:<16} {:<10} DETAIL",
        "NODE", "NAME", "RESULT"
    )?;
    for node in &nodes {
        let detail = match (node["reason"].as_str(), node["backup"].as_str()) {
            (Some(reason), _) => reason.to_string(),
            (None, Some(backup)) => format!("previous saved as {backup}"),
            (None, None) => String::new(),
        };
        writeln!(
            io.stdout,
            "{:<8} {:<16} {:<10} {detail}",
            node["node"].as_u64().unwrap_or(0),
            node["name"].as_str().unwrap_or("-"),
            node["result"].as_str().unwrap_or("-"),
        )?;
    }
    if refused > 0 {
        return Err(Failure::failed(anyhow!("{message}")).with_hint(
            "members that rejected it keep their configuration; fix the reason shown and run \
             `ha-cfgtool sync` again",
        ));
    }
    Ok(())
}
