//! `ha-lrmd` end to end: real agents (Debian's resource-agents), fixture agents, the built-in
//! agents, LSB scripts and network namespaces made by the tests themselves.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const REAL_OCF_ROOT: &str = "/usr/lib/ocf";

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_ha-lrmd")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A scratch directory with its own OCF root (fixture agents as provider `test`), init
/// directory and hakit state directory.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let resource_d = dir.path().join("ocf/resource.d");
        std::fs::create_dir_all(&resource_d).unwrap();
        std::os::unix::fs::symlink(fixtures().join("agents"), resource_d.join("test")).unwrap();
        std::fs::create_dir_all(dir.path().join("init.d")).unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        Scratch { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, ocf_root: &Path) -> Command {
        let mut command = Command::new(exe());
        command
            .env("OCF_ROOT", ocf_root)
            .env("HA_INIT_DIR", self.path("init.d"))
            .env("HA_STATE_DIR", self.path("state"))
            .env("HA_RUN_DIR", self.path("run"));
        command
    }

    /// Runs ha-lrmd with the scratch OCF root (fixtures and built-in agents).
    fn run(&self, args: &[&str]) -> Output {
        self.command(&self.path("ocf")).args(args).output().unwrap()
    }

    /// Runs ha-lrmd with Debian's OCF root.
    fn run_real(&self, args: &[&str]) -> Output {
        assert!(
            Path::new(REAL_OCF_ROOT)
                .join("resource.d/heartbeat/Dummy")
                .exists(),
            "Debian's resource-agents package is needed (see .ci/run)"
        );
        self.command(Path::new(REAL_OCF_ROOT))
            .args(args)
            .output()
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(output), stderr(output)))
}

fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim().to_string()))
        .is_some_and(|rest| !rest.starts_with('Z'))
}

fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a process the test caused, by the pid it recorded.
struct PidGuard(i32);

