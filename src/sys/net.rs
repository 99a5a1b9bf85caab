//! This machine's interface addresses, for finding the local node in the configuration.

use std::net::IpAddr;

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
