//! Newline-delimited JSON requests and replies over Unix stream sockets, between the
//! commands and the daemons.
//!
//! One JSON object per line, each way:
//!
//! - request: `{"v":1,"id":7,"cmd":"status", ...args}`: `v` is [`PROTOCOL_VERSION`], `id` a
//!   client-chosen integer echoed in the reply, every other key an argument of `cmd`;
//! - reply: `{"id":7,"ok":true,"data":{...}}` or
//!   `{"id":7,"ok":false,"error":{"code":"unknown_command","message":"..."}}` (`id` is null
//!   when the request was too broken to have one);
//! - event (on subscribed connections): any object without an `id`, tagged by `type`, e.g.
//!   `{"type":"member_left","node":2,"view":13}`.
//!
//! Server side (a daemon's mio loop): create the socket with [`bind_listener`], wrap each
//! accepted stream in a [`Connection`] (peer check, decoding, bounded replies and events).
//! The parts it is made of ([`RequestDecoder`], [`WriteQueue`], [`check_peer`], the
//! `encode_*` functions) are public for daemons with other needs.
//! Client side (a command): [`Client::connect`], [`Client::call`], [`Client::next_event`].
//!
//! Lines longer than [`MAX_LINE_BYTES`] are never buffered: the decoder reports
//! [`code::TOO_LARGE`] once and the connection must be closed.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The protocol version carried in every request's `v`.
pub const PROTOCOL_VERSION: u64 = 1;
/// Largest payload (`data` or arguments) a message is meant to carry: 1 MiB.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
/// Largest line accepted, payload plus envelope and JSON escaping overhead.
pub const MAX_LINE_BYTES: usize = MAX_PAYLOAD_BYTES + 64 * 1024;
/// Most bytes a [`WriteQueue`] holds for one slow reader before it is cut off.
pub const MAX_QUEUED_BYTES: usize = 4 * MAX_LINE_BYTES;
/// Most events a [`Client`] keeps while waiting for a reply; older ones are dropped.
pub const MAX_QUEUED_EVENTS: usize = 1024;
/// Default time a client waits to connect, and for each read or write.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Mode of daemon sockets: owner and group may connect.
pub const SOCKET_MODE: u32 = 0o660;
/// Members of this group, when it exists, may talk to the daemons besides root.
pub const CLIENT_GROUP: &str = "haclient";

/// Error codes carried in `error.code`.
pub mod code {
    /// The line was not a JSON object with an integer `id` and a string `cmd`.
    pub const MALFORMED: &str = "malformed";
    /// The line exceeded [`super::MAX_LINE_BYTES`]; the connection is closed.
    pub const TOO_LARGE: &str = "too_large";
    /// `v` was missing or not [`super::PROTOCOL_VERSION`].
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    /// The daemon does not know `cmd`.
    pub const UNKNOWN_COMMAND: &str = "unknown_command";
    /// An argument is missing or has the wrong type or value.
    pub const BAD_ARGS: &str = "bad_args";
    /// The peer is neither root nor in the client group; the connection is closed.
    pub const PERMISSION_DENIED: &str = "permission_denied";
    /// The daemon cannot do it now (shutting down, not ready).
    pub const UNAVAILABLE: &str = "unavailable";
    /// The command was understood and failed.
    pub const FAILED: &str = "failed";
}

/// A request as decoded by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Protocol version; always [`PROTOCOL_VERSION`] once decoded.
    pub v: u64,
    /// Client-chosen id, echoed in the reply.
    pub id: u64,
    /// The command name.
    pub cmd: String,
    /// Every other key of the request object.
    #[serde(flatten)]
    pub args: Map<String, Value>,
}

/// `error` in a failed reply: `{"code":"bad_args","message":"node must be an integer"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One of [`code`], or a daemon-specific snake_case code.
    pub code: String,
    /// One line for people.
    pub message: String,
}

impl ErrorBody {
    /// An error body from a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Why an IPC operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nobody listens on the socket (or it does not exist, or may not be opened). Nothing
    /// was sent. Commands turn this into exit 3.
    #[error("cannot reach {}", path.display())]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// Why the connection failed.
        source: io::Error,
    },
    /// No reply within the timeout; the connection should be dropped.
    #[error("no reply within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The daemon closed the connection before replying.
    #[error("the daemon closed the connection")]
    Closed,
    /// Reading or writing the connection failed; the connection is unusable.
    #[error("connection failed")]
    Io(#[source] io::Error),
    /// The daemon sent something that is not a reply; the connection is unusable.
    #[error("bad reply from the daemon: {0}")]
    Protocol(String),
    /// The daemon answered with an error; the connection stays usable unless the code is
    /// `too_large` or `permission_denied`.
    #[error("{}: {}", .0.code, .0.message)]
    Remote(ErrorBody),
    /// A message to send is larger than [`MAX_LINE_BYTES`]; nothing was sent.
    #[error("message of {0} bytes exceeds the limit of {MAX_LINE_BYTES}")]
    TooLarge(usize),
    /// Another process is serving this socket path; nothing was changed.
    #[error("{} is in use by a running daemon", path.display())]
    InUse {
        /// The socket path.
        path: PathBuf,
    },
    /// The socket could not be created; nothing is listening.
    #[error("cannot create socket {}", path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The peer is not allowed; the server closes the connection.
    #[error("peer uid {uid} gid {gid} is neither root nor in group {CLIENT_GROUP}")]
    PermissionDenied {
        /// Peer user id.
        uid: u32,
        /// Peer primary group id.
        gid: u32,
    },
}