impl Drop for PidGuard {
    fn drop(&mut self) {
        if self.0 > 1 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.0),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[test]
fn real_dummy_agent_runs_start_monitor_stop() {
    let scratch = Scratch::new();
    let state = scratch.path("dummy.state");
    let param = format!("state={}", state.display());
    let exec = |action: &str| {
        scratch.run_real(&[
            "exec",
            "ocf:heartbeat:Dummy",
            action,
            "--param",
            &param,
            "--json",
        ])
    };
    let out = exec("monitor");
    assert_eq!(json(&out)["data"]["rc"], 7, "{}", stderr(&out));
    let out = exec("start");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(state.exists());
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    assert_eq!(json(&exec("stop"))["data"]["rc"], 0);
    assert!(!state.exists());
    let info = scratch.run_real(&["ra", "info", "ocf:heartbeat:Dummy"]);
    assert!(stdout(&info).contains("runs:    script /usr/lib/ocf/resource.d/heartbeat/Dummy"));
}

#[test]
fn real_dummy_passes_the_compliance_run() {
    let scratch = Scratch::new();
    let param = format!("state={}", scratch.path("t.state").display());
    let out = scratch.run_real(&["test", "ocf:heartbeat:Dummy", "--param", &param]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("ocf:heartbeat:Dummy: compliant"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn builtin_dummy_is_used_when_no_script_exists() {
    let scratch = Scratch::new();
    let info = scratch.run(&["ra", "info", "ocf:heartbeat:Dummy", "--json"]);
    assert_eq!(json(&info)["data"]["implementation"]["kind"], "builtin");
    let text = stdout(&scratch.run(&["ra", "info", "ocf:heartbeat:Dummy"]));
    assert!(text.contains("built-in agent"), "{text}");
    let listed = stdout(&scratch.run(&["ra", "list", "ocf", "heartbeat"]));
    assert_eq!(listed, "Dummy\nIPaddr\nIPaddr2\nanything\n");
    let param = format!("state={}", scratch.path("b.state").display());
    let out = scratch.run(&["test", "ocf:heartbeat:Dummy", "--param", &param]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn bad_agent_names_and_parameters_are_clear_errors() {
    let scratch = Scratch::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["exec", "ocff:heartbeat:Dummy", "start"],
            "unknown resource class \"ocff\"",
        ),
        (
            &["exec", "ocf:nosuch:Dummy", "start"],
            "unknown ocf provider \"nosuch\"",
        ),
        (
            &["exec", "ocf:test:Nope", "start"],
            "agent ocf:test:Nope not found",
        ),
        (&["exec", "lsb:nope", "start"], "agent lsb:nope not found"),
        (
            &["exec", "ocf:heartbeat:IPaddr2", "start"],
            "needs parameter \"ip\"",
        ),
        (
            &[
                "exec",
                "ocf:heartbeat:Dummy",
                "start",
                "--param",
                "colour=red",
            ],
            "has no parameter \"colour\"",
        ),
        (
            &["exec", "ocf:heartbeat:Dummy", "start", "--param", "novalue"],
            "is not KEY=VALUE",
        ),
        (&["ra", "list", "ocf", "nosuch"], "unknown ocf provider"),
    ];
    for (args, message) in cases {
        let out = scratch.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("ha-lrmd: error: "), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
    }
    let noexec = scratch.path("init.d/noexec");
    std::fs::write(&noexec, "#!/bin/sh\nexit 0\n").unwrap();
    let out = scratch.run(&["exec", "lsb:noexec", "start"]);
    assert!(
        stderr(&out).contains("is not an executable file"),
        "{}",
        stderr(&out)
    );
    let out = scratch.run(&["exec", "ocf:heartbeat:Dummy", "start", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let scratch = Scratch::new();
    let pidfile = scratch.path("hang.pid");
    let param = format!("pidfile={}", pidfile.display());
    let started = Instant::now();
    let out = scratch.run(&[
        "exec",
        "ocf:test:hang",
        "start",
        "--param",
        &param,
        "--timeout",
        "1s",
        "--kill-grace",
        "500ms",
        "--json",
    ]);
    let child = PidGuard(read_pid(&pidfile));
    let result = json(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(result["data"]["status"], "timeout", "{result}");
    assert_eq!(
        result["data"]["signal"], 9,
        "SIGTERM was ignored; SIGKILL ended it"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(child.0) {
        assert!(
            Instant::now() < deadline,
            "TERM-ignoring child {} survived",
            child.0
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemon_holding_the_pipes_does_not_wedge_the_action() {
    let scratch = Scratch::new();
    let pidfile = scratch.path("forker.pid");
    let param = format!("pidfile={}", pidfile.display());
    let started = Instant::now();
    let out = scratch.run(&[
        "exec",
        "ocf:test:forker",
        "start",
        "--param",
        &param,
        "--json",
    ]);
    let _daemon = PidGuard(read_pid(&pidfile));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "finished on exit, not pipe EOF"
    );
    assert!(
        json(&out)["data"]["stdout"]
            .as_str()
            .unwrap()
            .contains("started daemon")
    );
}

#[test]
fn megabytes_of_output_are_cut_to_the_bound() {
    let scratch = Scratch::new();
    let out = scratch.run(&["exec", "ocf:test:noisy", "start", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let data = &json(&out)["data"];
    assert_eq!(data["stdout"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(data["stderr"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(data["dropped_bytes"], 2 * (4 * 1024 * 1024 - 64 * 1024));
}

#[test]
fn exit_codes_outside_the_spec_are_failed_results() {
    let scratch = Scratch::new();
    let out = scratch.run(&["exec", "ocf:test:oddcode", "start", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let data = &json(&out)["data"];
    assert_eq!(data["rc"], 42);
    assert_eq!(data["failure"], "soft");
    assert_eq!(data["exit_reason"], "this agent only knows 42");
    let text = stdout(&scratch.run(&["exec", "ocf:test:oddcode", "start"]));
    assert!(
        text.contains("FAILED: unknown error (outside the OCF codes) (rc 42)"),
        "{text}"
    );
}

/// The gohttpd init script installed under a name of its own (see [`install_service`]).
struct Service {
    /// `lsb:NAME`.
    agent: String,
    script: PathBuf,
    /// A copy of `sleep` named NAME: what the script starts and its `pkill -9 NAME` kills.
    program: PathBuf,
}

/// Installs the gohttpd init script as service `hk<tag><pid>d`, its program a copy of
/// `sleep` and its `pkill -9 gohttpd` renamed likewise, so that the pkill reaches neither a
/// real gohttpd elsewhere on the machine (other labs run one in their own pid namespaces,
/// which the host's pkill sees) nor the service of another test or of another run of this
/// one. pkill matches a pattern anywhere in the name: the final `d` keeps pid 12 from
/// matching pid 123, and the name stays within the 15 characters of /proc/PID/comm.
fn install_service(scratch: &Scratch, tag: &str) -> Service {
    let name = format!("hk{tag}{}d", std::process::id());
    let program = scratch.path(&name);
    std::fs::copy("/bin/sleep", &program).unwrap();
    let text = std::fs::read_to_string(fixtures().join("init.d/gohttpd"))
        .unwrap()
        .replace("@GOHTTPD@", &program.display().to_string())
        .replace("pkill -9 gohttpd", &format!("pkill -9 {name}"));
    let script = scratch.path(&format!("init.d/{name}"));
    std::fs::write(&script, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    Service {
        agent: format!("lsb:{name}"),
        script,
        program,
    }
}

/// Pids of processes running `program` (found through /proc/PID/exe, not by name).
fn processes_of(program: &Path) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == program)
        })
        .filter(|pid| is_alive(*pid))
        .collect()
}

/// Waits (bounded) until `program` runs and returns guards for its processes. A script's
/// `program &` has returned before the forked shell has exec'd `program`; on a loaded
/// machine that exec can come well after the action's result.
fn wait_running(program: &Path) -> Vec<PidGuard> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = processes_of(program);
        if !pids.is_empty() {
            return pids.into_iter().map(PidGuard).collect();
        }
        assert!(Instant::now() < deadline, "{} never ran", program.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) until no process runs `program`; a SIGKILLed process takes a moment to go.
fn wait_gone(program: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_of(program).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} still runs",
            program.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Issue 4: the guide's gohttpd script stops with `pkill -9 gohttpd`, which under Pacemaker
/// killed the stop action itself; it has no status branch, so status always said "running".
#[test]
fn guide_gohttpd_script_starts_stops_and_is_monitored_by_its_processes() {
    let scratch = Scratch::new();
    let Service {
        agent,
        script,
        program,
    } = install_service(&scratch, "go");
    let guards = || {
        processes_of(&program)
            .into_iter()
            .map(PidGuard)
            .collect::<Vec<_>>()
    };

    // Control: run the way init scripts are usually run, the stop kills itself.
    let quiet = |action: &str| {
        Command::new(&script)
            .arg(action)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    };
    assert!(quiet("start").success());
    let _direct = wait_running(&program);
    use std::os::unix::process::ExitStatusExt;
    let stopped = quiet("stop");
    assert_eq!(
        stopped.signal(),
        Some(9),
        "control: pkill -9 hits the script itself"
    );

    let info = stdout(&scratch.run(&["ra", "info", &agent]));
    assert!(info.contains("the script has no status action"), "{info}");

    let exec = |action: &str| scratch.run(&["exec", &agent, action, "--json"]);
    let out = exec("start");
    assert!(out.status.success(), "{}", stderr(&out));
    let running = wait_running(&program);
    assert_eq!(running.len(), 1);
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    let out = exec("stop");
    assert_eq!(
        json(&out)["data"]["rc"],
        0,
        "stop survives its own pkill -9: {}",
        stdout(&out)
    );
    wait_gone(&program);
    assert_eq!(
        json(&exec("monitor"))["data"]["rc"],
        7,
        "monitor sees the daemon gone"
    );

    // The daemon dying on its own is noticed too.
    assert!(exec("start").status.success());
    let running = wait_running(&program);
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    drop(running);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_of(&program).is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);

    let out = scratch.run(&["test", &agent]);
    let _left = guards();
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("status action missing: status always reports running"),
        "{report}"
    );
    assert!(
        report.contains("saw it running after start and stopped after stop"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{agent}: NOT compliant")),
        "{report}"
    );
}

#[test]
fn well_behaved_lsb_script_is_compliant() {
    let scratch = Scratch::new();
    let flag = scratch.path("svc.running");
    let script = scratch.path("init.d/svc");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Short-Description: flag service\n### END INIT INFO\n\
             case \"$1\" in\n  start) touch {f} ;;\n  stop) rm -f {f} ;;\n  \
             status) [ -e {f} ] && exit 0; exit 3 ;;\n  *) exit 2 ;;\nesac\nexit 0\n",
            f = flag.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = scratch.run(&["test", "lsb:svc", "--json"]);
    let report = json(&out);
    assert!(out.status.success(), "{report}");
    assert_eq!(report["data"]["compliant"], true);
    assert!(stdout(&scratch.run(&["ra", "info", "lsb:svc"])).contains("script's status action"));
}

/// A network namespace made for one test, deleted when dropped.
struct Netns {
    name: String,
}

impl Netns {
    fn new(tag: &str) -> Netns {
        let name = format!("hkl-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run_ok("ip", &["netns", "add", &name]);
        let netns = Netns { name };
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["netns", "exec", &self.name, "ip"];
        full.extend_from_slice(args);
        run_ok("ip", &full)
    }

    fn exec(&self, command: &mut Command) -> Output {
        let program = command.get_program().to_os_string();
        let args: Vec<_> = command.get_args().map(|a| a.to_os_string()).collect();
        let envs: Vec<_> = command
            .get_envs()
            .map(|(k, v)| (k.to_os_string(), v.map(|v| v.to_os_string())))
            .collect();
        let mut inner = Command::new("ip");
        inner
            .args(["netns", "exec", &self.name])
            .arg(program)
            .args(args);
        for (k, v) in envs {
            if let Some(v) = v {
                inner.env(k, v);
            }
        }
        inner.output().unwrap()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn real_ipaddr2_adds_and_removes_an_address_in_a_namespace() {
    let scratch = Scratch::new();
    let ns = Netns::new("real");
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["addr", "add", "10.231.0.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "d1", "up"]);
    ns.ip(&["link", "set", "d0", "up"]);
    let exec = |action: &str| {
        let mut command = scratch.command(Path::new(REAL_OCF_ROOT));
        command.args([
            "exec",
            "ocf:heartbeat:IPaddr2",
            action,
            "--param",
            "ip=10.231.0.50",
            "--param",
            "cidr_netmask=24",
            "--param",
            "nic=d0",
            "--json",
        ]);
        ns.exec(&mut command)
    };
    let out = exec("start");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        ns.ip(&["-4", "addr", "show", "dev", "d0"])
            .contains("10.231.0.50/24")
    );
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    assert_eq!(json(&exec("stop"))["data"]["rc"], 0);
    assert!(
        !ns.ip(&["-4", "addr", "show", "dev", "d0"])
            .contains("10.231.0.50")
    );
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);
}

#[test]
fn builtin_ipaddr2_announces_the_address_to_a_neighbour_namespace() {
    let scratch = Scratch::new();
    let node = Netns::new("vip");
    let peer = Netns::new("peer");
    // node: bridge br0 (10.232.0.1/24) with veth va; peer: vb (10.232.0.2/24) at va's other end.
    node.ip(&["link", "add", "br0", "type", "bridge"]);
    node.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    node.ip(&["link", "set", "vb", "netns", &peer.name]);
    node.ip(&["link", "set", "va", "master", "br0"]);
    node.ip(&["addr", "add", "10.232.0.1/24", "dev", "br0"]);
    node.ip(&["link", "set", "va", "up"]);
    node.ip(&["link", "set", "br0", "up"]);
    peer.ip(&["addr", "add", "10.232.0.2/24", "dev", "vb"]);
    peer.ip(&["link", "set", "vb", "up"]);
    // Let the peer learn addresses from unsolicited ARP.
    let sysctl = [
        "netns",
        "exec",
        &peer.name,
        "sysctl",
        "-qw",
        "net.ipv4.conf.all.arp_accept=1",
    ];
    run_ok("ip", &sysctl);
    let sysctl = [
        "netns",
        "exec",
        &peer.name,
        "sysctl",
        "-qw",
        "net.ipv4.conf.vb.arp_accept=1",
    ];
    run_ok("ip", &sysctl);
    let exec = |action: &str| {
        let mut command = scratch.command(&scratch.path("ocf"));
        command.args([
            "exec",
            "ocf:heartbeat:IPaddr2",
            action,
            "--param",
            "ip=10.232.0.77",
            "--param",
            "arp_interval=50",
            "--json",
        ]);
        node.exec(&mut command)
    };
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);
    let out = exec("start");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        json(&out)["data"]["stderr"],
        "",
        "ARP sent without warnings"
    );
    let shown = node.ip(&["-4", "addr", "show", "dev", "br0"]);
    assert!(
        shown.contains("10.232.0.77/24"),
        "interface found by subnet: {shown}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let neighbours = peer.ip(&["neigh", "show", "10.232.0.77"]);
        if neighbours.contains("lladdr") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "peer never learnt the VIP: {neighbours:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(exec("start").status.success(), "start is idempotent");
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    assert_eq!(json(&exec("stop"))["data"]["rc"], 0);
    assert_eq!(json(&exec("stop"))["data"]["rc"], 0, "stop is idempotent");
    assert!(
        !node
            .ip(&["-4", "addr", "show", "dev", "br0"])
            .contains("10.232.0.77")
    );
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);
}

/// A running `ha-lrmd daemon`, stopped (SIGTERM, then SIGKILL) when dropped.
struct DaemonGuard {
    child: std::process::Child,
    socket: PathBuf,
}

impl DaemonGuard {
    fn start(scratch: &Scratch) -> DaemonGuard {
        let child = scratch
            .command(&scratch.path("ocf"))
            .args(["daemon", "-f"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let socket = scratch.path("run/lrmd.sock");
        let deadline = Instant::now() + Duration::from_secs(10);
        while hakit::lrmd::client::LrmdClient::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "daemon did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        DaemonGuard { child, socket }
    }

    fn client(&self) -> hakit::lrmd::client::LrmdClient {
        hakit::lrmd::client::LrmdClient::connect(&self.socket).unwrap()
    }

    /// SIGTERM and wait (bounded) for a clean exit.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exec_args(
    resource: &str,
    agent: &str,
    action: &str,
    params: &[(&str, String)],
) -> hakit::lrmd::protocol::ExecArgs {
    hakit::lrmd::protocol::ExecArgs {
        resource: resource.into(),
        agent: agent.into(),
        action: action.into(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        ..Default::default()
    }
}

#[test]
fn daemon_runs_ops_and_reports_a_changed_monitor_result_at_once() {
    let scratch = Scratch::new();
    let daemon = DaemonGuard::start(&scratch);
    let mut lrmd = daemon.client();
    assert_eq!(lrmd.ra_classes().unwrap(), ["ocf", "lsb", "service"]);
    let state = scratch.path("d.state");
    let params = [("state", state.display().to_string())];
    let started = lrmd
        .exec_wait(&exec_args("d", "ocf:heartbeat:Dummy", "start", &params))
        .unwrap();
    assert_eq!(started.rc, Some(0));
    let mut events = daemon.client();
    events.subscribe().unwrap();
    let monitor = hakit::lrmd::protocol::ExecArgs {
        interval_ms: 300,
        token: 77,
        ..exec_args("d", "ocf:heartbeat:Dummy", "monitor", &params)
    };
    let accepted = lrmd.exec(&monitor).unwrap();
    let first = events.next_result(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(
        (first.op, first.rc, first.client),
        (accepted.op, Some(0), 77)
    );
    std::fs::remove_file(&state).unwrap();
    let changed = events.next_result(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(
        changed.rc,
        Some(7),
        "the change is reported without waiting for a request"
    );
    lrmd.cancel(&hakit::lrmd::protocol::CancelArgs {
        resource: "d".into(),
        action: "monitor".into(),
        interval_ms: 300,
    })
    .unwrap();
    let history = &lrmd.resources().unwrap().resources["d"].history;
    assert!(
        history
            .iter()
            .any(|r| r.action == "monitor" && r.rc == Some(7)),
        "{history:?}"
    );
    lrmd.forget("d").unwrap();
    assert!(lrmd.resources().unwrap().resources.is_empty());
    assert!(daemon.stop().success());
}

#[test]
fn daemon_survives_every_kind_of_bad_input() {
    let scratch = Scratch::new();
    let daemon = DaemonGuard::start(&scratch);
    let mut lrmd = daemon.client();
    let refused = [
        exec_args("r", "ocff:heartbeat:Dummy", "start", &[]),
        exec_args("r", "ocf:nosuch:Dummy", "start", &[]),
        exec_args("r", "ocf:test:Nope", "start", &[]),
        exec_args("r", "ocf:heartbeat:IPaddr2", "start", &[]),
        exec_args(
            "r",
            "ocf:heartbeat:Dummy",
            "start",
            &[("colour", "red".into())],
        ),
        exec_args(
            "r",
            "ocf:heartbeat:Dummy",
            "start",
            &[("bad name", "x".into())],
        ),
        exec_args("", "ocf:heartbeat:Dummy", "start", &[]),
    ];
    for args in &refused {
        let err = lrmd.exec_wait(args).unwrap_err();
        assert!(
            matches!(err, hakit::ipc::Error::Remote(_)),
            "{args:?}: {err}"
        );
    }
    let noexec = scratch.path("init.d/noexec");
    std::fs::write(&noexec, "#!/bin/sh\nexit 0\n").unwrap();
    let err = lrmd
        .exec_wait(&exec_args("r", "lsb:noexec", "start", &[]))
        .unwrap_err();
    assert!(err.to_string().contains("not an executable"), "{err}");

    let pidfile = scratch.path("hang.pid");
    let hang = hakit::lrmd::protocol::ExecArgs {
        timeout_ms: Some(500),
        ..exec_args(
            "h",
            "ocf:test:hang",
            "start",
            &[("pidfile", pidfile.display().to_string())],
        )
    };
    let forker_pid = scratch.path("forker.pid");
    let forker = exec_args(
        "f",
        "ocf:test:forker",
        "start",
        &[("pidfile", forker_pid.display().to_string())],
    );
    // The hang runs while the others proceed: different resources run in parallel.
    let mut second = daemon.client();
    let hang_op = second.exec(&hang).unwrap();
    let forked = lrmd.exec_wait(&forker).unwrap();
    let _daemon_child = PidGuard(read_pid(&forker_pid));
    assert_eq!(forked.rc, Some(0));
    let noisy = lrmd
        .exec_wait(&exec_args("n", "ocf:test:noisy", "start", &[]))
        .unwrap();
    assert_eq!(noisy.stdout.len(), 64 * 1024);
    let odd = lrmd
        .exec_wait(&exec_args("o", "ocf:test:oddcode", "start", &[]))
        .unwrap();
    assert_eq!(odd.rc, Some(42));

    let hang_child = PidGuard(read_pid(&pidfile));
    let mut events = daemon.client();
    events.subscribe().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let timed_out = loop {
        let history = lrmd.resources().unwrap().resources;
        if let Some(record) = history.get("h").and_then(|r| r.history.first()) {
            break record.clone();
        }
        assert!(Instant::now() < deadline, "hang op {hang_op:?} never ended");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(timed_out.status, hakit::lrmd::executor::ExecStatus::Timeout);
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(hang_child.0) {
        assert!(
            Instant::now() < deadline,
            "process group of the timed-out op survived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // Malformed and unknown requests get errors; the daemon keeps serving.
    let mut raw = hakit::ipc::Client::connect(&daemon.socket, Duration::from_secs(5)).unwrap();
    raw.send_raw(b"this is not json\n").unwrap();
    let reply = raw.read_value().unwrap().unwrap();
    assert_eq!(reply["ok"], false);
    let err = raw.call("bogus", serde_json::Value::Null).unwrap_err();
    assert!(err.to_string().contains("unknown_command"), "{err}");
    let err = raw
        .call("exec", serde_json::json!({"resource": 5}))
        .unwrap_err();
    assert!(err.to_string().contains("bad_args"), "{err}");
    let status = lrmd.status().unwrap();
    assert_eq!(status.executor.running, 0);
    assert!(status.executor.timed_out >= 1);
    assert!(daemon.stop().success());
}

#[test]
fn restarted_daemon_keeps_track_of_what_it_started() {
    let scratch = Scratch::new();
    let Service { agent, program, .. } = install_service(&scratch, "web");
    let daemon = DaemonGuard::start(&scratch);
    let mut lrmd = daemon.client();
    let start = lrmd
        .exec_wait(&exec_args("web", &agent, "start", &[]))
        .unwrap();
    assert_eq!(start.rc, Some(0));
    let service = wait_running(&program);
    assert_eq!(service.len(), 1);
    assert!(daemon.stop().success());

    let daemon = DaemonGuard::start(&scratch);
    let mut lrmd = daemon.client();
    let resources = lrmd.resources().unwrap().resources;
    assert_eq!(resources["web"].tracked_groups.len(), 1, "{resources:?}");
    let monitor = lrmd
        .exec_wait(&exec_args("web", &agent, "monitor", &[]))
        .unwrap();
    assert_eq!(
        monitor.rc,
        Some(0),
        "monitored by the processes the old daemon started"
    );
    let stop = lrmd
        .exec_wait(&exec_args("web", &agent, "stop", &[]))
        .unwrap();
    assert_eq!(stop.rc, Some(0), "{stop:?}");
    wait_gone(&program);
    let monitor = lrmd
        .exec_wait(&exec_args("web", &agent, "monitor", &[]))
        .unwrap();
    assert_eq!(monitor.rc, Some(7));
}

#[test]
fn refused_requests_still_report_a_result_for_their_token() {
    let scratch = Scratch::new();
    let daemon = DaemonGuard::start(&scratch);
    let mut events = daemon.client();
    events.subscribe().unwrap();
    let mut lrmd = daemon.client();
    let missing = hakit::lrmd::protocol::ExecArgs {
        token: 5,
        ..exec_args("r", "ocf:heartbeat:NoSuchAgent", "start", &[])
    };
    assert!(lrmd.exec(&missing).is_err());
    let result = events.next_result(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(result.client, 5);
    assert_eq!(
        result.status,
        hakit::lrmd::executor::ExecStatus::NotInstalled
    );
    assert_eq!(result.rc, Some(5));
    let bad_param = hakit::lrmd::protocol::ExecArgs {
        token: 6,
        ..exec_args(
            "r",
            "ocf:heartbeat:Dummy",
            "start",
            &[("colour", "red".into())],
        )
    };
    assert!(lrmd.exec(&bad_param).is_err());
    let result = events.next_result(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!((result.client, result.rc), (6, Some(2)));
    assert_eq!(result.failure, Some(hakit::lrmd::agent::FailureKind::Hard));
    assert!(result.exit_reason.unwrap().contains("colour"));
}

#[test]
fn daemon_commands_show_resources_and_say_when_the_daemon_is_down() {
    let scratch = Scratch::new();
    let out = scratch.run(&["resources"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("ha-lrmd: error: cannot reach ha-lrmd at "),
        "{err}"
    );
    assert!(err.contains("hint: is it running?"), "{err}");
    let out = scratch.run(&["status", "--json"]);
    assert_eq!(json(&out)["error"]["kind"], "unreachable");

    let daemon = DaemonGuard::start(&scratch);
    let state = scratch.path("r.state");
    let params = [("state", state.display().to_string())];
    let result = daemon
        .client()
        .exec_wait(&exec_args(
            "dummy1",
            "ocf:heartbeat:Dummy",
            "start",
            &params,
        ))
        .unwrap();
    assert_eq!(result.rc, Some(0));
    let text = stdout(&scratch.run(&["resources"]));
    assert!(text.contains("dummy1: ocf:heartbeat:Dummy"), "{text}");
    assert!(text.contains("  start: ok (rc 0)"), "{text}");
    let status = json(&scratch.run(&["status", "--json"]));
    assert_eq!(status["data"]["executor"]["completed"], 1, "{status}");
    assert!(daemon.stop().success());
}

#[test]
fn processes_left_after_a_successful_stop_get_term_then_kill() {
    let scratch = Scratch::new();
    let pidfile = scratch.path("stubborn.pid");
    let script = scratch.path("init.d/stubborn");
    // start leaves a TERM-ignoring process behind; stop "succeeds" without touching it.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  start) sh -c 'trap \"\" TERM; echo $$ > {p}; \
             while :; do sleep 1; done' >/dev/null 2>&1 & ;;\n  stop) exit 0 ;;\n  \
             status) exit 3 ;;\nesac\nexit 0\n",
            p = pidfile.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = scratch.run(&["exec", "lsb:stubborn", "start"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let leftover = PidGuard(read_pid(&pidfile));
    assert!(is_alive(leftover.0));
    let out = scratch.run(&["exec", "lsb:stubborn", "stop", "--kill-grace", "300ms"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_alive(leftover.0) {
        assert!(
            Instant::now() < deadline,
            "leftover {} survived the stop",
            leftover.0
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn builtin_anything_runs_a_command_as_a_daemon() {
    let scratch = Scratch::new();
    let pidfile = scratch.path("anything.pid");
    let pid_param = format!("pidfile={}", pidfile.display());
    let exec = |action: &str| {
        scratch.run(&[
            "exec",
            "ocf:heartbeat:anything",
            action,
            "--param",
            "binfile=/bin/sleep",
            "--param",
            "cmdline_options=120",
            "--param",
            &pid_param,
            "--json",
        ])
    };
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);
    let out = exec("start");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let daemon = PidGuard(read_pid(&pidfile));
    assert!(is_alive(daemon.0));
    // The executor blocks SIGTERM for its signalfd; what it starts must not inherit that.
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.0)).unwrap();
    let blocked = status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .unwrap()
        .trim();
    assert_eq!(
        u64::from_str_radix(blocked, 16).unwrap() & (1 << 14),
        0,
        "SIGTERM blocked"
    );
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 0);
    assert_eq!(json(&exec("stop"))["data"]["rc"], 0);
    assert!(!is_alive(daemon.0));
    assert_eq!(json(&exec("monitor"))["data"]["rc"], 7);
}

/// Issue 8: a resource deleted from the configuration while running was stopped without
/// its parameters, so IPaddr2 refused the stop ("needs parameter ip") and the address stayed.
/// A stop without parameters now runs with those of the resource's last start.
#[test]
fn stop_without_parameters_stops_what_the_start_started() {
    let scratch = Scratch::new();
    let daemon = DaemonGuard::start(&scratch);
    let mut lrmd = daemon.client();
    let state = scratch.path("orphan.state");
    let params = [("state", state.display().to_string())];
    let started = lrmd
        .exec_wait(&exec_args(
            "orphan",
            "ocf:heartbeat:Dummy",
            "start",
            &params,
        ))
        .unwrap();
    assert_eq!(started.rc, Some(0));
    assert!(state.exists());
    let stopped = lrmd
        .exec_wait(&exec_args("orphan", "ocf:heartbeat:Dummy", "stop", &[]))
        .unwrap();
    assert_eq!(stopped.rc, Some(0));
    assert!(
        !state.exists(),
        "the stop ran without the start's parameters"
    );
    assert!(daemon.stop().success());
}
