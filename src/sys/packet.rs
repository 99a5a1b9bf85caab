//! Gratuitous ARP from an AF_PACKET socket, so a moved IPv4 address is learnt by neighbours at
//! once instead of when their ARP cache entries expire.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use nix::sys::socket::{AddressFamily, LinkAddr, MsgFlags, SockFlag, SockType, sendto, socket};

const ETH_P_ARP: u16 = 0x0806;
const BROADCAST: [u8; 6] = [0xff; 6];

/// The Ethernet frame of a gratuitous ARP request: sender and target address are both `ip`,
/// sent to broadcast from `mac`.
pub fn gratuitous_arp_frame(mac: [u8; 6], ip: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    frame.extend_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    frame.extend_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    frame.extend_from_slice(&[6, 4]); // address lengths
    frame.extend_from_slice(&1u16.to_be_bytes()); // operation: request
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ip.octets());
    frame.extend_from_slice(&[0; 6]);
    frame.extend_from_slice(&ip.octets());
    frame
}

/// Sends `count` gratuitous ARP requests for `ip` out of interface `ifname`, `interval` apart.
pub fn send_gratuitous_arp(
    ifname: &str,
    ip: Ipv4Addr,
    count: u32,
    interval: Duration,
) -> io::Result<()> {
    let ifindex = nix::net::if_::if_nametoindex(ifname)?;
    let mac = interface_mac(ifname)?;
    let fd = socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let address = link_addr(ifindex, ETH_P_ARP, BROADCAST);
    let frame = gratuitous_arp_frame(mac, ip);
    for sent in 0..count {
        if sent > 0 {
            std::thread::sleep(interval);
        }
        sendto(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &frame,
            &address,
            MsgFlags::empty(),
        )?;
    }
    Ok(())
}

/// The hardware address of `ifname`, from sysfs.
pub fn interface_mac(ifname: &str) -> io::Result<[u8; 6]> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{ifname}/address"))?;
    parse_mac(text.trim()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{ifname} has no Ethernet address ({})", text.trim()),
        )
    })
}

fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// A link-layer address for `sendto` on a packet socket. nix builds these only from a raw
/// `sockaddr`, hence the one unsafe call.
#[allow(unsafe_code)]
fn link_addr(ifindex: u32, protocol: u16, destination: [u8; 6]) -> LinkAddr {
    // All-zero is a valid sockaddr_ll (a plain C struct of integers and a byte array).
    let mut raw: nix::libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    raw.sll_family = nix::libc::AF_PACKET as u16;
    raw.sll_protocol = protocol.to_be();
    raw.sll_ifindex = i32::try_from(ifindex).unwrap_or_default();
    raw.sll_halen = 6;
    raw.sll_addr[..6].copy_from_slice(&destination);
    let len = std::mem::size_of::<nix::libc::sockaddr_ll>() as nix::libc::socklen_t;
    // SAFETY: `raw` is a fully initialised sockaddr_ll of `len` bytes with family AF_PACKET,
    // which is what LinkAddr wraps; from_raw copies it and keeps no pointer.
    unsafe {
        <LinkAddr as nix::sys::socket::SockaddrLike>::from_raw(
            (&raw as *const nix::libc::sockaddr_ll).cast(),
            Some(len),
        )
    }
    .expect("an AF_PACKET sockaddr_ll is a LinkAddr")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_arp_frame_announces_the_address_as_its_own_sender_and_target() {
        let mac = [2, 0, 0, 0, 0, 1];
        let frame = gratuitous_arp_frame(mac, Ipv4Addr::new(10, 9, 8, 7));
        assert_eq!(frame.len(), 42);
        assert_eq!(&frame[..6], &[0xff; 6]);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[20..22], &[0, 1], "ARP request");
        assert_eq!(&frame[22..28], &mac);
        assert_eq!(&frame[28..32], &[10, 9, 8, 7]);
        assert_eq!(&frame[38..42], &[10, 9, 8, 7]);
        assert_eq!(link_addr(3, ETH_P_ARP, BROADCAST).ifindex(), 3);
    }

    #[test]
    fn macs_parse_from_sysfs_form() {
        assert_eq!(parse_mac("02:00:0a:ff:00:01"), Some([2, 0, 10, 255, 0, 1]));
        assert_eq!(parse_mac("00:00:00:00"), None);
        assert_eq!(parse_mac("zz:00:00:00:00:00"), None);
    }
}
