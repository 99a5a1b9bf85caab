//! `ocf:heartbeat:IPaddr2` (and `IPaddr`): an IPv4 address on an interface, announced with
//! gratuitous ARP. Addresses are added and removed with `ip addr`; "running" means the
//! address is configured on the interface.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::{AgentEnv, Outcome, render_meta_data};
use crate::lrmd::agent::rc;
use crate::lrmd::spawn::run_tool;

pub(super) fn meta_data(name: &str) -> String {
    render_meta_data(
        name,
        "Manages a virtual IPv4 address",
        "Adds an IPv4 address to a network interface and announces it with gratuitous ARP so \
         neighbours update their caches at once. When nic is not given, the interface that \
         already holds an address in the same subnet is used.",
        &[
            ("ip", true, true, "string", None, "IPv4 address to manage"),
            (
                "cidr_netmask",
                false,
                false,
                "string",
                None,
                "Prefix length (e.g. 24); by default that of the matching subnet",
            ),
            (
                "nic",
                false,
                false,
                "string",
                None,
                "Interface to add the address to",
            ),
            (
                "broadcast",
                false,
                false,
                "string",
                None,
                "Broadcast address",
            ),
            (
                "iflabel",
                false,
                false,
                "string",
                None,
                "Label appended to the interface name",
            ),
            (
                "arp_count",
                false,
                false,
                "integer",
                Some("5"),
                "Gratuitous ARPs to send",
            ),
            (
                "arp_interval",
                false,
                false,
                "integer",
                Some("200"),
                "Milliseconds between gratuitous ARPs",
            ),
        ],
        &[
            ("start", "20s", None),
            ("stop", "20s", None),
            ("status", "20s", None),
            ("monitor", "20s", Some("10s")),
            ("meta-data", "5s", None),
            ("validate-all", "20s", None),
        ],
    )
}

/// The validated parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Config {
    ip: Ipv4Addr,
    prefix: Option<u8>,
    nic: Option<String>,
    broadcast: Option<Ipv4Addr>,
    label: Option<String>,
    arp_count: u32,
    arp_interval_ms: u64,
}

fn config(env: &AgentEnv) -> Result<Config, Outcome> {
    let invalid = |what: String| Err(Outcome::failed(rc::ERR_ARGS, what));
    let Some(ip_text) = env.param("ip") else {
        return Err(Outcome::failed(
            rc::NOT_CONFIGURED,
            "IP address (the ip parameter) is mandatory",
        ));
    };
    let Ok(ip) = ip_text.parse::<Ipv4Addr>() else {
        return invalid(format!("ip {ip_text:?} is not an IPv4 address"));
    };
    let prefix = match env.param("cidr_netmask") {
        None => None,
        Some(text) => match parse_prefix(text) {
            Some(p) => Some(p),
            None => return invalid(format!("cidr_netmask {text:?} is not a prefix length")),
        },
    };
    let broadcast = match env.param("broadcast") {
        None => None,
        Some(text) => match text.parse() {
            Ok(b) => Some(b),
            Err(_) => return invalid(format!("broadcast {text:?} is not an IPv4 address")),
        },
    };
    let number = |name: &str, default: u64| -> Result<u64, Outcome> {
        match env.param(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                Outcome::failed(rc::ERR_ARGS, format!("{name} {text:?} is not a number"))
            }),
        }
    };
    let nic = env.param("nic").map(str::to_string);
    if nic.as_deref().is_some_and(|n| !is_safe_ifname(n)) {
        return invalid(format!(
            "nic {:?} is not an interface name",
            nic.unwrap_or_default()
        ));
    }
    let label = env.param("iflabel").map(str::to_string);
    Ok(Config {
        ip,
        prefix,
        nic,
        broadcast,
        label,
        arp_count: u32::try_from(number("arp_count", 5)?.min(100)).unwrap_or(5),
        arp_interval_ms: number("arp_interval", 200)?.min(10_000),
    })
}

