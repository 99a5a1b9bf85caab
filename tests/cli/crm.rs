//! `ha-crm` on CIB files: the guide's configure lines verbatim, crmsh's `show` layout, batch
//! atomicity, errors with positions, damaged files, the missing controller, and the
//! interactive shell through a pty.

use std::fs;
use std::path::Path;

use predicates::str::contains;

use crate::{cmd, json_of};

/// `ha-crm --cib-file CIB`, with LSB scripts for the names the tests use (`gohttpd`,
/// `apache2`, `nginx`) in an init directory beside the CIB: verify checks that agents exist.
fn crm(cib: &Path) -> assert_cmd::Command {
    let mut c = cmd("ha-crm");
    c.env_remove("HA_CIB_FILE")
        .env("HA_INIT_DIR", init_dir(cib))
        .arg("--cib-file")
        .arg(cib);
    c
}

fn init_dir(cib: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = cib.parent().unwrap().join("init.d");
    if !dir.exists() {
        fs::create_dir(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gohttpd.init");
        for name in ["gohttpd", "apache2", "nginx"] {
            fs::copy(script, dir.join(name)).unwrap();
            fs::set_permissions(dir.join(name), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

fn configure(cib: &Path, line: &str) -> assert_cmd::assert::Assert {
    crm(cib)
        .arg("configure")
        .args(line.split_whitespace())
        .assert()
}

fn show(cib: &Path) -> String {
    let out = crm(cib).args(["configure", "show"]).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn epoch(cib: &Path) -> u64 {
    let out = crm(cib)
        .args(["--json", "configure", "show"])
        .assert()
        .success();
    json_of(&out.get_output().stdout)["data"]["epoch"]
        .as_u64()
        .unwrap()
}

const GUIDE_SHOW: &str = "node node1
node node2
primitive gohttpd lsb:gohttpd
primitive vip IPaddr \\
\tparams ip=192.168.2.100 cidr_netmask=24 \\
\top monitor interval=10s
group my_group vip gohttpd
property cib-bootstrap-options: \\
\tstonith-enabled=false \\
\tno-quorum-policy=ignore
";

#[test]
fn guide_lines_one_shot_build_the_guide_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "node node1").success();
    configure(&cib, "node node2").success();
    configure(&cib, "property stonith-enabled=false").success();
    configure(&cib, "property no-quorum-policy=ignore")
        .success()
        .stderr(contains("allows split brain"));
    let out = configure(&cib, "verify").success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let split_brain: Vec<&str> = text.lines().filter(|l| l.contains("split brain")).collect();
    assert_eq!(split_brain.len(), 1, "{text}");
    assert!(split_brain[0].starts_with("WARNING: show:"), "{text}");
    configure(&cib, "commit").success();
    configure(
        &cib,
        "primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100",
    )
    .success();
    assert!(show(&cib).contains("primitive vip IPaddr \\\n\tparams ip=192.168.2.100\n"));
    configure(&cib, "delete vip").success();
    assert!(!show(&cib).contains("vip"));
    configure(
        &cib,
        "primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100 cidr_netmask=24 op monitor interval=10s",
    )
    .success();
    configure(&cib, "primitive gohttpd lsb:gohttpd").success();
    let before = epoch(&cib);
    configure(&cib, "group my_group vip gohttpd").success();
    assert_eq!(epoch(&cib), before + 1, "one commit, one epoch");
    assert_eq!(show(&cib), GUIDE_SHOW);
    // Previous versions are kept beside the file.
    assert!(dir.path().join("cib.json.1").exists());
}

#[test]
fn batch_is_all_or_nothing_and_names_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "property stonith-enabled=false").success();
    let stored = fs::read(&cib).unwrap();
    let script = dir.path().join("setup.crm");
    fs::write(
        &script,
        "configure\nprimitive vip IPaddr params ip=10.0.0.1\nprimitive web ocff:heartbeat:apache\ncommit\n",
    )
    .unwrap();
    crm(&cib)
        .arg("-f")
        .arg(&script)
        .assert()
        .code(1)
        .stderr(contains(format!(
            "ha-crm: error: {}:3:15: unknown resource class \"ocff\"",
            script.display()
        )))
        .stderr(contains("did you mean \"ocf\"?"));
    assert_eq!(fs::read(&cib).unwrap(), stored, "nothing committed");

    // The same batch fixed commits once; the same text on stdin works too.
    fs::write(
        &script,
        "configure\nprimitive vip IPaddr \\\n  params ip=10.0.0.1\nprimitive web lsb:apache2\ngroup g vip web\ncommit\n",
    )
    .unwrap();
    let before = epoch(&cib);
    crm(&cib).arg("-f").arg(&script).assert().success();
    assert_eq!(epoch(&cib), before + 1);
    crm(&cib)
        .write_stdin("configure\nlocation l1 g 100: node1\nend\n")
        .assert()
        .success();
    assert!(show(&cib).contains("location l1 g 100: node1\n"));
    // An unknown reference on line 2 points at the id and suggests the near one.
    crm(&cib)
        .write_stdin("configure\ncolocation c1 inf: web vipp\n")
        .assert()
        .code(1)
        .stderr(contains(
            "stdin:2:24: resource \"vipp\" does not exist (did you mean \"vip\"?)",
        ));
}

#[test]
fn option_changes_commit_exactly_and_show_only_new_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "primitive vip IPaddr params ip=10.0.0.1").success();
    configure(&cib, "property stonith-enabled=false").success();
    // The same value again changes nothing: no commit, no new epoch.
    let before = epoch(&cib);
    configure(&cib, "property stonith-enabled=false").success();
    assert_eq!(epoch(&cib), before);
    // A new warning is shown once, on the commit that brings it.
    configure(&cib, "property no-quorum-policy=ignore")
        .success()
        .stderr(contains("allows split brain"));
    let out = configure(&cib, "rsc_defaults resource-stickiness=100").success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!stderr.contains("split brain"), "{stderr}");
    assert_eq!(epoch(&cib), before + 2);
    configure(&cib, "op_defaults timeout=30s").success();
    let shown = show(&cib);
    assert!(
        shown.contains("rsc_defaults rsc-options: \\\n\tresource-stickiness=100"),
        "{shown}"
    );
    assert!(
        shown.contains("op_defaults op-options: \\\n\ttimeout=30s"),
        "{shown}"
    );
    // Options first, then other changes in one batch: `show changed` and the commit see both.
    let out = crm(&cib)
        .write_stdin(
            "configure\nproperty no-quorum-policy=stop\nprimitive web lsb:apache2\n\
             show changed\ncommit\n",
        )
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("no-quorum-policy=stop"), "{stdout}");
    assert!(stdout.contains("primitive web lsb:apache2"), "{stdout}");
    let shown = show(&cib);
    assert!(shown.contains("no-quorum-policy=stop"), "{shown}");
    assert!(shown.contains("primitive web lsb:apache2"), "{shown}");
    // A refused options commit leaves the file as it was.
    let stored = fs::read(&cib).unwrap();
    configure(&cib, "property no-quorum-policy=sometimes").code(1);
    assert_eq!(fs::read(&cib).unwrap(), stored);
}

