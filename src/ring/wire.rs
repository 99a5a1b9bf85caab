//! Datagram layout: the versioned header and the protocol messages, encoded and decoded by
//! hand. No I/O and no crypto here (`auth` seals and opens). Every length read from the
//! network is bounded before anything is allocated.
//!
//! ```text
//! offset size  field
//! 0      2     magic "HK"
//! 2      1     version (1)
//! 3      1     flags (bit 0: body encrypted with AES-256-GCM)
//! 4      4     cluster hash (first 4 bytes of SHA-256 of cluster_name), big endian
//! 8      4     sender node id
//! 12     8     sender incarnation (boot id, grows across restarts)
//! 20     8     packet counter (per incarnation; replay window and AEAD nonce)
//! 28     n     body (a `Message`; ciphertext + 16-byte GCM tag when encrypted)
//! 28+n   32    HMAC-SHA256 over bytes 0..28+n
//! ```

use std::fmt;

use serde::Serialize;

use super::config::NodeId;

/// First two bytes of every datagram.
pub const MAGIC: [u8; 2] = *b"HK";
/// Wire version this build speaks.
pub const VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 28;
/// HMAC tag length in bytes.
pub const MAC_LEN: usize = 32;
/// Largest datagram accepted or produced (a UDP payload over IPv4).
pub const MAX_DATAGRAM: usize = 65_507;
/// Flag bit: body is AEAD ciphertext.
pub const FLAG_ENCRYPTED: u8 = 1;
/// Bound on any list in a message (node sets, retransmit requests).
pub const MAX_LIST: usize = 1024;

/// The plaintext header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Flag bits.
    pub flags: u8,
    /// Hash of the sender's cluster name.
    pub cluster_hash: u32,
    /// Sender node id.
    pub sender: NodeId,
    /// Sender incarnation.
    pub incarnation: u64,
    /// Packet counter.
    pub counter: u64,
}

impl Header {
    /// Appends the 28 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.flags);
        out.extend_from_slice(&self.cluster_hash.to_be_bytes());
        out.extend_from_slice(&self.sender.to_be_bytes());
        out.extend_from_slice(&self.incarnation.to_be_bytes());
        out.extend_from_slice(&self.counter.to_be_bytes());
    }

    /// Reads a header, checking size bounds, magic and version.
    pub fn decode(bytes: &[u8]) -> Result<Header, DropReason> {
        if bytes.len() > MAX_DATAGRAM {
            return Err(DropReason::Oversized);
        }
        if bytes.len() < HEADER_LEN + MAC_LEN {
            return Err(DropReason::Truncated);
        }
        if bytes[0..2] != MAGIC {
            return Err(DropReason::Malformed);
        }
        if bytes[2] != VERSION {
            return Err(DropReason::Version);
        }
        let mut reader = Reader::new(&bytes[3..HEADER_LEN]);
        let header = Header {
            flags: reader.u8()?,
            cluster_hash: reader.u32()?,
            sender: reader.u32()?,
            incarnation: reader.u64()?,
            counter: reader.u64()?,
        };
        Ok(header)
    }
}

/// Why a datagram was dropped; each has a counter in `RingStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Shorter than header plus MAC, or a field ran past the end.
    Truncated,
    /// Longer than `MAX_DATAGRAM`.
    Oversized,
    /// Bad magic, unknown message type or out-of-range field.
    Malformed,
    /// Unknown wire version.
    Version,
    /// Cluster name hash differs (another cluster, or a different `cluster_name`).
    ForeignCluster,
    /// Sender id not in the nodelist.
    UnknownNode,
    /// HMAC or AEAD tag did not verify (wrong key or forged).
    BadMac,
    /// Counter already seen or too old, or an older incarnation.
    Replay,
    /// Valid but from an old or foreign ring; nothing to do with it.
    Stale,
}

impl DropReason {
    /// Short snake_case name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::Oversized => "oversized",
            DropReason::Malformed => "malformed",
            DropReason::Version => "version",
            DropReason::ForeignCluster => "foreign_cluster",
            DropReason::UnknownNode => "unknown_node",
            DropReason::BadMac => "bad_mac",
            DropReason::Replay => "replay",
            DropReason::Stale => "stale",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for DropReason {}

/// Identifies one ring: its sequence number, its representative, and the representative's
/// incarnation (so a restarted representative can never reuse an old ring id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RingId {
    /// Ring sequence; grows with every new ring.
    pub seq: u64,
    /// Representative (lowest node id of the ring).
    pub rep: NodeId,
    /// Representative's incarnation.
    pub incarnation: u64,
}

