//! The IPC layer over real Unix sockets: a mio server loop built the way the daemons build
//! theirs, and the blocking client the commands use.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hakit::cli::{Exit, ipc_failure};
use hakit::ipc::{self, Client, Connection, ErrorBody, PeerPolicy, Request, code};
use mio::net::{UnixListener, UnixStream};
use mio::{Events, Interest, Poll, Token, Waker};
use serde_json::{Value, json};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const FIRST_CLIENT: usize = 16;
/// The server thread ends by itself after this, whatever happens to the test.
const SERVER_LIFETIME: Duration = Duration::from_secs(60);

/// A small daemon built like the real ones (mio loop, `ipc::Connection` per client):
/// `echo` returns its arguments, `events` streams two events before its reply, anything
/// else is an unknown command. Stopped and joined on drop.
struct TestServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(path: &Path, policy: PeerPolicy) -> TestServer {
        let std_listener = ipc::bind_listener(path, None).unwrap();
        let mut listener = UnixListener::from_std(std_listener);
        let poll = Poll::new().unwrap();
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::spawn(move || serve(poll, listener, policy, &thread_stop));
        TestServer {
            path: path.into(),
            stop,
            waker,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(mut poll: Poll, listener: UnixListener, policy: PeerPolicy, stop: &AtomicBool) {
    let started = Instant::now();
    let mut events = Events::with_capacity(64);
    let mut conns: HashMap<Token, Connection<UnixStream>> = HashMap::new();
    let mut next = FIRST_CLIENT;
    while !stop.load(Ordering::SeqCst) && started.elapsed() < SERVER_LIFETIME {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(200))) {
            assert_eq!(e.kind(), std::io::ErrorKind::Interrupted);
            continue;
        }
        for event in events.iter() {
            let token = match event.token() {
                WAKER => continue,
                LISTENER => {
                    while let Ok((mut stream, _)) = listener.accept() {
                        let token = Token(next);
                        next += 1;
                        poll.registry()
                            .register(&mut stream, token, Interest::READABLE | Interest::WRITABLE)
                            .unwrap();
                        let mut conn = Connection::accept(stream, &policy);
                        conn.flush();
                        conns.insert(token, conn);
                    }
                    continue;
                }
                token => token,
            };
            let Some(conn) = conns.get_mut(&token) else {
                continue;
            };
            for request in conn.read_requests() {
                handle(conn, request);
            }
            conn.flush();
            if conn.is_finished() {
                let mut conn = conns.remove(&token).unwrap();
                poll.registry().deregister(&mut conn.stream).unwrap();
            }
        }
    }
}

fn handle(conn: &mut Connection<UnixStream>, request: Request) {
    let result = match request.cmd.as_str() {
        "echo" => Ok(Value::Object(request.args)),
        "events" => {
            for n in 1..=2 {
                conn.send_event(&json!({"type": "tick", "n": n}));
            }
            Ok(json!({"subscribed": true}))
        }
        other => Err(ErrorBody::new(
            code::UNKNOWN_COMMAND,
            format!("unknown command {other:?}"),
        )),
    };
    conn.reply(request.id, &result);
}

fn open_policy() -> PeerPolicy {
    PeerPolicy {
        uids: vec![nix::unistd::geteuid().as_raw()],
        gid: None,
    }
}

fn connect(path: &Path) -> Client {
    Client::connect(path, Duration::from_secs(5)).unwrap()
}

fn error_of(reply: Option<Value>) -> (Value, String) {
    let reply = reply.expect("a reply line");
    assert_eq!(reply["ok"], false, "{reply}");
    (
        reply["id"].clone(),
        reply["error"]["code"].as_str().unwrap().to_string(),
    )
}

#[test]
fn request_reply_round_trip_with_ids_and_remote_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("d.sock"), open_policy());
    let mut client = connect(&server.path);
    assert_eq!(
        client.call("echo", json!({"x": 1, "name": "n1"})).unwrap(),
        json!({"x": 1, "name": "n1"})
    );
    assert_eq!(client.call("echo", Value::Null).unwrap(), json!({}));
    match client.call("frobnicate", json!({})) {
        Err(ipc::Error::Remote(body)) => assert_eq!(body.code, code::UNKNOWN_COMMAND),
        other => panic!("{other:?}"),
    }
    // The connection survives a refused command.
    assert_eq!(
        client.call("echo", json!({"y": 2})).unwrap(),
        json!({"y": 2})
    );
}

#[test]
fn streamed_events_are_kept_in_order_around_replies() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("d.sock"), open_policy());
    let mut client = connect(&server.path);
    assert_eq!(
        client.call("events", json!({})).unwrap(),
        json!({"subscribed": true})
    );
    for n in 1..=2 {
        assert_eq!(
            client.next_event().unwrap(),
            Some(json!({"type": "tick", "n": n}))
        );
    }
}

#[test]
fn malformed_json_gets_an_error_reply_and_the_connection_stays_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("d.sock"), open_policy());
    let mut client = connect(&server.path);
    client.send_raw(b"{this is not json\n").unwrap();
    let (id, code) = error_of(client.read_value().unwrap());
    assert_eq!((id, code.as_str()), (Value::Null, code::MALFORMED));
    client.send_raw(b"\"a string\"\n").unwrap();
    assert_eq!(error_of(client.read_value().unwrap()).1, code::MALFORMED);
    assert_eq!(
        client.call("echo", json!({"z": 3})).unwrap(),
        json!({"z": 3})
    );
}

