//! The smallest HTTP/1.0 client the lab needs: one GET, one response, strict timeouts and a
//! size bound. Used to ask the service behind the VIP who is answering.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Largest response read; the example server answers in well under a kilobyte.
pub const MAX_RESPONSE_BYTES: u64 = 64 * 1024;

/// Sends `GET /` to `addr` and returns the body of a `200` answer. Every step (connect, write,
/// each read) is bounded by `timeout`.
pub fn get(addr: SocketAddr, timeout: Duration) -> io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET / HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.take(MAX_RESPONSE_BYTES).read_to_end(&mut response)?;
    let (status, body) = parse_response(&response)?;
    if status != 200 {
        return Err(io::Error::other(format!("HTTP status {status}")));
    }
    Ok(body)
}

/// Splits a raw HTTP/1.x response into its status code and body.
pub fn parse_response(raw: &[u8]) -> io::Result<(u16, String)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| bad("response has no header end"))?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next().and_then(|s| s.parse().ok())) {
        (Some(version), Some(status)) if version.starts_with("HTTP/1.") => {
            Ok((status, body.to_string()))
        }
        _ => Err(bad("malformed status line")),
    }
}

/// Whether `addr`'s host answers at all: a TCP connect that succeeds or is refused (the peer's
/// kernel sent a reset) proves the path works; a timeout or "unreachable" says it does not.
pub fn answers(addr: SocketAddr, timeout: Duration) -> bool {
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => true,
        Err(e) => e.kind() == io::ErrorKind::ConnectionRefused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_split_into_status_and_body() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nnode1\n";
        assert_eq!(parse_response(raw).unwrap(), (200, "node1\n".to_string()));
        let raw = b"HTTP/1.1 503 Busy\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap().0, 503);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_response(b"hello").is_err());
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
    }

    #[test]
    fn get_reads_a_local_answer_and_a_closed_port_still_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            // Read the whole request: closing with unread bytes would reset the connection.
            let mut request = Vec::new();
            let mut buf = [0u8; 512];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.0 200 OK\r\n\r\nnode9 12:00:00\n")
                .unwrap();
        });
        let body = get(addr, Duration::from_secs(5)).unwrap();
        server.join().unwrap();
        assert_eq!(body, "node9 12:00:00\n");
        // The listener is gone now: the port is closed, the host still answers.
        assert!(answers(addr, Duration::from_secs(5)));
    }
}
