//! Datagram authentication: keys derived from the authkey with HKDF-SHA256, an HMAC-SHA256
//! tag on every datagram, optional AES-256-GCM encryption, and a per-sender replay window.
//! Plain computation: no I/O, no clock, no randomness (nonces come from packet counters).

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{AeadInOut, KeyInit, Tag};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::config::NodeId;
use super::wire::{DropReason, FLAG_ENCRYPTED, HEADER_LEN, Header, MAC_LEN, MAX_DATAGRAM};

type HmacSha256 = Hmac<Sha256>;

/// Smallest and largest accepted authkey sizes (corosync-keygen writes 128..4096 bytes).
pub const AUTHKEY_MIN_BYTES: usize = 32;
/// See `AUTHKEY_MIN_BYTES`.
pub const AUTHKEY_MAX_BYTES: usize = 4096;
/// How far behind the newest counter a packet may arrive and still be accepted.
pub const REPLAY_WINDOW: u64 = 64;
/// GCM tag length.
const GCM_TAG_LEN: usize = 16;

/// The shared secret from the `authkey` file.
#[derive(Clone)]
pub struct AuthKey {
    bytes: Vec<u8>,
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({})", self.fingerprint())
    }
}

/// An authkey of the wrong size. Nothing was loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySizeError(pub usize);

impl fmt::Display for KeySizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authkey is {} bytes (expected {AUTHKEY_MIN_BYTES}..={AUTHKEY_MAX_BYTES})",
            self.0
        )
    }
}

impl std::error::Error for KeySizeError {}

impl AuthKey {
    /// Wraps key bytes after checking their size.
    pub fn new(bytes: Vec<u8>) -> Result<AuthKey, KeySizeError> {
        if !(AUTHKEY_MIN_BYTES..=AUTHKEY_MAX_BYTES).contains(&bytes.len()) {
            return Err(KeySizeError(bytes.len()));
        }
        Ok(AuthKey { bytes })
    }

