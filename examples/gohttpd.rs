//! gohttpd: a tiny HTTP server for the lab's demo service. It answers every request with the
//! name of the node it runs on and the time, so a client polling a virtual IP can tell which
//! node serves it.
//!
//! ```text
//! gohttpd [--port PORT] [--bind ADDR] [--name NAME]
//! ```
//!
//! The name comes from `--name`, else `HA_NODE_NAME`, else the host name. Only the standard
//! library is used; one thread per connection, each bounded by a read timeout.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A request line or header longer than this ends the connection.
const MAX_LINE_BYTES: u64 = 8 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 64;

struct Options {
    port: u16,
    bind: String,
    name: String,
}

fn usage(message: &str) -> ExitCode {
    eprintln!("gohttpd: error: {message}");
    eprintln!("usage: gohttpd [--port PORT] [--bind ADDR] [--name NAME]");
    ExitCode::from(2)
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        port: 80,
        bind: "0.0.0.0".to_string(),
        name: std::env::var("HA_NODE_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(host_name),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => {
                let text = value()?;
                options.port = text.parse().map_err(|_| format!("bad port {text:?}"))?;
            }
            "--bind" => options.bind = value()?,
            "--name" => options.name = value()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// `HH:MM:SS.mmm` UTC.
fn clock_text(now: SystemTime) -> String {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since_epoch.subsec_millis()
    )
}

fn serve(stream: TcpStream, name: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?).take(MAX_LINE_BYTES);
    // Read the request head up to its blank line; the request itself does not matter.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let body = format!("{name} {}\n", clock_text(SystemTime::now()));
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => return usage(&message),
    };
    let listener = match TcpListener::bind((options.bind.as_str(), options.port)) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!(
                "gohttpd: error: cannot listen on {}:{}: {e}",
                options.bind, options.port
            );
            return ExitCode::from(1);
        }
    };
    eprintln!(
        "gohttpd: {} serving on {}",
        options.name,
        listener
            .local_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string())
    );
    let busy = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if busy.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            busy.fetch_sub(1, Ordering::SeqCst);
            continue;
        }
        let name = options.name.clone();
        let busy = Arc::clone(&busy);
        std::thread::spawn(move || {
            let _ = serve(stream, &name);
            busy.fetch_sub(1, Ordering::SeqCst);
        });
    }
    ExitCode::SUCCESS
}