#[test]
fn errors_leave_the_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "primitive vip IPaddr params ip=10.0.0.1").success();
    let stored = fs::read(&cib).unwrap();
    configure(&cib, "primitve x Dummy")
        .code(1)
        .stderr(contains("command line:1:1: unknown command \"primitve\""))
        .stderr(contains("did you mean \"primitive\"?"));
    configure(&cib, "primitive vip Dummy")
        .code(1)
        .stderr(contains("id \"vip\" is already in use"));
    configure(&cib, "property no-quorum-policy=sometimes")
        .code(1)
        .stderr(contains("invalid value \"sometimes\""));
    configure(&cib, "primitive d Dummy op monitor interval=ten")
        .code(1)
        .stderr(contains("invalid interval \"ten\""));
    assert_eq!(fs::read(&cib).unwrap(), stored);
}

#[test]
fn delete_removes_dangling_constraints_and_emptied_groups() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    crm(&cib)
        .write_stdin(
            "configure\nprimitive a Dummy\nprimitive b Dummy\ngroup g a b\nlocation l1 a 50: n1\norder o1 Mandatory: g a\n",
        )
        .assert()
        .success();
    configure(&cib, "delete a")
        .success()
        .stderr(contains("removed location l1"))
        .stderr(contains("removed order o1"));
    assert_eq!(show(&cib), "primitive b Dummy\ngroup g b\n");
    configure(&cib, "delete b")
        .success()
        .stderr(contains("removed group g"));
    assert_eq!(show(&cib), "");
}