impl Error {
    /// True when the daemon could not be reached at all (exit 3 in commands).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Connect { .. })
    }
}

// ---------------------------------------------------------------------------------------
// Encoding.

fn line_of(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("a JSON value always serialises");
    bytes.push(b'\n');
    bytes
}

/// One request line, `{"v":1,"id":…,"cmd":…,…args}`. `args` must be an object (or null);
/// its keys `v`, `id` and `cmd` are overridden.
pub fn encode_request(id: u64, cmd: &str, args: &Value) -> Result<Vec<u8>, Error> {
    let mut object = match args {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        other => {
            return Err(Error::Protocol(format!(
                "request arguments must be an object, not {other}"
            )));
        }
    };
    object.insert("v".into(), PROTOCOL_VERSION.into());
    object.insert("id".into(), id.into());
    object.insert("cmd".into(), cmd.into());
    let bytes = line_of(&Value::Object(object));
    if bytes.len() > MAX_LINE_BYTES {
        return Err(Error::TooLarge(bytes.len()));
    }
    Ok(bytes)
}

/// One success reply line, `{"id":…,"ok":true,"data":…}`.
pub fn encode_ok(id: u64, data: &impl Serialize) -> Vec<u8> {
    #[derive(Serialize)]
    struct Reply<'a, T> {
        id: u64,
        ok: bool,
        data: &'a T,
    }
    // Straight to bytes: one reply per pipelined request, no `Value` in between.
    match serde_json::to_vec(&Reply { id, ok: true, data }) {
        Ok(mut bytes) => {
            bytes.push(b'\n');
            bytes
        }
        Err(e) => {
            let data = Value::String(format!("reply could not be encoded: {e}"));
            line_of(&serde_json::json!({ "id": id, "ok": true, "data": data }))
        }
    }
}

/// One error reply line, `{"id":…|null,"ok":false,"error":{"code","message"}}`.
pub fn encode_error(id: Option<u64>, error: &ErrorBody) -> Vec<u8> {
    line_of(&serde_json::json!({ "id": id, "ok": false, "error": error }))
}

/// A reply line for a command's result.
pub fn encode_reply(id: u64, result: &Result<Value, ErrorBody>) -> Vec<u8> {
    match result {
        Ok(data) => encode_ok(id, data),
        Err(error) => encode_error(Some(id), error),
    }
}

/// One event line: the event's own object (it should carry a `type`), never an `id`.
pub fn encode_event(event: &impl Serialize) -> Vec<u8> {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("id");
    }
    line_of(&value)
}

// ---------------------------------------------------------------------------------------
// Framing.

/// A line that exceeded the limit; what was buffered has been dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized;

/// Splits a byte stream into lines of at most `max` bytes, holding at most about `max`
/// bytes of an unfinished line. After an oversized line it yields [`Oversized`] once and
/// then nothing: a stream cannot be resynchronised safely, so the caller closes it.
#[derive(Debug)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Start of the bytes not yet returned as lines (the consumed front is dropped on
    /// the next push, so taking a line never moves the rest of the buffer).
    start: usize,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
    max: usize,
    state: LineState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    Open,
    /// Oversized, not yet reported.
    Overflowed,
    /// Oversized and reported; everything is ignored from now on.
    Dead,
}

impl LineBuffer {
    /// A buffer for lines of at most `max` bytes (newline excluded).
    pub fn new(max: usize) -> LineBuffer {
        LineBuffer {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max,
            state: LineState::Open,
        }
    }

    /// Adds bytes read from the stream. Call [`LineBuffer::next_line`] until it returns
    /// `None` before pushing more, so at most one unfinished line is held.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.state != LineState::Open {
            return;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
        let unfinished = match self.buf.iter().rposition(|&b| b == b'\n') {
            Some(last_newline) => self.buf.len() - last_newline - 1,
            None => self.buf.len(),
        };
        // A caller that never drains still cannot make this grow without bound.
        if unfinished > self.max || self.buf.len() > 4 * self.max.max(1) {
            self.overflow();
        }
    }

    fn overflow(&mut self) {
        self.buf = Vec::new();
        self.start = 0;
        self.scanned = 0;
        self.state = LineState::Overflowed;
    }

    /// The next complete line without its newline (a trailing `\r` is kept), or
    /// `Err(Oversized)` once after an oversized line, or `None` when more bytes are needed.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, Oversized>> {
        self.next_line_ref().map(|line| line.map(<[u8]>::to_vec))
    }

    /// Like [`LineBuffer::next_line`], borrowing the line from the buffer instead of
    /// copying it (valid until the next call).
    pub fn next_line_ref(&mut self) -> Option<Result<&[u8], Oversized>> {
        match self.state {
            LineState::Dead => return None,
            LineState::Overflowed => {
                self.state = LineState::Dead;
                return Some(Err(Oversized));
            }
            LineState::Open => {}
        }
        let found = find_newline(&self.buf[self.scanned..]);
        match found {
            None => {
                self.scanned = self.buf.len();
                None
            }
            Some(offset) => {
                let end = self.scanned + offset;
                if end - self.start > self.max {
                    self.overflow();
                    return self.next_line_ref();
                }
                let start = self.start;
                // The consumed front is dropped by the next push.
                self.start = end + 1;
                self.scanned = self.start;
                Some(Ok(&self.buf[start..end]))
            }
        }
    }

    /// Bytes held (for bounds checks and status counters).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// True once an oversized line was seen.
    pub fn is_dead(&self) -> bool {
        self.state != LineState::Open
    }
}

