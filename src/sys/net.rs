//! This machine's interface addresses, and connecting to local Unix sockets with a deadline.

use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::socket::SockaddrStorage;

use crate::conf::identity::LocalAddress;

/// Every IPv4 and IPv6 address of every local interface, with its netmask.
pub fn local_addresses() -> std::io::Result<Vec<LocalAddress>> {
    let list = nix::ifaddrs::getifaddrs().map_err(std::io::Error::from)?;
    Ok(list
        .filter_map(|ifa| {
            let address = ifa.address.as_ref().and_then(to_ip)?;
            let netmask = ifa.netmask.as_ref().and_then(to_ip);
            Some(LocalAddress { address, netmask })
        })
        .collect())
}

fn to_ip(storage: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = storage.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    storage.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// Connects to a Unix stream socket, giving up after `timeout`.
///
/// A Unix socket connect fails at once when nobody listens; it only has to wait when the
/// listener's backlog is full (`EAGAIN` on a non-blocking socket), so that case is retried
/// every few milliseconds until the deadline. The stream is returned in blocking mode.
pub fn connect_unix(path: &Path, timeout: Duration) -> std::io::Result<UnixStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, socket};
    let addr = UnixAddr::new(path).map_err(std::io::Error::from)?;
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(std::io::Error::from)?;
    let deadline = Instant::now() + timeout;
    loop {
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => break,
            Err(nix::errno::Errno::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(nix::errno::Errno::EAGAIN) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "listener backlog full until the timeout",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_is_listed() {
        let list = super::local_addresses().unwrap();
        assert!(
            list.iter()
                .any(|l| l.address == std::net::IpAddr::from([127, 0, 0, 1])),
            "{list:?}"
        );
    }
}