#[test]
fn rename_follows_references() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    crm(&cib)
        .write_stdin("configure\nprimitive a Dummy\nprimitive b Dummy\ncolocation c inf: a b\n")
        .assert()
        .success();
    configure(&cib, "rename a alpha").success();
    assert!(show(&cib).contains("colocation c inf: alpha b\n"));
}

#[test]
fn damaged_file_is_reported_and_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "property stonith-enabled=false").success();
    let text = fs::read_to_string(&cib).unwrap().replace("false", "falsE");
    fs::write(&cib, &text).unwrap();
    configure(&cib, "show")
        .code(1)
        .stderr(contains("damaged CIB file: checksum mismatch"));
    configure(&cib, "property stonith-enabled=true").code(1);
    assert_eq!(fs::read_to_string(&cib).unwrap(), text, "not overwritten");
}

#[test]
fn without_a_cib_file_or_controller_exits_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    cmd("ha-crm")
        .env_remove("HA_CIB_FILE")
        .env("HA_RUN_DIR", dir.path())
        .args(["configure", "show"])
        .assert()
        .code(3)
        .stderr(contains("cannot reach the controller at"))
        .stderr(contains(
            "ha-crm: hint: is the cluster stack running? (ha-ring with service crm)",
        ));
    // HA_CIB_FILE selects the file like --cib-file.
    cmd("ha-crm")
        .env("HA_CIB_FILE", dir.path().join("x.json"))
        .args(["configure", "property", "stonith-enabled=false"])
        .assert()
        .success();
    assert!(dir.path().join("x.json").exists());
}

#[test]
fn json_output_for_show_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "primitive vip IPaddr params ip=10.0.0.1").success();
    let out = crm(&cib)
        .args(["--json", "configure", "show"])
        .assert()
        .success();
    let value = json_of(&out.get_output().stdout);
    assert_eq!(value["ok"], true);
    assert_eq!(
        value["data"]["configuration"]["resources"][0]["primitive"]["params"]["ip"],
        "10.0.0.1"
    );
    let out = crm(&cib)
        .args(["--json", "configure", "verify"])
        .assert()
        .success();
    let value = json_of(&out.get_output().stdout);
    assert_eq!(value["data"]["errors"], 0);
    assert!(
        value["data"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "warning"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("no stonith resource"))
    );
}

#[test]
fn load_replace_round_trips_show_output() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    let copy = dir.path().join("copy.json");
    let text = dir.path().join("config.crm");
    fs::write(&text, GUIDE_SHOW).unwrap();
    crm(&cib)
        .arg("configure")
        .arg("load")
        .arg("replace")
        .arg(&text)
        .assert()
        .success();
    assert_eq!(show(&cib), GUIDE_SHOW);
    // load update merges: the changed primitive replaces the old one, the rest stays.
    fs::write(&text, "primitive gohttpd lsb:nginx\n").unwrap();
    crm(&cib)
        .arg("configure")
        .arg("load")
        .arg("update")
        .arg(&text)
        .assert()
        .success();
    assert!(show(&cib).contains("primitive gohttpd lsb:nginx\n"));
    assert!(show(&cib).contains("group my_group vip gohttpd\n"));
    // XML out and back in gives the same configuration.
    let xml = dir.path().join("cib.xml");
    let out = crm(&cib)
        .args(["configure", "show", "xml"])
        .assert()
        .success();
    fs::write(&xml, &out.get_output().stdout).unwrap();
    crm(&copy)
        .arg("configure")
        .arg("load")
        .arg("xml")
        .arg("replace")
        .arg(&xml)
        .assert()
        .success();
    assert_eq!(show(&copy), show(&cib));
}