/// Position of the first newline, looking at eight bytes at a time (lines of events and
/// requests run to kilobytes).
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ (ONES * 0x0a);
        // Non-zero exactly when some byte of the word was a newline.
        if word.wrapping_sub(ONES) & !word & HIGHS != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..].iter().position(|&b| b == b'\n').map(|i| at + i)
}

/// What a server gets out of a connection's bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A well-formed request of the current version.
    Request(Request),
    /// A line that cannot be served: answer with `encode_error(id, &error)`, then close the
    /// connection when `close` is set.
    Invalid {
        /// The request's id when it had a readable one.
        id: Option<u64>,
        /// What to answer.
        error: ErrorBody,
        /// Whether the connection must be closed after the answer.
        close: bool,
    },
}

/// The per-connection request decoder a daemon keeps beside each client socket. Pure:
/// the daemon reads the bytes (e.g. until `WouldBlock`) and pushes them in.
#[derive(Debug)]
pub struct RequestDecoder {
    lines: LineBuffer,
}

impl Default for RequestDecoder {
    fn default() -> RequestDecoder {
        RequestDecoder::new()
    }
}

impl RequestDecoder {
    /// A decoder with the [`MAX_LINE_BYTES`] limit.
    pub fn new() -> RequestDecoder {
        RequestDecoder {
            lines: LineBuffer::new(MAX_LINE_BYTES),
        }
    }

