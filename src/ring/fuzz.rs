//! Entry points for the fuzz targets in `fuzz/` and for the randomized decoder tests: each
//! runs one untrusted input through the code a received datagram meets. Nothing here may
//! panic on any input; the only panics are the properties checked (a decoded message
//! encodes back to itself; the core's invariants, in debug builds). Pure: time is a
//! parameter.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::auth::{Auth, AuthKey};
use super::config::{RingConfig, RingNode};
use super::node::{Input, Node};
use super::wire::{HEADER_LEN, Header, MAC_LEN, Message};

/// Cluster name the fuzz nodes use.
pub const CLUSTER: &str = "fuzz";
/// Byte that separates bodies in [`feed_sealed_bodies`]' input.
pub const BODY_SEPARATOR: u8 = 0xA5;

/// The key every fuzz node shares.
pub fn key() -> AuthKey {
    AuthKey::new((0..64u8).map(|i| i.wrapping_mul(37)).collect()).expect("64 bytes is a valid key")
}

/// The ring address of fuzz node `id`.
pub fn address(id: u32) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, id as u8)), 5405)
}

/// A three-node configuration seen from `local`.
pub fn config(local: u32) -> RingConfig {
    let nodes = (1..=3)
        .map(|id| RingNode {
            id,
            name: format!("n{id}"),
            addr: address(id),
            votes: 1,
        })
        .collect();
    RingConfig::new(CLUSTER, local, nodes)
}

/// Raw bytes through the header decoder, the message decoders (borrowing and owning, whole
/// and as the body of a frame) and authentication in both modes. Both decoders must agree,
/// and a message that decodes must re-encode to an equal message.
pub fn decode_datagram(bytes: &[u8]) {
    let _ = Header::decode(bytes);
    let mut bodies = vec![bytes];
    if bytes.len() >= HEADER_LEN + MAC_LEN {
        bodies.push(&bytes[HEADER_LEN..bytes.len() - MAC_LEN]);
    }
    for body in bodies {
        let decoded = Message::decode(body);
        assert_eq!(
            Message::decode_owned(body.to_vec()),
            decoded,
            "owned and borrowed decoding differ"
        );
        if let Ok(message) = decoded {
            let again = Message::decode(&message.encode());
            assert_eq!(
                again.as_ref(),
                Ok(&message),
                "re-encoding changed {message:?}"
            );
        }
    }
    for encrypt in [false, true] {
        let mut auth = Auth::new(&key(), CLUSTER, 1, 1, encrypt);
        let _ = auth.open(bytes, |id| (1..=3).contains(&id));
    }
}

/// Splits `input` at [`BODY_SEPARATOR`] into message bodies, seals each with the real key
/// as node 2 or 3 (alternately), and feeds them to node 1 of a fresh ring starting at `t0`,
/// 10 ms apart, with a tick after each. Authentic garbage must be dropped or handled
/// without breaking the core.
pub fn feed_sealed_bodies(t0: Instant, input: &[u8]) {
    let config = config(1);
    let encrypt = config.encrypt;
    let mut node = Node::new(config, key(), 7, t0);
    node.set_delivery_trace(true);
    let mut senders = [
        Auth::new(&key(), CLUSTER, 2, 1, encrypt),
        Auth::new(&key(), CLUSTER, 3, 1, encrypt),
    ];
    for (i, body) in input.split(|&b| b == BODY_SEPARATOR).take(64).enumerate() {
        let now = t0 + Duration::from_millis(10 * (i as u64 + 1));
        let sender = &mut senders[i % 2];
        let bytes = sender.seal(body);
        let from = address(2 + (i % 2) as u32);
        node.handle(
            now,
            Input::Datagram {
                from,
                bytes: &bytes,
            },
        );
        node.handle(now, Input::Tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::wire::{Join, MAX_DATAGRAM};
    use crate::rng::Rng;

    /// The fuzz targets' bodies over seeded random inputs and mutations of real messages, so
    /// the normal test suite exercises them too (`HAKIT_FUZZ_RUNS` for a longer sweep).
    #[test]
    fn decoders_survive_random_and_mutated_datagrams() {
        let runs: usize = std::env::var("HAKIT_FUZZ_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let mut rng = Rng::new(0x5eed);
        let join = Message::Join(Join {
            ring_seq_max: 4,
            old_ring: None,
            proc_set: vec![1, 2, 3],
            fail_set: vec![3],
        })
        .encode();
        let mut sealer = Auth::new(&key(), CLUSTER, 2, 1, true);
        let sealed = sealer.seal(&join);
        let t0 = Instant::now();
        for run in 0..runs {
            let mut bytes = match run % 3 {
                0 => join.clone(),
                1 => sealed.clone(),
                _ => (0..rng.below(200)).map(|_| rng.next_u64() as u8).collect(),
            };
            for _ in 0..rng.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.below(bytes.len() as u64) as usize;
                match rng.below(3) {
                    0 => bytes[at] ^= 1 << rng.below(8),
                    1 => bytes.truncate(at),
                    _ => bytes.insert(at, rng.next_u64() as u8),
                }
            }
            decode_datagram(&bytes);
            if run % 10 == 0 {
                feed_sealed_bodies(t0, &bytes);
            }
        }
        decode_datagram(&vec![0; MAX_DATAGRAM + 1]);
        feed_sealed_bodies(t0, &join);
    }
}