impl fmt::Display for RingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.rep, self.seq)
    }
}

/// Gather-phase announcement of who the sender thinks is alive and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// Highest ring sequence the sender knows of.
    pub ring_seq_max: u64,
    /// The sender's last installed ring.
    pub old_ring: Option<RingId>,
    /// Nodes the sender considers for the new ring (sorted).
    pub proc_set: Vec<NodeId>,
    /// Nodes the sender has given up on (sorted).
    pub fail_set: Vec<NodeId>,
}

/// One member's line in the commit token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitEntry {
    /// Member.
    pub node: NodeId,
    /// Its last installed ring.
    pub old_ring: Option<RingId>,
    /// Highest sequence it delivered in that ring.
    pub old_delivered: u64,
    /// Highest sequence it holds from that ring.
    pub old_high: u64,
}

/// The commit token: circulates twice through the new members before the ring starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The new ring.
    pub ring: RingId,
    /// Its members, sorted; the token travels in this order.
    pub members: Vec<NodeId>,
    /// Filled in by each member on the first rotation.
    pub entries: Vec<CommitEntry>,
    /// Hop counter; duplicates carry an already-seen value.
    pub token_seq: u64,
}

/// The ordering token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Ring it belongs to.
    pub ring: RingId,
    /// Hop counter; duplicates carry an already-seen value.
    pub token_seq: u64,
    /// Highest message sequence assigned.
    pub seq: u64,
    /// All-received-up-to: every member visited has every message up to here.
    pub aru: u64,
    /// Member holding `aru` down (0: none).
    pub aru_id: NodeId,
    /// Sequences some member is missing.
    pub rtr: Vec<u64>,
    /// Ring is still recovering the previous rings' messages.
    pub recovering: bool,
    /// Some member still had recovery messages to send this rotation.
    pub busy: bool,
    /// Recovery is complete: install the ring on receipt.
    pub install: bool,
    /// Last sequence used by recovery messages (valid with `install`).
    pub recovery_end: u64,
}

/// A piece of an application message (messages up to 1 MiB are split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Sender-local message number.
    pub msg_id: u64,
    /// Index of this piece.
    pub index: u32,
    /// Number of pieces.
    pub count: u32,
    /// Bytes.
    pub data: Vec<u8>,
}

/// What an ordered message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum McastBody {
    /// An application fragment of this ring.
    App(Fragment),
    /// A message of a previous ring, resent during recovery.
    Recovered {
        /// The ring it was first sent in.
        old_ring: RingId,
        /// Its sequence there.
        old_seq: u64,
        /// Its original sender.
        old_origin: NodeId,
        /// The fragment.
        fragment: Fragment,
    },
}

/// An ordered message of a ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mcast {
    /// Ring.
    pub ring: RingId,
    /// Position in the ring's total order.
    pub seq: u64,
    /// Sender.
    pub origin: NodeId,
    /// Contents.
    pub body: McastBody,
}

/// Every protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Gather announcement.
    Join(Join),
    /// Commit token.
    Commit(Commit),
    /// Ordering token.
    Token(Token),
    /// Ordered message.
    Mcast(Mcast),
    /// Consecutive ordered messages of one token visit sharing a datagram (up to `netmtu`),
    /// so small messages do not each pay for a datagram's seal, send and receive.
    Mcasts(Vec<Mcast>),
    /// Representative's beacon to non-members, so partitions find each other.
    MergeDetect {
        /// Sender's ring.
        ring: RingId,
    },
    /// Sender is shutting down and leaves this ring.
    Leave {
        /// Ring being left.
        ring: Option<RingId>,
    },
    /// To the representative: the sender has messages queued, so a token held while the
    /// ring was idle should move on now instead of after the hold time.
    TokenWanted {
        /// Sender's ring.
        ring: RingId,
    },
}