#[test]
fn wrong_protocol_version_is_refused_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("d.sock"), open_policy());
    let mut client = connect(&server.path);
    client
        .send_raw(b"{\"v\":99,\"id\":41,\"cmd\":\"echo\"}\n")
        .unwrap();
    let (id, code) = error_of(client.read_value().unwrap());
    assert_eq!((id, code.as_str()), (json!(41), code::UNSUPPORTED_VERSION));
}

#[test]
fn oversized_message_gets_too_large_and_the_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("d.sock"), open_policy());
    let mut client = connect(&server.path);
    let mut blob = b"{\"v\":1,\"id\":1,\"cmd\":\"echo\",\"blob\":\"".to_vec();
    blob.resize(ipc::MAX_LINE_BYTES + 100, b'x');
    // The server may close before taking it all; what matters is what comes back.
    let _ = client.send_raw(&blob);
    let (id, code) = error_of(client.read_value().unwrap());
    assert_eq!((id, code.as_str()), (Value::Null, code::TOO_LARGE));
    assert_eq!(
        client.read_value().unwrap(),
        None,
        "connection closed after too_large"
    );
    // The server itself is fine.
    let mut other = connect(&server.path);
    assert_eq!(other.call("echo", json!({})).unwrap(), json!({}));
}

#[test]
fn a_peer_outside_the_policy_is_refused_and_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let policy = PeerPolicy {
        uids: vec![4_000_000],
        gid: None,
    };
    let server = TestServer::start(&dir.path().join("d.sock"), policy);
    let mut client = connect(&server.path);
    let (id, code) = error_of(client.read_value().unwrap());
    assert_eq!((id, code.as_str()), (Value::Null, code::PERMISSION_DENIED));
    assert_eq!(client.read_value().unwrap(), None);
}

/// Runs in a child process as `nobody` (see the test below); does nothing otherwise.
#[test]
fn child_connects_as_another_user() {
    let Ok(path) = std::env::var("HAKIT_IPC_CHILD_SOCKET") else {
        return;
    };
    let outcome = match Client::connect(Path::new(&path), Duration::from_secs(5)) {
        Err(e) if e.is_unreachable() => "unreachable".to_string(),
        Err(e) => format!("error {e}"),
        Ok(mut client) => match client.read_value() {
            Ok(Some(reply)) => reply["error"]["code"].as_str().unwrap_or("?").to_string(),
            other => format!("{other:?}"),
        },
    };
    let mut out = std::fs::File::create(std::env::var("HAKIT_IPC_CHILD_OUT").unwrap()).unwrap();
    writeln!(out, "{outcome}").unwrap();
}

fn run_child_as_nobody(socket: &Path, out: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_connects_as_another_user",
            "--exact",
            "--test-threads=1",
        ])
        .env("HAKIT_IPC_CHILD_SOCKET", socket)
        .env("HAKIT_IPC_CHILD_OUT", out)
        .uid(65534)
        .gid(65534)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read_to_string(out).unwrap().trim().to_string()
}

/// A real process of another user: with the socket's 0660 mode it cannot connect at all;
/// with the socket opened up, SO_PEERCRED still identifies it and the daemon refuses it.
#[test]
fn another_user_is_kept_out_by_mode_and_by_peer_credentials() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: needs root to run a client as nobody");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let socket = dir.path().join("d.sock");
    let out = dir.path().join("child.out");
    let server = TestServer::start(&socket, PeerPolicy::system());
    assert_eq!(run_child_as_nobody(&socket, &out), "unreachable");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    assert_eq!(run_child_as_nobody(&socket, &out), code::PERMISSION_DENIED);
    // Root still gets in.
    assert_eq!(
        connect(&server.path).call("echo", json!({})).unwrap(),
        json!({})
    );
}

#[test]
fn bind_makes_a_0660_socket_replaces_stale_ones_and_refuses_live_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sock");
    let first = ipc::bind_listener(&path, None).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, ipc::SOCKET_MODE);
    assert!(matches!(
        ipc::bind_listener(&path, None),
        Err(ipc::Error::InUse { .. })
    ));
    drop(first); // the daemon died; its socket file stays behind
    assert!(path.exists());
    let _second = ipc::bind_listener(&path, None).unwrap();

    let file = dir.path().join("plain");
    std::fs::write(&file, "keep me").unwrap();
    assert!(matches!(
        ipc::bind_listener(&file, None),
        Err(ipc::Error::Bind { .. })
    ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
}

#[test]
fn nobody_listening_is_unreachable_exit_3_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ring.sock");
    let err = Client::connect(&path, Duration::from_millis(200)).unwrap_err();
    assert!(err.is_unreachable());
    let failure = ipc_failure("ha-ring", err);
    assert_eq!(failure.exit, Exit::Unreachable);
    assert_eq!(failure.exit.code(), 3);
    assert_eq!(
        failure.to_string(),
        format!("cannot reach ha-ring at {}: no such socket", path.display())
    );
    assert_eq!(failure.hint.as_deref(), Some("is ha-ring running?"));

    // A stale socket file with no daemon behind it: connection refused.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let failure = ipc_failure(
        "ha-ring",
        Client::connect(&path, Duration::from_millis(200)).unwrap_err(),
    );
    assert!(failure.to_string().ends_with("connection refused"));
}

#[test]
fn a_silent_daemon_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mute.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut client = Client::connect(&path, Duration::from_millis(100)).unwrap();
    assert!(matches!(
        client.call("status", json!({})),
        Err(ipc::Error::Timeout(_))
    ));
}