    /// First 8 bytes of SHA-256 of the key, hex: safe to print and compare between nodes.
    pub fn fingerprint(&self) -> String {
        Sha256::digest(&self.bytes)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// First four bytes of SHA-256 of the cluster name, as carried in every header.
pub fn cluster_hash(cluster_name: &str) -> u32 {
    let digest = Sha256::digest(cluster_name.as_bytes());
    u32::from_be_bytes(digest[..4].try_into().expect("four bytes"))
}

struct PeerWindow {
    incarnation: u64,
    /// Highest counter accepted.
    top: u64,
    /// Bit i set: counter `top - i` was accepted.
    seen: u64,
    cipher: Option<Aes256Gcm>,
}

impl PeerWindow {
    fn is_replay(&self, counter: u64) -> bool {
        if counter > self.top {
            return false;
        }
        let behind = self.top - counter;
        behind >= REPLAY_WINDOW || self.seen & (1 << behind) != 0
    }

    fn accept(&mut self, counter: u64) {
        if counter > self.top {
            let shift = counter - self.top;
            self.seen = if shift >= REPLAY_WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.top = counter;
        } else {
            self.seen |= 1 << (self.top - counter);
        }
    }
}

/// Seals outgoing and opens incoming datagrams for one node.
pub struct Auth {
    hkdf: Hkdf<Sha256>,
    mac: HmacSha256,
    encrypt: bool,
    cluster_hash: u32,
    sender: NodeId,
    incarnation: u64,
    counter: u64,
    own_cipher: Aes256Gcm,
    peers: HashMap<NodeId, PeerWindow>,
}

impl Auth {
    /// Derives the keys for `cluster_name` and prepares to send as `sender`/`incarnation`.
    pub fn new(
        key: &AuthKey,
        cluster_name: &str,
        sender: NodeId,
        incarnation: u64,
        encrypt: bool,
    ) -> Auth {
        let hkdf = Hkdf::<Sha256>::new(Some(cluster_name.as_bytes()), &key.bytes);
        let mut mac_key = [0u8; 32];
        hkdf.expand(b"hakit ring hmac v1", &mut mac_key)
            .expect("32 bytes is a valid HKDF length");
        let mac = HmacSha256::new_from_slice(&mac_key).expect("HMAC takes any key length");
        let own_cipher = aead_for(&hkdf, sender, incarnation);
        Auth {
            hkdf,
            mac,
            encrypt,
            cluster_hash: cluster_hash(cluster_name),
            sender,
            incarnation,
            counter: 0,
            own_cipher,
            peers: HashMap::new(),
        }
    }

    /// Wraps a message body into a datagram: header, body (encrypted if configured), HMAC.
    pub fn seal(&mut self, body: &[u8]) -> Vec<u8> {
        self.seal_with(body.len(), |out| out.extend_from_slice(body))
    }

    /// Like [`Auth::seal`], with the body written straight into the datagram by `write`
    /// (about `body_len` bytes), so it is neither built nor copied on its own.
    pub fn seal_with(&mut self, body_len: usize, write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        self.seal_into(Vec::new(), body_len, write)
    }

    /// Like [`Auth::seal_with`], reusing `buffer`'s allocation (its contents are discarded).
    pub fn seal_into(
        &mut self,
        mut buffer: Vec<u8>,
        body_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Vec<u8> {
        self.counter += 1;
        let header = Header {
            flags: if self.encrypt { FLAG_ENCRYPTED } else { 0 },
            cluster_hash: self.cluster_hash,
            sender: self.sender,
            incarnation: self.incarnation,
            counter: self.counter,
        };
        buffer.clear();
        buffer.reserve(HEADER_LEN + body_len + GCM_TAG_LEN + MAC_LEN);
        let mut out = buffer;
        header.encode(&mut out);
        write(&mut out);
        if self.encrypt {
            let nonce = nonce_for(self.counter);
            let (aad, body) = out.split_at_mut(HEADER_LEN);
            let tag = self
                .own_cipher
                .encrypt_inout_detached(&nonce, aad, body.into())
                .expect("AES-GCM encrypts any datagram-sized body");
            out.extend_from_slice(&tag);
        }
        let mut mac = self.mac.clone();
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        out
    }

    /// Checks and unwraps a datagram. `is_known` says whether a sender id may talk to us.
    /// On error nothing changed (the replay window only moves for authentic datagrams).
    pub fn open(
        &mut self,
        bytes: &[u8],
        is_known: impl Fn(NodeId) -> bool,
    ) -> Result<(Header, Vec<u8>), DropReason> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(DropReason::Oversized);
        }
        let header = Header::decode(bytes)?;
        if header.cluster_hash != self.cluster_hash {
            return Err(DropReason::ForeignCluster);
        }
        if header.sender == 0 || !is_known(header.sender) {
            return Err(DropReason::UnknownNode);
        }
        let (signed, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac.clone();
        mac.update(signed);
        mac.verify_slice(tag).map_err(|_| DropReason::BadMac)?;
        if (header.flags & FLAG_ENCRYPTED != 0) != self.encrypt
            || header.flags & !FLAG_ENCRYPTED != 0
        {
            return Err(DropReason::Malformed);
        }
        if let Some(window) = self.peers.get(&header.sender)
            && (header.incarnation < window.incarnation
                || (header.incarnation == window.incarnation && window.is_replay(header.counter)))
        {
            return Err(DropReason::Replay);
        }
        let body = if self.encrypt {
            let known = self
                .peers
                .get(&header.sender)
                .is_some_and(|w| w.incarnation == header.incarnation && w.cipher.is_some());
            let fresh = (!known).then(|| aead_for(&self.hkdf, header.sender, header.incarnation));
            let cipher = match &fresh {
                Some(cipher) => cipher,
                None => self
                    .peers
                    .get(&header.sender)
                    .and_then(|w| w.cipher.as_ref())
                    .expect("checked above"),
            };
            let sealed = &signed[HEADER_LEN..];
            let Some(split) = sealed.len().checked_sub(GCM_TAG_LEN) else {
                return Err(DropReason::BadMac);
            };
            let (ciphertext, tag) = sealed.split_at(split);
            let tag = Tag::<Aes256Gcm>::try_from(tag).map_err(|_| DropReason::BadMac)?;
            let mut body = ciphertext.to_vec();
            cipher
                .decrypt_inout_detached(
                    &nonce_for(header.counter),
                    &signed[..HEADER_LEN],
                    body.as_mut_slice().into(),
                    &tag,
                )
                .map_err(|_| DropReason::BadMac)?;
            self.remember(&header, fresh);
            body
        } else {
            self.remember(&header, None);
            signed[HEADER_LEN..].to_vec()
        };
        Ok((header, body))
    }

    fn remember(&mut self, header: &Header, cipher: Option<Aes256Gcm>) {
        let window = self.peers.entry(header.sender).or_insert(PeerWindow {
            incarnation: header.incarnation,
            top: 0,
            seen: 0,
            cipher: None,
        });
        if header.incarnation > window.incarnation {
            *window = PeerWindow {
                incarnation: header.incarnation,
                top: 0,
                seen: 0,
                cipher: None,
            };
        }
        if window.cipher.is_none() {
            window.cipher = cipher;
        }
        window.accept(header.counter);
    }

    /// The newest incarnation accepted from `node`, if any.
    pub fn incarnation_of(&self, node: NodeId) -> Option<u64> {
        self.peers.get(&node).map(|w| w.incarnation)
    }
}

/// Each sender incarnation gets its own AEAD key, so restarting the packet counter at 1
/// never reuses a (key, nonce) pair.
fn aead_for(hkdf: &Hkdf<Sha256>, sender: NodeId, incarnation: u64) -> Aes256Gcm {
    let mut info = b"hakit ring aead v1".to_vec();
    info.extend_from_slice(&sender.to_be_bytes());
    info.extend_from_slice(&incarnation.to_be_bytes());
    let mut key = [0u8; 32];
    hkdf.expand(&info, &mut key)
        .expect("32 bytes is a valid HKDF length");
    Aes256Gcm::new_from_slice(&key).expect("32-byte AES-256 key")
}

fn nonce_for(counter: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> AuthKey {
        AuthKey::new(vec![byte; 64]).unwrap()
    }

    fn pair(encrypt: bool) -> (Auth, Auth) {
        (
            Auth::new(&key(1), "c", 1, 10, encrypt),
            Auth::new(&key(1), "c", 2, 20, encrypt),
        )
    }

    #[test]
    fn sealed_datagram_opens_with_the_same_key() {
        for encrypt in [false, true] {
            let (mut a, mut b) = pair(encrypt);
            let bytes = a.seal(b"hello");
            let (header, body) = b.open(&bytes, |_| true).unwrap();
            assert_eq!((header.sender, body.as_slice()), (1, &b"hello"[..]));
            if encrypt {
                assert!(
                    !bytes.windows(5).any(|w| w == b"hello"),
                    "plaintext visible"
                );
            }
        }
    }

    #[test]
    fn replayed_datagram_is_dropped() {
        let (mut a, mut b) = pair(true);
        let first = a.seal(b"1");
        let second = a.seal(b"2");
        b.open(&second, |_| true).unwrap();
        b.open(&first, |_| true).unwrap();
        assert_eq!(b.open(&first, |_| true).unwrap_err(), DropReason::Replay);
        assert_eq!(b.open(&second, |_| true).unwrap_err(), DropReason::Replay);
    }

    #[test]
    fn older_incarnation_is_a_replay_and_newer_resets_the_window() {
        let (mut old, mut b) = pair(false);
        let stale = old.seal(b"x");
        let mut new = Auth::new(&key(1), "c", 1, 11, false);
        b.open(&new.seal(b"y"), |_| true).unwrap();
        assert_eq!(b.open(&stale, |_| true).unwrap_err(), DropReason::Replay);
    }

    #[test]
    fn forged_foreign_and_unknown_datagrams_are_dropped() {
        let (mut a, mut b) = pair(true);
        let mut bytes = a.seal(b"hello");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(b.open(&bytes, |_| true).unwrap_err(), DropReason::BadMac);
        let mut other = Auth::new(&key(2), "c", 1, 10, true);
        assert_eq!(
            b.open(&other.seal(b"x"), |_| true).unwrap_err(),
            DropReason::BadMac
        );
        let mut foreign = Auth::new(&key(1), "other", 1, 10, true);
        assert_eq!(
            b.open(&foreign.seal(b"x"), |_| true).unwrap_err(),
            DropReason::ForeignCluster
        );
        assert_eq!(
            b.open(&a.seal(b"x"), |id| id != 1).unwrap_err(),
            DropReason::UnknownNode
        );
        assert_eq!(
            b.open(&[0u8; 10], |_| true).unwrap_err(),
            DropReason::Truncated
        );
        assert_eq!(
            b.open(&vec![0u8; MAX_DATAGRAM + 1], |_| true).unwrap_err(),
            DropReason::Oversized
        );
    }

    #[test]
    fn encrypted_and_plain_nodes_do_not_mix() {
        let mut plain = Auth::new(&key(1), "c", 1, 10, false);
        let mut sealed = Auth::new(&key(1), "c", 2, 10, true);
        assert_eq!(
            sealed.open(&plain.seal(b"x"), |_| true).unwrap_err(),
            DropReason::Malformed
        );
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(AuthKey::new(vec![0; 8]).unwrap_err(), KeySizeError(8));
    }
}