const TAG_JOIN: u8 = 1;
const TAG_COMMIT: u8 = 2;
const TAG_TOKEN: u8 = 3;
const TAG_MCAST: u8 = 4;
const TAG_MERGE: u8 = 5;
const TAG_LEAVE: u8 = 6;
const TAG_TOKEN_WANTED: u8 = 7;
const TAG_MCASTS: u8 = 8;

/// Encoded size of the `Mcasts` framing (tag and count) around its messages.
pub const MCASTS_OVERHEAD: usize = 5;

impl Mcast {
    /// Exact encoded size of this message inside a `Message::Mcasts`; a lone
    /// `Message::Mcast` is one byte (its tag) longer.
    pub fn encoded_len(&self) -> usize {
        // ring 20, seq 8, origin 4, body kind 1; fragment: id 8, index 4, count 4, length 4.
        let fixed = 20 + 8 + 4 + 1 + 20;
        match &self.body {
            McastBody::App(f) => fixed + f.data.len(),
            McastBody::Recovered { fragment, .. } => fixed + 32 + fragment.data.len(),
        }
    }
}

impl Message {
    /// Encodes the body (without header and MAC).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_hint());
        self.encode_into(&mut out);
        out
    }

    /// About how many bytes `encode` produces (exact up to the fixed fields).
    pub fn size_hint(&self) -> usize {
        match self {
            Message::Mcast(mcast) => mcast.encoded_len() + 1,
            Message::Mcasts(mcasts) => {
                MCASTS_OVERHEAD + mcasts.iter().map(Mcast::encoded_len).sum::<usize>()
            }
            Message::Join(_)
            | Message::Commit(_)
            | Message::Token(_)
            | Message::MergeDetect { .. }
            | Message::Leave { .. }
            | Message::TokenWanted { .. } => 64,
        }
    }

    /// Appends the encoded body to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = Writer(std::mem::take(out));
        match self {
            Message::Join(join) => {
                w.u8(TAG_JOIN);
                w.u64(join.ring_seq_max);
                w.opt_ring(join.old_ring);
                w.ids(&join.proc_set);
                w.ids(&join.fail_set);
            }
            Message::Commit(commit) => {
                w.u8(TAG_COMMIT);
                w.ring(commit.ring);
                w.ids(&commit.members);
                w.u32(commit.entries.len() as u32);
                for entry in &commit.entries {
                    w.u32(entry.node);
                    w.opt_ring(entry.old_ring);
                    w.u64(entry.old_delivered);
                    w.u64(entry.old_high);
                }
                w.u64(commit.token_seq);
            }
            Message::Token(token) => {
                w.u8(TAG_TOKEN);
                w.ring(token.ring);
                w.u64(token.token_seq);
                w.u64(token.seq);
                w.u64(token.aru);
                w.u32(token.aru_id);
                w.u32(token.rtr.len() as u32);
                for seq in &token.rtr {
                    w.u64(*seq);
                }
                let flags = u8::from(token.recovering)
                    | u8::from(token.busy) << 1
                    | u8::from(token.install) << 2;
                w.u8(flags);
                w.u64(token.recovery_end);
            }
            Message::Mcast(mcast) => {
                w.u8(TAG_MCAST);
                w.mcast(mcast);
            }
            Message::Mcasts(mcasts) => {
                w.u8(TAG_MCASTS);
                w.u32(mcasts.len() as u32);
                for mcast in mcasts {
                    w.mcast(mcast);
                }
            }
            Message::MergeDetect { ring } => {
                w.u8(TAG_MERGE);
                w.ring(*ring);
            }
            Message::Leave { ring } => {
                w.u8(TAG_LEAVE);
                w.opt_ring(*ring);
            }
            Message::TokenWanted { ring } => {
                w.u8(TAG_TOKEN_WANTED);
                w.ring(*ring);
            }
        }
        *out = w.0;
    }

    /// Decodes a body; trailing bytes are malformed.
    pub fn decode(bytes: &[u8]) -> Result<Message, DropReason> {
        Message::read(&mut Reader::new(bytes))
    }

    /// Like [`Message::decode`], but a fragment's data keeps the buffer of `bytes`
    /// instead of being copied out of it.
    pub fn decode_owned(mut bytes: Vec<u8>) -> Result<Message, DropReason> {
        let (mut message, data) = {
            let mut r = Reader::new(&bytes);
            // Only a lone message keeps the buffer; packed ones are copied out of it.
            r.defer_data = bytes.first() == Some(&TAG_MCAST);
            let message = Message::read(&mut r)?;
            (message, r.deferred)
        };
        if let (
            Some(data),
            Message::Mcast(Mcast {
                body: McastBody::App(fragment) | McastBody::Recovered { fragment, .. },
                ..
            }),
        ) = (data, &mut message)
        {
            bytes.truncate(data.end);
            bytes.drain(..data.start);
            fragment.data = bytes;
        }
        Ok(message)
    }

    fn read(r: &mut Reader<'_>) -> Result<Message, DropReason> {
        let message = match r.u8()? {
            TAG_JOIN => Message::Join(Join {
                ring_seq_max: r.u64()?,
                old_ring: r.opt_ring()?,
                proc_set: r.ids()?,
                fail_set: r.ids()?,
            }),
            TAG_COMMIT => {
                let ring = r.ring()?;
                let members = r.ids()?;
                let count = r.len()?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    entries.push(CommitEntry {
                        node: r.u32()?,
                        old_ring: r.opt_ring()?,
                        old_delivered: r.u64()?,
                        old_high: r.u64()?,
                    });
                }
                Message::Commit(Commit {
                    ring,
                    members,
                    entries,
                    token_seq: r.u64()?,
                })
            }
            TAG_TOKEN => {
                let ring = r.ring()?;
                let token_seq = r.u64()?;
                let seq = r.u64()?;
                let aru = r.u64()?;
                let aru_id = r.u32()?;
                let count = r.len()?;
                let mut rtr = Vec::with_capacity(count);
                for _ in 0..count {
                    rtr.push(r.u64()?);
                }
                let flags = r.u8()?;
                if flags > 7 {
                    return Err(DropReason::Malformed);
                }
                Message::Token(Token {
                    ring,
                    token_seq,
                    seq,
                    aru,
                    aru_id,
                    rtr,
                    recovering: flags & 1 != 0,
                    busy: flags & 2 != 0,
                    install: flags & 4 != 0,
                    recovery_end: r.u64()?,
                })
            }
            TAG_MCAST => Message::Mcast(r.mcast()?),
            TAG_MCASTS => {
                let count = r.len()?;
                if count < 2 {
                    // One message travels as `Mcast`; an empty pack is never sent.
                    return Err(DropReason::Malformed);
                }
                // Each packed message takes at least its fixed fields: bound the allocation
                // by what the datagram can hold.
                let mut mcasts = Vec::with_capacity(count.min(r.remaining() / 53));
                for _ in 0..count {
                    mcasts.push(r.mcast()?);
                }
                Message::Mcasts(mcasts)
            }
            TAG_MERGE => Message::MergeDetect { ring: r.ring()? },
            TAG_LEAVE => Message::Leave {
                ring: r.opt_ring()?,
            },
            TAG_TOKEN_WANTED => Message::TokenWanted { ring: r.ring()? },
            _ => return Err(DropReason::Malformed),
        };
        if !r.is_empty() {
            return Err(DropReason::Malformed);
        }
        Ok(message)
    }
}