    /// Adds bytes read from the connection; then call [`RequestDecoder::next`] until `None`.
    pub fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    /// Reads from a non-blocking `source` until it would block, decoding as it goes, and
    /// returns the items plus whether the peer closed its side. Stops reading early after
    /// an oversized line (the connection is to be closed anyway).
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<(Vec<Incoming>, bool)> {
        let mut items = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match source.read(&mut chunk) {
                Ok(0) => {
                    items.extend(self.drain());
                    return Ok((items, true));
                }
                Ok(n) => {
                    self.push(&chunk[..n]);
                    items.extend(self.drain());
                    if self.lines.is_dead() {
                        return Ok((items, false));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((items, false)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn drain(&mut self) -> Vec<Incoming> {
        std::iter::from_fn(|| self.next()).collect()
    }

    /// The next decoded item, or `None` when more bytes are needed. Blank lines are
    /// skipped.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Incoming> {
        loop {
            let line = match self.lines.next_line_ref()? {
                Ok(line) => line,
                Err(Oversized) => {
                    return Some(Incoming::Invalid {
                        id: None,
                        error: ErrorBody::new(
                            code::TOO_LARGE,
                            format!("request line exceeds {MAX_LINE_BYTES} bytes"),
                        ),
                        close: true,
                    });
                }
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(decode_request(line));
        }
    }
}

/// Decodes one request line (without its newline).
pub fn decode_request(line: &[u8]) -> Incoming {
    let invalid = |id, code: &str, message: String| Incoming::Invalid {
        id,
        error: ErrorBody::new(code, message),
        close: false,
    };
    let mut object = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(object)) => object,
        Ok(other) => {
            return invalid(
                None,
                code::MALFORMED,
                format!("expected a JSON object, got {}", kind_of(&other)),
            );
        }
        Err(e) => return invalid(None, code::MALFORMED, format!("invalid JSON: {e}")),
    };
    let id = match object.remove("id") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().expect("checked"),
        _ => {
            return invalid(
                None,
                code::MALFORMED,
                "expected \"id\": a non-negative integer".into(),
            );
        }
    };
    match object.remove("v").as_ref().and_then(Value::as_u64) {
        Some(PROTOCOL_VERSION) => {}
        other => {
            let got = other.map_or_else(|| "none".to_string(), |v| v.to_string());
            return invalid(
                Some(id),
                code::UNSUPPORTED_VERSION,
                format!("protocol version {got} is not supported (expected {PROTOCOL_VERSION})"),
            );
        }
    }
    let cmd = match object.remove("cmd") {
        Some(Value::String(cmd)) if !cmd.is_empty() => cmd,
        _ => {
            return invalid(
                Some(id),
                code::MALFORMED,
                "expected \"cmd\": a command name".into(),
            );
        }
    };
    Incoming::Request(Request {
        v: PROTOCOL_VERSION,
        id,
        cmd,
        args: object,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Outgoing bytes for one connection, bounded by [`MAX_QUEUED_BYTES`]: a client that stops
/// reading is cut off instead of growing the daemon's memory.
#[derive(Debug, Default)]
pub struct WriteQueue {
    buf: VecDeque<u8>,
}

/// The queue is full; the connection should be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

impl WriteQueue {
    /// An empty queue.
    pub fn new() -> WriteQueue {
        WriteQueue::default()
    }

    /// Queues one encoded line; refuses it whole if it would exceed the bound.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), QueueFull> {
        if self.buf.len() + bytes.len() > MAX_QUEUED_BYTES {
            return Err(QueueFull);
        }
        self.buf.extend(bytes);
        Ok(())
    }

    /// Writes as much as `sink` takes without blocking; true when everything went out.
    pub fn flush_to(&mut self, sink: &mut impl Write) -> io::Result<bool> {
        while !self.buf.is_empty() {
            let (front, _) = self.buf.as_slices();
            match sink.write(front) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.buf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// One accepted client connection on the daemon side: the stream, its decoder and its
/// bounded write queue. Malformed lines, version mismatches and oversized lines are answered
/// here, so the daemon only sees well-formed [`Request`]s.
///
/// Use from a mio loop: register `stream` for readable and writable; on readable call
/// [`Connection::read_requests`] and answer each with [`Connection::reply`]; push events
/// with [`Connection::send_event`]; on any event call [`Connection::flush`]; deregister and
/// drop the connection once [`Connection::is_finished`].
#[derive(Debug)]
pub struct Connection<S> {
    /// The socket (e.g. `mio::net::UnixStream`).
    pub stream: S,
    /// The peer's credentials, when they could be read.
    pub peer: Option<PeerCred>,
    decoder: RequestDecoder,
    out: WriteQueue,
    /// No more requests are read; the connection ends once the queue is written.
    closing: bool,
    /// The stream failed; the connection ends now.
    broken: bool,
    /// Events not queued because the client was not reading.
    events_dropped: u64,
}

impl<S: Read + Write + AsFd> Connection<S> {
    /// Wraps an accepted stream and checks its peer against `policy`; a refused peer gets a
    /// `permission_denied` error and the connection is closed once that is written.
    pub fn accept(stream: S, policy: &PeerPolicy) -> Connection<S> {
        let mut conn = Connection {
            peer: peer_credentials(&stream).ok(),
            stream,
            decoder: RequestDecoder::new(),
            out: WriteQueue::new(),
            closing: false,
            broken: false,
            events_dropped: 0,
        };
        let refusal = match &conn.peer {
            Some(peer) => policy.check(peer).err().map(|e| e.to_string()),
            None => Some("peer credentials unavailable".to_string()),
        };
        if let Some(message) = refusal {
            conn.queue(&encode_error(
                None,
                &ErrorBody::new(code::PERMISSION_DENIED, message),
            ));
            conn.closing = true;
        }
        conn
    }

    /// Reads what is available (until `WouldBlock`) and returns the well-formed requests;
    /// invalid lines are answered on the spot. The peer closing its side ends the
    /// connection after the replies are written.
    pub fn read_requests(&mut self) -> Vec<Request> {
        if self.closing || self.broken {
            return Vec::new();
        }
        let (items, eof) = match self.decoder.read_from(&mut self.stream) {
            Ok(result) => result,
            Err(_) => {
                self.broken = true;
                return Vec::new();
            }
        };
        self.closing |= eof;
        let mut requests = Vec::new();
        for item in items {
            match item {
                Incoming::Request(request) => requests.push(request),
                Incoming::Invalid { id, error, close } => {
                    self.queue(&encode_error(id, &error));
                    self.closing |= close;
                }
            }
        }
        requests
    }

    /// Queues the reply to request `id`.
    pub fn reply(&mut self, id: u64, result: &Result<Value, ErrorBody>) {
        self.queue(&encode_reply(id, result));
    }

    /// Queues an event line; counted and dropped when the client is too far behind (the
    /// connection is then closed, since the client missed events).
    pub fn send_event(&mut self, event: &impl Serialize) {
        if self.out.push(&encode_event(event)).is_err() {
            self.events_dropped += 1;
            self.closing = true;
        }
    }

    /// Queues an event the caller serialised itself: exactly one JSON object with a
    /// `type` and no `id`, followed by a newline. For hot paths that skip building a
    /// [`Value`]; same bound and drop rule as [`Connection::send_event`].
    pub fn send_event_line(&mut self, line: &[u8]) {
        debug_assert!(line.ends_with(b"\n") && line.starts_with(b"{"));
        if self.out.push(line).is_err() {
            self.events_dropped += 1;
            self.closing = true;
        }
    }

    fn queue(&mut self, line: &[u8]) {
        if self.out.push(line).is_err() {
            // A client that does not read its replies is cut off rather than buffered.
            self.broken = true;
        }
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) {
        if self.broken {
            return;
        }
        if self.out.flush_to(&mut self.stream).is_err() {
            self.broken = true;
        }
    }

    /// True while bytes wait to be written (register for writable then).
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// True when the daemon should deregister and drop the connection.
    pub fn is_finished(&self) -> bool {
        self.broken || (self.closing && self.out.is_empty())
    }

    /// Events dropped for this client.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }
}

// ---------------------------------------------------------------------------------------
// Peers and sockets.

/// A connected peer's process credentials (`SO_PEERCRED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeerCred {
    /// Process id at connect time.
    pub pid: i32,
    /// Effective user id.
    pub uid: u32,
    /// Effective primary group id.
    pub gid: u32,
}

/// The credentials of the process at the other end of a Unix stream socket.
pub fn peer_credentials(socket: &impl AsFd) -> io::Result<PeerCred> {
    let cred = nix::sys::socket::getsockopt(socket, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    Ok(PeerCred {
        pid: cred.pid(),
        uid: cred.uid(),
        gid: cred.gid(),
    })
}

/// Who may talk to a daemon: the listed user ids, and members of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Users always allowed (root and the daemon's own user).
    pub uids: Vec<u32>,
    /// A group whose members (primary or supplementary) are allowed.
    pub gid: Option<u32>,
}

impl PeerPolicy {
    /// Root, the daemon's own effective user, and group [`CLIENT_GROUP`] when it exists.
    pub fn system() -> PeerPolicy {
        let mut uids = vec![0];
        let me = nix::unistd::geteuid().as_raw();
        if me != 0 {
            uids.push(me);
        }
        let gid = nix::unistd::Group::from_name(CLIENT_GROUP)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw());
        PeerPolicy { uids, gid }
    }

    /// Pure decision: `supplementary` are the peer user's other groups.
    pub fn allows(&self, peer: &PeerCred, supplementary: &[u32]) -> bool {
        self.uids.contains(&peer.uid)
            || self
                .gid
                .is_some_and(|g| peer.gid == g || supplementary.contains(&g))
    }

    /// Checks a peer, looking up its user's supplementary groups when needed.
    pub fn check(&self, peer: &PeerCred) -> Result<(), Error> {
        if self.allows(peer, &[]) {
            return Ok(());
        }
        let groups = self
            .gid
            .map(|_| supplementary_groups(peer))
            .unwrap_or_default();
        if self.allows(peer, &groups) {
            Ok(())
        } else {
            Err(Error::PermissionDenied {
                uid: peer.uid,
                gid: peer.gid,
            })
        }
    }
}

fn supplementary_groups(peer: &PeerCred) -> Vec<u32> {
    let uid = nix::unistd::Uid::from_raw(peer.uid);
    let Ok(Some(user)) = nix::unistd::User::from_uid(uid) else {
        return Vec::new();
    };
    let Ok(name) = std::ffi::CString::new(user.name) else {
        return Vec::new();
    };
    nix::unistd::getgrouplist(&name, user.gid)
        .map(|groups| groups.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_default()
}

/// Checks an accepted connection's peer against `policy`. On refusal the daemon should
/// write `encode_error(None, &ErrorBody::new(code::PERMISSION_DENIED, …))` and close.
pub fn check_peer(socket: &impl AsFd, policy: &PeerPolicy) -> Result<PeerCred, Error> {
    let peer = peer_credentials(socket).map_err(Error::Io)?;
    policy.check(&peer)?;
    Ok(peer)
}

/// Creates a daemon's listening socket at `path`: mode [`SOCKET_MODE`], group `gid` when
/// given and running as root, non-blocking (ready for `mio::net::UnixListener::from_std`).
///
/// A socket file left by a dead daemon is replaced; a live daemon on the path
/// ([`Error::InUse`]) or a path that is not a socket ([`Error::Bind`]) is left alone.
pub fn bind_listener(path: &Path, gid: Option<u32>) -> Result<UnixListener, Error> {
    let bind_err = |source| Error::Bind {
        path: path.into(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => return Err(Error::InUse { path: path.into() }),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path).map_err(bind_err)?;
            }
            Err(e) => return Err(bind_err(e)),
        },
        Ok(_) => {
            return Err(bind_err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a file that is not a socket is in the way",
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(bind_err(e)),
    }
    let listener = UnixListener::bind(path).map_err(bind_err)?;
    let finish = || -> io::Result<()> {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))?;
        if let Some(gid) = gid
            && nix::unistd::geteuid().is_root()
        {
            nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(gid)))?;
        }
        listener.set_nonblocking(true)
    };
    if let Err(e) = finish() {
        let _ = std::fs::remove_file(path);
        return Err(bind_err(e));
    }
    Ok(listener)
}

// ---------------------------------------------------------------------------------------
// Blocking client.

/// A command's connection to a daemon: one request at a time, events queued in between.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    lines: LineBuffer,
    next_id: u64,
    events: VecDeque<Value>,
    events_dropped: u64,
    timeout: Duration,
}

impl Client {
    /// Connects to the daemon at `path`; `timeout` bounds the connect and every later read
    /// and write. Failure is [`Error::Connect`] (the daemon is unreachable).
    pub fn connect(path: &Path, timeout: Duration) -> Result<Client, Error> {
        let stream =
            crate::sys::net::connect_unix(path, timeout).map_err(|source| Error::Connect {
                path: path.into(),
                source,
            })?;
        let client = Client {
            stream,
            lines: LineBuffer::new(MAX_LINE_BYTES),
            next_id: 1,
            events: VecDeque::new(),
            events_dropped: 0,
            timeout,
        };
        client.apply_timeout()?;
        Ok(client)
    }