/// Pacemaker XML with explicit ids, resources out of show order and a crmsh-generated id.
const IDS_XML: &str = r##"<cib admin_epoch="0" epoch="4" num_updates="0">
  <configuration>
    <crm_config/>
    <nodes><node id="1" uname="node1"/></nodes>
    <resources>
      <primitive id="web" class="lsb" type="nginx">
        <operations>
          <op id="web-check" name="monitor" interval="30s" timeout="10s"/>
          <op id="web-start-0" name="start" interval="0"/>
        </operations>
      </primitive>
      <primitive id="db" class="lsb" type="apache2"/>
    </resources>
    <constraints>
      <rsc_order id="z-order" kind="Optional" first="db" then="web"/>
      <rsc_location id="a-loc" rsc="web">
        <rule id="near-node1" score="50">
          <expression id="is-node1" attribute="#uname" operation="eq" value="node1"/>
        </rule>
      </rsc_location>
    </constraints>
  </configuration>
  <status/>
</cib>
"##;

#[test]
fn xml_ids_and_order_survive_show_edit_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    let copy = dir.path().join("copy.json");
    let xml = dir.path().join("in.xml");
    fs::write(&xml, IDS_XML).unwrap();
    crm(&cib)
        .args(["configure", "load", "xml", "replace"])
        .arg(&xml)
        .assert()
        .success();
    let shown = show(&cib);
    assert!(
        shown.contains("\top monitor id=web-check interval=30s timeout=10s"),
        "{shown}"
    );
    // crmsh's own generated id stays hidden.
    assert!(shown.contains("\top start interval=0\n"), "{shown}");
    assert!(
        shown.contains("\trule $id=near-node1 50: $id=is-node1 #uname eq node1"),
        "{shown}"
    );
    let configuration = |file: &Path| {
        let out = crm(file)
            .args(["--json", "configure", "show"])
            .assert()
            .success();
        json_of(&out.get_output().stdout)["data"]["configuration"].clone()
    };
    let resource_ids = |file: &Path| -> Vec<String> {
        configuration(file)["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["primitive"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    // show xml, then load xml: the same configuration.
    let exported = dir.path().join("out.xml");
    let out = crm(&cib)
        .args(["configure", "show", "xml"])
        .assert()
        .success();
    fs::write(&exported, &out.get_output().stdout).unwrap();
    crm(&copy)
        .args(["configure", "load", "xml", "replace"])
        .arg(&exported)
        .assert()
        .success();
    assert_eq!(configuration(&copy), configuration(&cib));
    // A whole-configuration edit changes what was edited and keeps the CIB's order.
    crm(&cib)
        .env("EDITOR", "sed -i s/timeout=10s/timeout=15s/")
        .env_remove("VISUAL")
        .args(["configure", "edit"])
        .assert()
        .success();
    assert!(show(&cib).contains("id=web-check interval=30s timeout=15s"));
    assert_eq!(resource_ids(&cib), ["web", "db"]);
    let constraints = configuration(&cib)["constraints"].clone();
    assert_eq!(constraints[0]["order"]["id"], "z-order", "{constraints}");
}

#[test]
fn resource_and_node_levels_change_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    crm(&cib)
        .write_stdin("configure\nnode node1\nprimitive vip IPaddr params ip=10.0.0.1\n")
        .assert()
        .success();
    crm(&cib)
        .args(["resource", "stop", "vip"])
        .assert()
        .success();
    crm(&cib)
        .args(["node", "standby", "node1"])
        .assert()
        .success();
    let text = show(&cib);
    assert!(text.contains("\tmeta target-role=Stopped\n"), "{text}");
    assert!(
        text.contains("node node1 \\\n\tattributes standby=on\n"),
        "{text}"
    );
    crm(&cib)
        .args(["resource", "start", "vipp"])
        .assert()
        .code(1)
        .stderr(contains("did you mean \"vip\"?"));
}

/// The interactive shell on a pseudo-terminal, driven like a person would.
mod interactive {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::process::{Child, Stdio};
    use std::time::{Duration, Instant};

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

    use super::*;