/// Appends big-endian fields to a buffer.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    pub(crate) fn str(&mut self, v: &str) {
        self.u16(v.len() as u16);
        self.0.extend_from_slice(v.as_bytes());
    }
    fn ids(&mut self, ids: &[NodeId]) {
        self.u32(ids.len() as u32);
        for id in ids {
            self.u32(*id);
        }
    }
    fn ring(&mut self, ring: RingId) {
        self.u64(ring.seq);
        self.u32(ring.rep);
        self.u64(ring.incarnation);
    }
    fn opt_ring(&mut self, ring: Option<RingId>) {
        match ring {
            None => self.u8(0),
            Some(ring) => {
                self.u8(1);
                self.ring(ring);
            }
        }
    }
    fn fragment(&mut self, fragment: &Fragment) {
        self.u64(fragment.msg_id);
        self.u32(fragment.index);
        self.u32(fragment.count);
        self.bytes(&fragment.data);
    }
    fn mcast(&mut self, mcast: &Mcast) {
        self.ring(mcast.ring);
        self.u64(mcast.seq);
        self.u32(mcast.origin);
        match &mcast.body {
            McastBody::App(fragment) => {
                self.u8(0);
                self.fragment(fragment);
            }
            McastBody::Recovered {
                old_ring,
                old_seq,
                old_origin,
                fragment,
            } => {
                self.u8(1);
                self.ring(*old_ring);
                self.u64(*old_seq);
                self.u32(*old_origin);
                self.fragment(fragment);
            }
        }
    }
}