/// A prefix length, or a dotted netmask turned into one.
fn parse_prefix(text: &str) -> Option<u8> {
    if let Ok(prefix) = text.parse::<u8>() {
        return (prefix <= 32).then_some(prefix);
    }
    let mask = u32::from(text.parse::<Ipv4Addr>().ok()?);
    let prefix = mask.leading_ones();
    (mask.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

fn is_safe_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

/// One IPv4 address line of `ip -o -4 addr show`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Address {
    ifname: String,
    ip: Ipv4Addr,
    prefix: u8,
}

/// Parses `ip -o -4 addr show` lines: `2: eth0    inet 10.0.0.5/24 brd … scope global eth0…`.
fn parse_addresses(text: &str) -> Vec<Address> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let ifname = words.nth(1)?.split('@').next()?.to_string();
            let mut words = words.skip_while(|w| *w != "inet");
            words.next()?;
            let (ip, prefix) = words.next()?.split_once('/')?;
            Some(Address {
                ifname,
                ip: ip.parse().ok()?,
                prefix: prefix.parse().ok()?,
            })
        })
        .collect()
}

fn in_subnet(a: Ipv4Addr, b: Ipv4Addr, prefix: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

fn addresses() -> Result<Vec<Address>, Outcome> {
    let output = run_tool("ip", &["-o", "-4", "addr", "show"])
        .map_err(|e| Outcome::failed(rc::NOT_INSTALLED, format!("cannot run ip: {e}")))?;
    if !output.status.success() {
        return Err(Outcome::failed(
            rc::ERR_GENERIC,
            format!(
                "ip addr show failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(parse_addresses(&String::from_utf8_lossy(&output.stdout)))
}

/// Interface and prefix to use: `nic` and `cidr_netmask` when given, otherwise taken from an
/// address in the same subnet (the managed address itself excluded).
fn placement(config: &Config, present: &[Address]) -> Result<(String, u8), Outcome> {
    let matching = present
        .iter()
        .filter(|a| a.ip != config.ip)
        .filter(|a| config.nic.as_ref().is_none_or(|n| *n == a.ifname))
        .find(|a| in_subnet(a.ip, config.ip, config.prefix.unwrap_or(a.prefix)));
    match (&config.nic, config.prefix, matching) {
        (Some(nic), Some(prefix), _) => Ok((nic.clone(), prefix)),
        (Some(nic), None, Some(found)) => Ok((nic.clone(), found.prefix)),
        (Some(nic), None, None) => Ok((nic.clone(), 32)),
        (None, prefix, Some(found)) => Ok((found.ifname.clone(), prefix.unwrap_or(found.prefix))),
        (None, _, None) => Err(Outcome::failed(
            rc::NOT_CONFIGURED,
            format!(
                "no interface holds an address in the subnet of {}; set nic and cidr_netmask",
                config.ip
            ),
        )),
    }
}

pub(super) fn run(action: &str, env: &AgentEnv) -> Outcome {
    let config = match config(env) {
        Ok(config) => config,
        Err(outcome) => return outcome,
    };
    let present = match addresses() {
        Ok(present) => present,
        Err(outcome) => return outcome,
    };
    let configured = present.iter().find(|a| a.ip == config.ip);
    match action {
        "monitor" | "status" => Outcome::code(match configured {
            Some(_) => rc::OK,
            None => rc::NOT_RUNNING,
        }),
        "validate-all" => match placement(&config, &present) {
            Ok(_) => Outcome::code(rc::OK),
            Err(outcome) => outcome,
        },
        "start" => {
            if configured.is_some() {
                return Outcome::code(rc::OK);
            }
            let (nic, prefix) = match placement(&config, &present) {
                Ok(found) => found,
                Err(outcome) => return outcome,
            };
            start(&config, &nic, prefix)
        }
        "stop" => match configured {
            None => Outcome::code(rc::OK),
            Some(address) => {
                let cidr = format!("{}/{}", address.ip, address.prefix);
                ip_command(&["addr", "del", &cidr, "dev", &address.ifname])
            }
        },
        other => Outcome::failed(rc::UNIMPLEMENTED, format!("action {other} not supported")),
    }
}

fn start(config: &Config, nic: &str, prefix: u8) -> Outcome {
    let cidr = format!("{}/{prefix}", config.ip);
    let mut args = vec!["addr", "add", &cidr, "dev", nic];
    let broadcast = config.broadcast.map(|b| b.to_string());
    if let Some(broadcast) = &broadcast {
        args.extend(["brd", broadcast]);
    }
    let label = config.label.as_ref().map(|l| format!("{nic}:{l}"));
    if let Some(label) = &label {
        args.extend(["label", label]);
    }
    let added = ip_command(&args);
    if added.rc != rc::OK {
        return added;
    }
    let interval = Duration::from_millis(config.arp_interval_ms);
    match crate::sys::packet::send_gratuitous_arp(nic, config.ip, config.arp_count, interval) {
        Ok(()) => Outcome::code(rc::OK),
        // The address is up; a failed announcement only delays neighbours, so report it and
        // still succeed, as the reference agent does.
        Err(e) => Outcome {
            rc: rc::OK,
            stdout: String::new(),
            stderr: format!("warning: gratuitous ARP on {nic} failed: {e}\n"),
        },
    }
}

fn ip_command(args: &[&str]) -> Outcome {
    match run_tool("ip", args) {
        Ok(output) if output.status.success() => Outcome::code(rc::OK),
        Ok(output) => Outcome::failed(
            rc::ERR_GENERIC,
            format!(
                "ip {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ),
        Err(e) => Outcome::failed(rc::NOT_INSTALLED, format!("cannot run ip: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
2: eth0@if7    inet 192.168.50.2/24 brd 192.168.50.255 scope global eth0\\       valid_lft forever\n\
2: eth0@if7    inet 192.168.50.10/24 scope global secondary eth0\\       valid_lft forever\n";

    fn env(pairs: &[(&str, &str)]) -> AgentEnv {
        let mut env = AgentEnv::default();
        for (k, v) in pairs {
            env.params.insert(k.to_string(), v.to_string());
        }
        env
    }

    #[test]
    fn ip_output_parses_into_addresses() {
        let found = parse_addresses(SHOW);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[1],
            Address {
                ifname: "eth0".into(),
                ip: "192.168.50.2".parse().unwrap(),
                prefix: 24
            }
        );
    }

    #[test]
    fn interface_is_found_by_subnet_unless_given() {
        let present = parse_addresses(SHOW);
        let config = config(&env(&[("ip", "192.168.50.99")])).unwrap();
        assert_eq!(
            placement(&config, &present).unwrap(),
            ("eth0".to_string(), 24)
        );
        let config = config_of(&[("ip", "10.1.1.1")]);
        assert_eq!(
            placement(&config, &present).unwrap_err().rc,
            rc::NOT_CONFIGURED
        );
        let config = config_of(&[("ip", "10.1.1.1"), ("nic", "eth1"), ("cidr_netmask", "16")]);
        assert_eq!(
            placement(&config, &present).unwrap(),
            ("eth1".to_string(), 16)
        );
    }

    fn config_of(pairs: &[(&str, &str)]) -> Config {
        config(&env(pairs)).unwrap()
    }

    #[test]
    fn bad_parameters_are_invalid_arguments() {
        assert_eq!(config(&env(&[])).unwrap_err().rc, rc::NOT_CONFIGURED);
        assert_eq!(
            config(&env(&[("ip", "fe80::1")])).unwrap_err().rc,
            rc::ERR_ARGS
        );
        let bad_mask = config(&env(&[("ip", "10.0.0.1"), ("cidr_netmask", "33")]));
        assert_eq!(bad_mask.unwrap_err().rc, rc::ERR_ARGS);
        let bad_nic = config(&env(&[("ip", "10.0.0.1"), ("nic", "eth0; reboot")]));
        assert_eq!(bad_nic.unwrap_err().rc, rc::ERR_ARGS);
    }

    #[test]
    fn netmasks_parse_as_prefix_or_dotted() {
        assert_eq!(parse_prefix("24"), Some(24));
        assert_eq!(parse_prefix("255.255.255.0"), Some(24));
        assert_eq!(parse_prefix("255.0.255.0"), None);
        assert!(in_subnet(
            "10.0.0.1".parse().unwrap(),
            "10.0.0.200".parse().unwrap(),
            24
        ));
        assert!(!in_subnet(
            "10.0.1.1".parse().unwrap(),
            "10.0.0.200".parse().unwrap(),
            24
        ));
        assert!(in_subnet(
            "1.2.3.4".parse().unwrap(),
            "5.6.7.8".parse().unwrap(),
            0
        ));
    }
}