    struct Shell {
        child: Child,
        master: std::fs::File,
        seen: String,
    }

    impl Drop for Shell {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Shell {
        fn start(cib: &Path, args: &[&str]) -> Shell {
            let pty = nix::pty::openpty(None, None).unwrap();
            let slave = std::fs::File::from(pty.slave);
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_ha-crm"))
                .env_remove("HA_CIB_FILE")
                .env("HA_INIT_DIR", init_dir(cib))
                .env("TERM", "xterm")
                .env("HOME", cib.parent().unwrap())
                .env_remove("XDG_STATE_HOME")
                .arg("--cib-file")
                .arg(cib)
                .args(args)
                .stdin(Stdio::from(slave.try_clone().unwrap()))
                .stdout(Stdio::from(slave.try_clone().unwrap()))
                .stderr(Stdio::from(slave))
                .spawn()
                .unwrap();
            Shell {
                child,
                master: std::fs::File::from(pty.master),
                seen: String::new(),
            }
        }

        /// Reads until `text` has appeared (since the last match), bounded to 10 s.
        fn expect(&mut self, text: &str) {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(index) = self.seen.find(text) {
                    self.seen.drain(..index + text.len());
                    return;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(
                    !left.is_zero(),
                    "timed out waiting for {text:?}; saw {:?}",
                    self.seen
                );
                let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                let wait = PollTimeout::try_from(left.min(Duration::from_millis(200))).unwrap();
                if poll(&mut fds, wait).unwrap() == 0 {
                    continue;
                }
                let mut buffer = [0u8; 4096];
                let count = match self.master.read(&mut buffer) {
                    Ok(0) | Err(_) => {
                        panic!(
                            "shell closed while waiting for {text:?}; saw {:?}",
                            self.seen
                        )
                    }
                    Ok(count) => count,
                };
                let chunk = String::from_utf8_lossy(&buffer[..count]).to_string();
                // Answer cursor-position queries as a terminal would.
                if chunk.contains("\x1b[6n") {
                    self.master.write_all(b"\x1b[1;1R").unwrap();
                }
                self.seen.push_str(&chunk);
            }
        }

        fn send(&mut self, text: &str) {
            self.master.write_all(text.as_bytes()).unwrap();
        }