    fn apply_timeout(&self) -> Result<(), Error> {
        let t = Some(self.timeout);
        self.stream.set_read_timeout(t).map_err(Error::Io)?;
        self.stream.set_write_timeout(t).map_err(Error::Io)
    }

    /// Changes the per-read/write timeout (e.g. longer for a slow command).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.timeout = timeout;
        self.apply_timeout()
    }

    /// Sends `cmd` with `args` (an object or null) and waits for its reply. Returns the
    /// reply's `data`, or [`Error::Remote`] when the daemon answered with an error. Events
    /// arriving meanwhile are kept for [`Client::next_event`].
    pub fn call(&mut self, cmd: &str, args: Value) -> Result<Value, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode_request(id, cmd, &args)?;
        self.stream
            .write_all(&bytes)
            .map_err(|e| self.io_error(e))?;
        loop {
            let Some(value) = self.read_value()? else {
                return Err(Error::Closed);
            };
            match value.get("id") {
                None => self.queue_event(value),
                Some(Value::Number(n)) if n.as_u64() == Some(id) => return reply_of(value),
                // A reply to a request we never sent, or a late one: skip it.
                Some(Value::Number(_)) => {}
                // `id: null` is the answer to a request the daemon could not read.
                Some(_) => return reply_of(value),
            }
        }
    }

    /// The next event (an object without `id`), waiting up to the timeout; `Ok(None)` when
    /// the daemon closed the connection.
    pub fn next_event(&mut self) -> Result<Option<Value>, Error> {
        if let Some(event) = self.events.pop_front() {
            return Ok(Some(event));
        }
        loop {
            match self.read_value()? {
                None => return Ok(None),
                Some(value) if value.get("id").is_none() => return Ok(Some(value)),
                Some(_) => {}
            }
        }
    }

    /// Events dropped because more than [`MAX_QUEUED_EVENTS`] waited during a call.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Sends raw bytes as they are (tests of daemons' input handling use this).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream.write_all(bytes).map_err(|e| self.io_error(e))
    }

    /// Reads the next line as JSON; `None` at end of stream.
    pub fn read_value(&mut self) -> Result<Option<Value>, Error> {
        self.read_line_with(|line| serde_json::from_slice(line))
    }

    /// Reads the next non-blank line and hands it to `parse` without copying it (a client
    /// that needs only a few fields parses them borrowed); `None` at end of stream.
    pub fn read_line_with<T>(
        &mut self,
        mut parse: impl FnMut(&[u8]) -> serde_json::Result<T>,
    ) -> Result<Option<T>, Error> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.lines.next_line_ref() {
                Some(Ok(line)) => {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return parse(line)
                        .map(Some)
                        .map_err(|e| Error::Protocol(format!("invalid JSON: {e}")));
                }
                Some(Err(Oversized)) => return Err(Error::TooLarge(MAX_LINE_BYTES + 1)),
                None => {}
            }
            match self.stream.read(&mut chunk) {
                // A Unix socket whose peer closed with our bytes unread reports a reset
                // after the queued data: that is the end of the stream too.
                Ok(0) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
                Ok(n) => self.lines.push(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn io_error(&self, e: io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout(self.timeout),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => Error::Closed,
            _ => Error::Io(e),
        }
    }

    fn queue_event(&mut self, event: Value) {
        if self.events.len() >= MAX_QUEUED_EVENTS {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(event);
    }
}

fn reply_of(value: Value) -> Result<Value, Error> {
    let Value::Object(mut object) = value else {
        return Err(Error::Protocol("reply is not an object".into()));
    };
    match object.get("ok") {
        Some(Value::Bool(true)) => Ok(object.remove("data").unwrap_or(Value::Null)),
        Some(Value::Bool(false)) => {
            let error = object
                .remove("error")
                .and_then(|e| serde_json::from_value::<ErrorBody>(e).ok())
                .ok_or_else(|| Error::Protocol("error reply without error.code".into()))?;
            Err(Error::Remote(error))
        }
        _ => Err(Error::Protocol("reply without \"ok\"".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request_of(item: Option<Incoming>) -> Request {
        match item {
            Some(Incoming::Request(r)) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn newlines_are_found_at_every_position() {
        for len in 0..40 {
            for at in 0..=len {
                let mut bytes = vec![b'x'; len];
                if at < len {
                    bytes[at] = b'\n';
                }
                let expected = bytes.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(&bytes), expected, "len {len}, newline at {at}");
                bytes.push(b'\n');
                assert_eq!(find_newline(&bytes), bytes.iter().position(|&b| b == b'\n'));
            }
        }
        assert_eq!(
            find_newline(b"\x8a\x0b\xff\x09\x0b\xfe\x8a\x00\x0a"),
            Some(8)
        );
    }

    #[test]
    fn requests_split_across_pushes_and_packed_together_decode() {
        let mut d = RequestDecoder::new();
        d.push(br#"{"v":1,"id":7,"cmd":"sta"#);
        assert_eq!(d.next(), None);
        d.push(b"tus\",\"node\":2}\n\n{\"v\":1,\"id\":8,\"cmd\":\"members\"}\n");
        let first = request_of(d.next());
        assert_eq!((first.id, first.cmd.as_str()), (7, "status"));
        assert_eq!(first.args.get("node"), Some(&json!(2)));
        assert_eq!(request_of(d.next()).id, 8);
        assert_eq!(d.next(), None);
    }

    #[test]
    fn malformed_lines_get_errors_and_the_stream_goes_on() {
        let mut d = RequestDecoder::new();
        d.push(b"{nope\n[1]\n{\"v\":1,\"cmd\":\"x\"}\n{\"v\":1,\"id\":3}\n");
        for expected_id in [None, None, None, Some(3)] {
            match d.next() {
                Some(Incoming::Invalid { id, error, close }) => {
                    assert_eq!(id, expected_id);
                    assert_eq!(error.code, code::MALFORMED);
                    assert!(!close);
                }
                other => panic!("{other:?}"),
            }
        }
        d.push(b"{\"v\":1,\"id\":4,\"cmd\":\"ok\"}\n");
        assert_eq!(request_of(d.next()).id, 4);
    }

    #[test]
    fn wrong_or_missing_version_is_refused_with_the_id() {
        let mut d = RequestDecoder::new();
        d.push(b"{\"v\":2,\"id\":5,\"cmd\":\"status\"}\n{\"id\":6,\"cmd\":\"status\"}\n");
        for want in [5, 6] {
            match d.next() {
                Some(Incoming::Invalid { id, error, .. }) => {
                    assert_eq!(id, Some(want));
                    assert_eq!(error.code, code::UNSUPPORTED_VERSION);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_oversized_line_is_reported_once_and_never_buffered() {
        let mut d = RequestDecoder::new();
        let chunk = vec![b'x'; 64 * 1024];
        let mut reports = 0;
        for _ in 0..(3 * MAX_LINE_BYTES / chunk.len()) {
            d.push(&chunk);
            assert!(d.lines.buffered() <= MAX_LINE_BYTES + chunk.len());
            while let Some(item) = d.next() {
                match item {
                    Incoming::Invalid { error, close, .. } => {
                        assert_eq!(error.code, code::TOO_LARGE);
                        assert!(close);
                        reports += 1;
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
        assert_eq!(reports, 1);
        d.push(b"\n{\"v\":1,\"id\":1,\"cmd\":\"x\"}\n");
        assert_eq!(d.next(), None, "a dead stream yields nothing more");
    }

    #[test]
    fn a_long_complete_line_in_one_push_is_oversized_too() {
        let mut lines = LineBuffer::new(10);
        lines.push(b"0123456789abc\nok\n");
        assert_eq!(lines.next_line(), Some(Err(Oversized)));
        assert_eq!(lines.next_line(), None);
        let mut lines = LineBuffer::new(10);
        lines.push(b"0123456789\n");
        assert_eq!(lines.next_line(), Some(Ok(b"0123456789".to_vec())));
    }

    #[test]
    fn replies_and_events_have_the_documented_shape() {
        let ok: Value = serde_json::from_slice(&encode_ok(7, &json!({"a":1}))).unwrap();
        assert_eq!(ok, json!({"id":7,"ok":true,"data":{"a":1}}));
        let err = encode_error(None, &ErrorBody::new(code::MALFORMED, "bad"));
        let err: Value = serde_json::from_slice(&err).unwrap();
        assert_eq!(
            err,
            json!({"id":null,"ok":false,"error":{"code":"malformed","message":"bad"}})
        );
        let event = encode_event(&json!({"type":"member_left","node":2,"id":9}));
        assert_eq!(event, b"{\"node\":2,\"type\":\"member_left\"}\n");
        let req = encode_request(3, "status", &json!({"verbose":true})).unwrap();
        let req: Value = serde_json::from_slice(&req).unwrap();
        assert_eq!(req, json!({"v":1,"id":3,"cmd":"status","verbose":true}));
        assert!(encode_request(1, "x", &json!([1])).is_err());
    }

    #[test]
    fn oversized_requests_are_not_sent() {
        let big = "x".repeat(MAX_LINE_BYTES);
        assert!(matches!(
            encode_request(1, "x", &json!({ "blob": big })),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn policy_allows_listed_users_and_group_members_only() {
        let policy = PeerPolicy {
            uids: vec![0, 1000],
            gid: Some(106),
        };
        let peer = |uid, gid| PeerCred { pid: 1, uid, gid };
        assert!(policy.allows(&peer(0, 0), &[]));
        assert!(policy.allows(&peer(1000, 1000), &[]));
        assert!(policy.allows(&peer(1001, 106), &[]));
        assert!(policy.allows(&peer(1001, 1001), &[27, 106]));
        assert!(!policy.allows(&peer(1001, 1001), &[27]));
        let no_group = PeerPolicy {
            uids: vec![0],
            gid: None,
        };
        assert!(!no_group.allows(&peer(1001, 106), &[106]));
    }

    #[test]
    fn write_queue_is_bounded() {
        let mut q = WriteQueue::new();
        let line = vec![b'a'; MAX_LINE_BYTES];
        for _ in 0..4 {
            q.push(&line).unwrap();
        }
        assert_eq!(q.push(b"x"), Err(QueueFull));
        let mut sink = Vec::new();
        assert!(q.flush_to(&mut sink).unwrap());
        assert_eq!(sink.len(), 4 * MAX_LINE_BYTES);
        assert!(q.is_empty());
    }
}

/// Accepts every connection waiting on a daemon's listener, until it would block. An accept
/// error other than an interruption ends the round; it is returned beside what was accepted,
/// for the daemon to log.
pub fn accept_pending(
    listener: &mio::net::UnixListener,
) -> (Vec<mio::net::UnixStream>, Option<io::Error>) {
    let mut accepted = Vec::new();
    loop {
        match listener.accept() {
            Ok((stream, _)) => accepted.push(stream),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return (accepted, None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (accepted, Some(e)),
        }
    }
}

/// A daemon's connection *to* another daemon, inside a mio loop: requests are queued and
/// written as the socket allows; replies and events are read as they come. Used by the
/// controller to talk to `ha-ring` and `ha-lrmd` without blocking its loop.
#[derive(Debug)]
pub struct Upstream<S> {
    /// The socket (e.g. `mio::net::UnixStream`).
    pub stream: S,
    lines: LineBuffer,
    out: WriteQueue,
    next_id: u64,
    broken: bool,
}

/// One line from an upstream daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamMessage {
    /// The reply to request `id`: its `data`, or the daemon's error.
    Reply {
        /// The request id.
        id: u64,
        /// Data or error.
        result: Result<Value, ErrorBody>,
    },
    /// A line without `id`: a streamed event.
    Event(Value),
}

impl<S: Read + Write> Upstream<S> {
    /// Wraps a connected, non-blocking stream.
    pub fn new(stream: S) -> Upstream<S> {
        Upstream {
            stream,
            lines: LineBuffer::new(MAX_LINE_BYTES),
            out: WriteQueue::new(),
            next_id: 1,
            broken: false,
        }
    }

    /// Queues a request and returns its id. A request that would overflow the queue marks
    /// the connection broken (the daemon is not reading).
    pub fn send(&mut self, cmd: &str, args: &Value) -> Result<u64, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let bytes = encode_request(id, cmd, args)?;
        if self.out.push(&bytes).is_err() {
            self.broken = true;
            return Err(Error::Io(io::ErrorKind::WouldBlock.into()));
        }
        self.flush();
        Ok(id)
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) {
        if self.out.flush_to(&mut self.stream).is_err() {
            self.broken = true;
        }
    }

    /// True while queued bytes wait for the socket.
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Reads until the socket would block and returns the complete lines. The connection is
    /// broken afterwards when the daemon closed it or sent something unreadable.
    pub fn read(&mut self) -> Vec<UpstreamMessage> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.broken = true;
                    break;
                }
                Ok(n) => self.lines.push(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.broken = true;
                    break;
                }
            }
        }
        let mut messages = Vec::new();
        while let Some(line) = self.lines.next_line_ref() {
            let Ok(line) = line else {
                self.broken = true;
                break;
            };
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Value>(line) {
                Ok(value) => messages.push(upstream_message(value)),
                Err(_) => self.broken = true,
            }
        }
        messages
    }

    /// True once the connection can no longer be used.
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}

fn upstream_message(value: Value) -> UpstreamMessage {
    let Some(id) = value.get("id").and_then(Value::as_u64) else {
        return UpstreamMessage::Event(value);
    };
    let result = if value.get("ok").and_then(Value::as_bool) == Some(true) {
        Ok(value.get("data").cloned().unwrap_or(Value::Null))
    } else {
        let error = value
            .get("error")
            .cloned()
            .and_then(|e| serde_json::from_value(e).ok())
            .unwrap_or_else(|| ErrorBody::new(code::FAILED, "reply without error detail"));
        Err(error)
    };
    UpstreamMessage::Reply { id, result }
}

#[cfg(test)]
mod upstream_tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn upstream_sends_requests_and_splits_replies_from_events() {
        let (ours, mut theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let mut upstream = Upstream::new(ours);
        let id = upstream.send("status", &Value::Null).unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(&theirs)
            .read_line(&mut line)
            .unwrap();
        let request: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(request["cmd"], "status");
        assert_eq!(request["id"], id);
        theirs
            .write_all(b"{\"type\":\"tick\"}\n{\"id\":1,\"ok\":true,\"data\":{\"a\":1}}\n")
            .unwrap();
        theirs
            .write_all(
                b"{\"id\":2,\"ok\":false,\"error\":{\"code\":\"failed\",\"message\":\"no\"}}\n",
            )
            .unwrap();
        let messages = upstream.read();
        assert_eq!(messages.len(), 3);
        assert!(matches!(&messages[0], UpstreamMessage::Event(v) if v["type"] == "tick"));
        assert!(
            matches!(&messages[1], UpstreamMessage::Reply { id: 1, result: Ok(v) } if v["a"] == 1)
        );
        assert!(
            matches!(&messages[2], UpstreamMessage::Reply { id: 2, result: Err(e) } if e.code == "failed")
        );
        drop(theirs);
        assert!(upstream.read().is_empty());
        assert!(upstream.is_broken());
    }
}