/// Reads big-endian fields, failing with `Truncated` past the end.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    /// Length of the whole input, to turn what is left into offsets.
    total: usize,
    /// Leave a fragment's data empty and record where it is (`deferred`).
    defer_data: bool,
    deferred: Option<std::ops::Range<usize>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader {
            bytes,
            total: bytes.len(),
            defer_data: false,
            deferred: None,
        }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DropReason> {
        if self.bytes.len() < n {
            return Err(DropReason::Truncated);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    pub(crate) fn u8(&mut self) -> Result<u8, DropReason> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u16(&mut self) -> Result<u16, DropReason> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("two bytes"),
        ))
    }
    pub(crate) fn u32(&mut self) -> Result<u32, DropReason> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("four bytes"),
        ))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, DropReason> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("eight bytes"),
        ))
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DropReason> {
        let len = self.u32()? as usize;
        self.take(len)
    }
    pub(crate) fn str(&mut self) -> Result<&'a str, DropReason> {
        let len = self.u16()? as usize;
        std::str::from_utf8(self.take(len)?).map_err(|_| DropReason::Malformed)
    }
    fn len(&mut self) -> Result<usize, DropReason> {
        let len = self.u32()? as usize;
        if len > MAX_LIST {
            return Err(DropReason::Malformed);
        }
        Ok(len)
    }
    fn ids(&mut self) -> Result<Vec<NodeId>, DropReason> {
        let len = self.len()?;
        let mut ids = Vec::with_capacity(len);
        for _ in 0..len {
            ids.push(self.u32()?);
        }
        Ok(ids)
    }
    fn ring(&mut self) -> Result<RingId, DropReason> {
        Ok(RingId {
            seq: self.u64()?,
            rep: self.u32()?,
            incarnation: self.u64()?,
        })
    }
    fn opt_ring(&mut self) -> Result<Option<RingId>, DropReason> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.ring()?)),
            _ => Err(DropReason::Malformed),
        }
    }
    fn fragment(&mut self) -> Result<Fragment, DropReason> {
        let msg_id = self.u64()?;
        let index = self.u32()?;
        let count = self.u32()?;
        let data = self.bytes()?;
        let data = if self.defer_data {
            let end = self.total - self.bytes.len();
            self.deferred = Some(end - data.len()..end);
            Vec::new()
        } else {
            data.to_vec()
        };
        let fragment = Fragment {
            msg_id,
            index,
            count,
            data,
        };
        if fragment.count == 0 || fragment.index >= fragment.count {
            return Err(DropReason::Malformed);
        }
        Ok(fragment)
    }
    fn mcast(&mut self) -> Result<Mcast, DropReason> {
        let ring = self.ring()?;
        let seq = self.u64()?;
        let origin = self.u32()?;
        let body = match self.u8()? {
            0 => McastBody::App(self.fragment()?),
            1 => McastBody::Recovered {
                old_ring: self.ring()?,
                old_seq: self.u64()?,
                old_origin: self.u32()?,
                fragment: self.fragment()?,
            },
            _ => return Err(DropReason::Malformed),
        };
        Ok(Mcast {
            ring,
            seq,
            origin,
            body,
        })
    }
    fn remaining(&self) -> usize {
        self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> RingId {
        RingId {
            seq: 7,
            rep: 1,
            incarnation: 99,
        }
    }

    fn samples() -> Vec<Message> {
        let fragment = Fragment {
            msg_id: 3,
            index: 1,
            count: 2,
            data: b"abc".to_vec(),
        };
        vec![
            Message::Join(Join {
                ring_seq_max: 9,
                old_ring: Some(ring()),
                proc_set: vec![1, 2, 3],
                fail_set: vec![3],
            }),
            Message::Commit(Commit {
                ring: ring(),
                members: vec![1, 2],
                entries: vec![CommitEntry {
                    node: 1,
                    old_ring: None,
                    old_delivered: 4,
                    old_high: 6,
                }],
                token_seq: 2,
            }),
            Message::Token(Token {
                ring: ring(),
                token_seq: 5,
                seq: 10,
                aru: 8,
                aru_id: 2,
                rtr: vec![9],
                recovering: true,
                busy: false,
                install: true,
                recovery_end: 6,
            }),
            Message::Mcast(Mcast {
                ring: ring(),
                seq: 4,
                origin: 2,
                body: McastBody::App(fragment.clone()),
            }),
            Message::Mcast(Mcast {
                ring: ring(),
                seq: 5,
                origin: 2,
                body: McastBody::Recovered {
                    old_ring: ring(),
                    old_seq: 3,
                    old_origin: 1,
                    fragment,
                },
            }),
            Message::Mcasts(vec![
                Mcast {
                    ring: ring(),
                    seq: 6,
                    origin: 2,
                    body: McastBody::App(Fragment {
                        msg_id: 4,
                        index: 0,
                        count: 1,
                        data: b"de".to_vec(),
                    }),
                },
                Mcast {
                    ring: ring(),
                    seq: 7,
                    origin: 2,
                    body: McastBody::Recovered {
                        old_ring: ring(),
                        old_seq: 9,
                        old_origin: 3,
                        fragment: Fragment {
                            msg_id: 1,
                            index: 0,
                            count: 1,
                            data: Vec::new(),
                        },
                    },
                },
            ]),
            Message::MergeDetect { ring: ring() },
            Message::Leave { ring: None },
            Message::TokenWanted { ring: ring() },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for message in samples() {
            assert_eq!(Message::decode(&message.encode()), Ok(message));
        }
    }

    #[test]
    fn owned_decoding_equals_borrowed_decoding() {
        for message in samples() {
            let bytes = message.encode();
            assert_eq!(Message::decode_owned(bytes.clone()), Ok(message));
            for cut in 0..bytes.len() {
                assert!(Message::decode_owned(bytes[..cut].to_vec()).is_err());
            }
        }
    }

    #[test]
    fn every_truncation_is_rejected_without_panic() {
        for message in samples() {
            let bytes = message.encode();
            for cut in 0..bytes.len() {
                assert!(
                    Message::decode(&bytes[..cut]).is_err(),
                    "{message:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn size_hint_is_exact_for_ordered_messages() {
        for message in samples() {
            if matches!(message, Message::Mcast(_) | Message::Mcasts(_)) {
                assert_eq!(message.size_hint(), message.encode().len(), "{message:?}");
            }
        }
    }

    #[test]
    fn a_pack_of_fewer_than_two_messages_is_malformed() {
        for count in [0u32, 1] {
            let Message::Mcasts(mut mcasts) = samples().remove(5) else {
                panic!("sample 5 is a pack");
            };
            mcasts.truncate(count as usize);
            let mut bytes = vec![TAG_MCASTS];
            bytes.extend_from_slice(&count.to_be_bytes());
            for mcast in &mcasts {
                let mut w = Writer(Vec::new());
                w.mcast(mcast);
                bytes.extend_from_slice(&w.0);
            }
            assert_eq!(Message::decode(&bytes), Err(DropReason::Malformed));
        }
    }

    #[test]
    fn trailing_bytes_and_unknown_tags_are_malformed() {
        let mut bytes = Message::Leave { ring: None }.encode();
        bytes.push(0);
        assert_eq!(Message::decode(&bytes), Err(DropReason::Malformed));
        assert_eq!(Message::decode(&[42]), Err(DropReason::Malformed));
    }

    #[test]
    fn huge_list_lengths_are_refused_before_allocating() {
        let mut bytes = vec![TAG_JOIN];
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.push(0);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(Message::decode(&bytes), Err(DropReason::Malformed));
    }

    #[test]
    fn header_round_trips_and_checks_version() {
        let header = Header {
            flags: 1,
            cluster_hash: 5,
            sender: 3,
            incarnation: 8,
            counter: 9,
        };
        let mut bytes = Vec::new();
        header.encode(&mut bytes);
        bytes.resize(HEADER_LEN + MAC_LEN, 0);
        assert_eq!(Header::decode(&bytes), Ok(header));
        bytes[2] = 9;
        assert_eq!(Header::decode(&bytes), Err(DropReason::Version));
        assert_eq!(Header::decode(&bytes[..10]), Err(DropReason::Truncated));
    }
}