        fn wait_exit(&mut self) -> i32 {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status.code().unwrap_or(-1);
                }
                assert!(
                    Instant::now() < deadline,
                    "shell did not exit; saw {:?}",
                    self.seen
                );
                // Drain output so the child never blocks on a full pty.
                let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
                if poll(&mut fds, PollTimeout::from(50u8)).unwrap_or(0) > 0 {
                    let mut buffer = [0u8; 4096];
                    if let Ok(count) = self.master.read(&mut buffer) {
                        self.seen
                            .push_str(&String::from_utf8_lossy(&buffer[..count]));
                    }
                }
            }
        }
    }

    #[test]
    fn prompts_staging_commit_completion_and_leaving_with_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cib = dir.path().join("cib.json");
        configure(&cib, "primitive gohttpd lsb:gohttpd").success();
        let mut shell = Shell::start(&cib, &[]);
        shell.expect("crm(cib.json)# ");
        shell.send("configure\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("primitive vip ocf:heartbeat:IPaddr params ip=192.168.2.100\r");
        shell.expect("crm(cib.json)configure# ");
        // Staged, not yet in the file.
        assert!(!show(&cib).contains("vip"));
        shell.send("show\r");
        shell.expect("primitive vip IPaddr");
        shell.expect("crm(cib.json)configure# ");
        // Tab completes the command and the id.
        shell.send("gro\t");
        shell.expect("group ");
        shell.send("my_group v\t");
        shell.expect("vip ");
        shell.send("goh\t");
        shell.expect("gohttpd ");
        shell.send("\r");
        shell.expect("crm(cib.json)configure# ");
        // A mistake names the column and suggests, and nothing breaks.
        shell.send("primitive x ocff:heartbeat:Dummy\r");
        shell.expect("column 13: unknown resource class \"ocff\"");
        shell.expect("crm(cib.json)configure# ");
        shell.send("commit\r");
        shell.expect("crm(cib.json)configure# ");
        assert!(show(&cib).contains("group my_group vip gohttpd\n"));
        // A change left uncommitted is asked about on the way out; "n" drops it.
        shell.send("primitive extra ocf:heartbeat:Dummy\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("up\r");
        shell.expect("There are changes pending. Do you want to commit them (y/n)? ");
        shell.send("n\r");
        shell.expect("crm(cib.json)# ");
        shell.send("quit\r");
        assert_eq!(shell.wait_exit(), 0);
        assert!(!show(&cib).contains("extra"));
    }

    #[test]
    fn history_is_kept_between_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let cib = dir.path().join("cib.json");
        let mut shell = Shell::start(&cib, &[]);
        shell.expect("crm(cib.json)# ");
        shell.send("help verify\r");
        shell.expect("verify: check the staged configuration");
        shell.expect("crm(cib.json)# ");
        shell.send("quit\r");
        assert_eq!(shell.wait_exit(), 0);
        // HOME is the test's directory: the file is in XDG's state place, private.
        let file = dir.path().join(".local/state/hakit/crm_history");
        let saved = fs::read_to_string(&file).unwrap();
        assert!(saved.contains("help verify\n"), "{saved:?}");
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A new session recalls the lines with the up arrow: `quit`, then `help verify`.
        let mut shell = Shell::start(&cib, &[]);
        shell.expect("crm(cib.json)# ");
        shell.send("\x1b[A\x1b[A\r");
        shell.expect("verify: check the staged configuration");
        shell.expect("crm(cib.json)# ");
        shell.send("quit\r");
        assert_eq!(shell.wait_exit(), 0);
    }

    #[test]
    fn completes_installed_agents_and_their_parameters_and_actions() {
        let dir = tempfile::tempdir().unwrap();
        let cib = dir.path().join("cib.json");
        let mut shell = Shell::start(&cib, &["configure"]);
        shell.expect("crm(cib.json)configure# ");
        // ocf:heartbeat agents come with resource-agents; hakit has built-in ones otherwise.
        shell.send("primitive sleeper ocf:heartbeat:anyth\t");
        shell.expect("anything ");
        shell.send("binf\t");
        shell.expect("binfile=");
        shell.send("/bin/sleep\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("primitive vip ocf:heartbeat:IPaddr2 cidr_net\t");
        shell.expect("cidr_netmask=");
        shell.send("24 ip=10.0.0.9 op mon\t");
        shell.expect("monitor ");
        shell.send("inter\t");
        shell.expect("interval=");
        shell.send("10s\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("show vip\r");
        shell.expect("params cidr_netmask=24 ip=10.0.0.9");
        shell.expect("crm(cib.json)configure# ");
        shell.send("commit\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("quit\r");
        assert_eq!(shell.wait_exit(), 0);
        let shown = show(&cib);
        assert!(shown.contains("op monitor interval=10s"), "{shown}");
        assert!(shown.contains("primitive sleeper anything"), "{shown}");
    }

    #[test]
    fn interrupting_the_question_keeps_the_level_and_the_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cib = dir.path().join("cib.json");
        let mut shell = Shell::start(&cib, &["configure"]);
        shell.expect("crm(cib.json)configure# ");
        shell.send("property stonith-enabled=false\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("end\r");
        shell.expect("Do you want to commit them (y/n)? ");
        shell.send("\x03");
        shell.expect("still at the configure level with the changes pending");
        shell.expect("crm(cib.json)configure# ");
        shell.send("show changed\r");
        shell.expect("stonith-enabled=false");
        shell.expect("crm(cib.json)configure# ");
        shell.send("commit\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("quit\r");
        assert_eq!(shell.wait_exit(), 0);
        assert!(show(&cib).contains("stonith-enabled=false"));
    }

    #[test]
    fn answering_yes_commits_on_quit() {
        let dir = tempfile::tempdir().unwrap();
        let cib = dir.path().join("cib.json");
        let mut shell = Shell::start(&cib, &["configure"]);
        shell.expect("crm(cib.json)configure# ");
        shell.send("property stonith-enabled=false\r");
        shell.expect("crm(cib.json)configure# ");
        shell.send("quit\r");
        shell.expect("Do you want to commit them (y/n)? ");
        shell.send("y\r");
        assert_eq!(shell.wait_exit(), 0);
        assert!(show(&cib).contains("stonith-enabled=false"));
    }
}

#[test]
fn edit_applies_the_text_changed_in_the_editor() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "primitive vip IPaddr params ip=10.0.0.1").success();
    crm(&cib)
        .env("EDITOR", "sed -i s/ip=10.0.0.1/ip=10.0.0.2/")
        .env_remove("VISUAL")
        .args(["configure", "edit", "vip"])
        .assert()
        .success();
    assert!(show(&cib).contains("params ip=10.0.0.2\n"));
    // A broken edit changes nothing and says where.
    crm(&cib)
        .env("EDITOR", "sed -i s/IPaddr/ocff:x:IPaddr/")
        .env_remove("VISUAL")
        .args(["configure", "edit"])
        .assert()
        .code(1)
        .stderr(contains(
            "edited text:1:15: unknown resource class \"ocff\"",
        ));
    assert!(show(&cib).contains("primitive vip IPaddr"));
}

#[test]
fn verify_checks_agents_and_their_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    configure(&cib, "primitive vip ocf:heartbeat:IPaddr")
        .code(1)
        .stderr(contains(
            "vip: required parameter ip of ocf:heartbeat:IPaddr is not set",
        ))
        .stderr(contains("commit refused"));
    // On a CIB file the agent may be installed on the nodes only: a warning, not an error.
    configure(&cib, "primitive web lsb:no-such-script")
        .success()
        .stderr(contains(
            "web: unknown agent lsb:no-such-script (not installed on this machine)",
        ));
    configure(&cib, "delete web").success();
    configure(&cib, "primitive vip IPaddr params ip=10.0.0.1 colour=blue")
        .success()
        .stderr(contains("ocf:heartbeat:IPaddr has no parameter colour"));
    crm(&cib)
        .args(["ra", "info", "IPaddr"])
        .assert()
        .success()
        .stdout(contains("ocf:heartbeat:IPaddr"))
        .stdout(contains("required"));
    crm(&cib)
        .args(["ra", "classes"])
        .assert()
        .success()
        .stdout(contains("ocf\n"))
        .stdout(contains("lsb\n"));
}

#[test]
fn agent_meta_data_is_run_once_until_the_agent_changes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cib = dir.path().join("cib.json");
    let runs = dir.path().join("runs");
    let agent_dir = dir.path().join("ocf/resource.d/test");
    fs::create_dir_all(&agent_dir).unwrap();
    let agent = agent_dir.join("Counted");
    let write_agent = |comment: &str| {
        let script = format!(
            "#!/bin/sh\n# {comment}\necho run >> {}\ncat <<'EOF'\n<?xml version=\"1.0\"?>\n\
             <resource-agent name=\"Counted\"><version>1.0</version><parameters>\
             <parameter name=\"state\"><content type=\"string\"/></parameter></parameters>\
             <actions><action name=\"start\" timeout=\"20s\"/></actions></resource-agent>\nEOF\n",
            runs.display()
        );
        fs::write(&agent, script).unwrap();
        fs::set_permissions(&agent, fs::Permissions::from_mode(0o755)).unwrap();
    };
    let run_count = || {
        fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .count()
    };
    let configure_with_cache = |line: &str| {
        crm(&cib)
            .env("OCF_ROOT", dir.path().join("ocf"))
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .arg("configure")
            .args(line.split_whitespace())
            .assert()
    };
    write_agent("first");
    configure_with_cache("primitive a ocf:test:Counted params state=x").success();
    assert_eq!(run_count(), 1);
    // The answer is kept: the second line does not run the agent, and still checks with it.
    configure_with_cache("primitive b ocf:test:Counted params colour=x")
        .success()
        .stderr(contains("ocf:test:Counted has no parameter colour"));
    assert_eq!(run_count(), 1);
    // A new version of the agent is asked again.
    write_agent("second version");
    configure_with_cache("primitive c ocf:test:Counted").success();
    assert_eq!(run_count(), 2);
}
