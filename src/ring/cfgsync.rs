//! The daemon's own process group [`GROUP`]: pushing a configuration to every member
//! (`ha-cfgtool sync`) and collecting every member's facts (`ha-cfgtool doctor`).
//!
//! Each `ha-ring` joins the group as client [`SERVICE_CLIENT`] and feeds the group's
//! messages, in ring order, to a [`ConfigService`]. A sync runs in two rounds so that a
//! member's answer is never lost to the ring change its own new configuration causes:
//!
//! 1. the origin sends an `offer` (the configuration text); every member, the origin too,
//!    checks it and writes it (the shell does the I/O: [`ServiceOutput::Check`]) and answers
//!    with a `verdict` (installed, unchanged or rejected with the reason);
//! 2. once every member of the ring answered, or the timeout passed, the origin sends a
//!    `commit` and replies to its client; members that accepted reload then
//!    ([`ServiceOutput::Reload`]), or on their own a little after the timeout when the
//!    origin vanished.
//!
//! An inquiry is one round: every member answers with its [`Facts`].
//!
//! Pure: no I/O, no clock (`now` is passed in), no JSON outside the message bytes. Messages
//! come from authenticated ring members; malformed ones are counted and ignored. Pending
//! exchanges are bounded by [`MAX_PENDING`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::config::NodeId;
use super::group::ClientId;

/// The process group every `ha-ring` joins for configuration exchanges.
pub const GROUP: &str = "ha-ring:config";
/// Group names starting with this are the daemon's own; control clients may not join them.
pub const RESERVED_PREFIX: &str = "ha-ring:";
/// The client number the daemon uses for itself (control clients are numbered from 16).
pub const SERVICE_CLIENT: ClientId = 1;
/// Most exchanges waiting for answers at once, and most installs waiting for a commit.
pub const MAX_PENDING: usize = 16;
/// After the sync timeout, how long a member that installed waits for the origin's commit
/// before it reloads on its own.
pub const COMMIT_GRACE: Duration = Duration::from_secs(2);

/// Hex SHA-256 of `bytes` (config hashes in status, doctor and sync).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names one exchange cluster-wide: the origin, its incarnation (so a restarted origin
/// never reuses an id) and its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExchangeId {
    /// The node that started it.
    pub origin: NodeId,
    /// The origin's incarnation.
    pub incarnation: u64,
    /// The origin's counter.
    pub seq: u64,
}

/// Who asked, as the shell numbers it (control client and request id); opaque here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket {
    /// Control client.
    pub client: u64,
    /// Request id on that client.
    pub request: u64,
}

/// One member's answer to an offered configuration. JSON:
/// `{"outcome":"installed","backup":"/etc/ha/ha.conf.bak"}`, `{"outcome":"unchanged"}`,
/// `{"outcome":"rejected","reason":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Verdict {
    /// Written; the previous file was saved as `backup` (none when there was no file).
    Installed {
        /// Where the previous configuration was saved.
        backup: Option<String>,
    },
    /// The member already had exactly this text.
    Unchanged,
    /// Refused; the member keeps its configuration.
    Rejected {
        /// Why, one line.
        reason: String,
    },
}

impl Verdict {
    /// Whether the member runs the offered configuration after the commit.
    pub fn is_accepted(&self) -> bool {
        !matches!(self, Verdict::Rejected { .. })
    }
}

/// What a member says about itself to an inquiry. JSON:
/// `{"version":"0.1.0","key_fingerprint":"SHA256:…"|null,"config_sha256":"…",
/// "cluster_name":"hacluster"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// hakit version of the member's `ha-ring`.
    pub version: String,
    /// Fingerprint of its authkey, `null` when it runs without one.
    pub key_fingerprint: Option<String>,
    /// Hex SHA-256 of the configuration text it runs.
    pub config_sha256: String,
    /// Its cluster name.
    pub cluster_name: String,
}

/// One node's line in a sync report. JSON:
/// `{"node":2,"result":"installed"|"unchanged"|"rejected"|"no_answer","reason":null|"…",
/// "backup":null|"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncResult {
    /// The member.
    pub node: NodeId,
    /// What happened there.
    pub result: &'static str,
    /// Why it was rejected, or why there is no answer.
    pub reason: Option<String>,
    /// Where it saved its previous configuration.
    pub backup: Option<String>,
}

/// One node's line in an inquiry report: `{"node":2,"facts":{Facts}|null}` (`null`: no
/// answer before the timeout).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactsResult {
    /// The member.
    pub node: NodeId,
    /// What it said.
    pub facts: Option<Facts>,
}

/// The answer to the client that started an exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// `{"id":{…},"ok":true,"nodes":[SyncResult…]}`; `ok` when every member accepted.
    Sync {
        /// The exchange.
        id: ExchangeId,
        /// Every member accepted.
        ok: bool,
        /// One line per ring member at the start, by id.
        nodes: Vec<SyncResult>,
    },
    /// `{"id":{…},"nodes":[FactsResult…]}`.
    Facts {
        /// The exchange.
        id: ExchangeId,
        /// One line per ring member at the start, by id.
        nodes: Vec<FactsResult>,
    },
}

/// What the shell hands the service.
#[derive(Debug)]
pub enum ServiceInput<'a> {
    /// A message of [`GROUP`], as delivered in ring order.
    Delivered {
        /// Sending node (authenticated by the ring).
        from: NodeId,
        /// Payload.
        data: &'a [u8],
    },
    /// A client asks to push `config` to `members` (the ring's members now).
    Sync {
        /// Who to answer.
        ticket: Ticket,
        /// The configuration text.
        config: String,
        /// Members expected to answer.
        members: Vec<NodeId>,
        /// How long to wait for them.
        timeout: Duration,
    },
    /// A client asks every member for its facts.
    Inquire {
        /// Who to answer.
        ticket: Ticket,
        /// Members expected to answer.
        members: Vec<NodeId>,
        /// How long to wait for them.
        timeout: Duration,
    },
    /// The shell's verdict on an offered configuration (after [`ServiceOutput::Check`]).
    Checked {
        /// Which offer.
        id: ExchangeId,
        /// What the shell did.
        verdict: Verdict,
    },
    /// Sending for `ticket` failed in the ring; the exchange is abandoned.
    SendFailed {
        /// Whose exchange.
        ticket: Ticket,
        /// Why.
        reason: String,
    },
    /// A deadline may have passed.
    Tick,
}

/// What the service asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceOutput {
    /// Send these bytes to [`GROUP`]; on failure feed `SendFailed` for `ticket`, if any.
    Send {
        /// Message bytes.
        bytes: Vec<u8>,
        /// The exchange it belongs to, when this node started it.
        ticket: Option<Ticket>,
    },
    /// Check `config` (parse; same cluster; this node still in it), back up the current
    /// file and write the new one atomically, but do not reload yet; then feed `Checked`.
    Check {
        /// The offer.
        id: ExchangeId,
        /// The configuration text.
        config: String,
    },
    /// The configuration installed for `id` is final: reload it.
    Reload {
        /// The offer.
        id: ExchangeId,
    },
    /// Answer a client.
    Reply {
        /// Who.
        ticket: Ticket,
        /// The report, or why the exchange could not run.
        report: Result<Report, String>,
    },
}

/// The group's messages. JSON tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ServiceMsg {
    Offer {
        id: ExchangeId,
        config: String,
        config_sha256: String,
        timeout_ms: u64,
    },
    Verdict {
        id: ExchangeId,
        verdict: Verdict,
    },
    Commit {
        id: ExchangeId,
    },
    Inquiry {
        id: ExchangeId,
    },
    Facts {
        id: ExchangeId,
        facts: Facts,
    },
}

impl ServiceMsg {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("service messages always serialise")
    }
}

enum Answers {
    Sync(BTreeMap<NodeId, Verdict>),
    Facts(BTreeMap<NodeId, Facts>),
}

struct Pending {
    ticket: Ticket,
    members: Vec<NodeId>,
    answers: Answers,
    deadline: Instant,
}

impl Pending {
    fn is_complete(&self) -> bool {
        let answered = match &self.answers {
            Answers::Sync(a) => a.len(),
            Answers::Facts(a) => a.len(),
        };
        answered >= self.members.len()
    }
}

/// Counters, for status: `{"exchanges_started":1,"offers_checked":1,"malformed":0,...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCounters {
    /// Syncs and inquiries this node started.
    pub exchanges_started: u64,
    /// Offers this node checked.
    pub offers_checked: u64,
    /// Group messages that did not decode (ignored).
    pub malformed: u64,
    /// Exchanges refused because too many were pending.
    pub refused_busy: u64,
}

/// One node's side of the configuration group. Calling contract: `now` never decreases;
/// after every `handle`, tick at `next_deadline`.
pub struct ConfigService {
    local: NodeId,
    incarnation: u64,
    next_seq: u64,
    facts: Facts,
    pending: BTreeMap<ExchangeId, Pending>,
    /// Offers this node installed and must reload once committed, with the time it reloads
    /// anyway.
    installed: BTreeMap<ExchangeId, Instant>,
    /// Offers handed to the shell to check, with the time an install would reload anyway.
    checking: BTreeMap<ExchangeId, Instant>,
    counters: ServiceCounters,
    now: Instant,
}

impl ConfigService {
    /// The service of node `local` in its `incarnation`, answering inquiries with `facts`.
    pub fn new(local: NodeId, incarnation: u64, facts: Facts, now: Instant) -> ConfigService {
        ConfigService {
            local,
            incarnation,
            next_seq: 1,
            facts,
            pending: BTreeMap::new(),
            installed: BTreeMap::new(),
            checking: BTreeMap::new(),
            counters: ServiceCounters::default(),
            now,
        }
    }

    /// Replaces what this node says about itself (after a reload).
    pub fn set_facts(&mut self, facts: Facts) {
        self.facts = facts;
    }

    /// Counters.
    pub fn counters(&self) -> &ServiceCounters {
        &self.counters
    }

    /// Earliest time the service wants a `Tick`.
    pub fn next_deadline(&self) -> Option<Instant> {
        let pending = self.pending.values().map(|p| p.deadline);
        pending.chain(self.installed.values().copied()).min()
    }

    /// Feeds one input; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, input: ServiceInput<'_>) -> Vec<ServiceOutput> {
        debug_assert!(now >= self.now, "time went backwards");
        self.now = self.now.max(now);
        let mut out = Vec::new();
        match input {
            ServiceInput::Delivered { from, data } => self.on_message(from, data, &mut out),
            ServiceInput::Sync {
                ticket,
                config,
                members,
                timeout,
            } => {
                let Some(id) = self.start(ticket, &members, timeout, true, &mut out) else {
                    return out;
                };
                let message = ServiceMsg::Offer {
                    id,
                    config_sha256: sha256_hex(config.as_bytes()),
                    config,
                    timeout_ms: timeout.as_millis() as u64,
                };
                out.push(ServiceOutput::Send {
                    bytes: message.encode(),
                    ticket: Some(ticket),
                });
            }
            ServiceInput::Inquire {
                ticket,
                members,
                timeout,
            } => {
                if let Some(id) = self.start(ticket, &members, timeout, false, &mut out) {
                    out.push(ServiceOutput::Send {
                        bytes: ServiceMsg::Inquiry { id }.encode(),
                        ticket: Some(ticket),
                    });
                }
            }
            ServiceInput::Checked { id, verdict } => {
                let reload_at = self.checking.remove(&id);
                if verdict.is_accepted() {
                    let at = reload_at.unwrap_or(self.now + COMMIT_GRACE);
                    bounded_insert(&mut self.installed, id, at);
                }
                out.push(ServiceOutput::Send {
                    bytes: ServiceMsg::Verdict { id, verdict }.encode(),
                    ticket: None,
                });
            }
            ServiceInput::SendFailed { ticket, reason } => {
                let ids: Vec<ExchangeId> = self
                    .pending
                    .iter()
                    .filter(|(_, p)| p.ticket == ticket)
                    .map(|(id, _)| *id)
                    .collect();
                for id in ids {
                    self.pending.remove(&id);
                    out.push(ServiceOutput::Reply {
                        ticket,
                        report: Err(reason.clone()),
                    });
                }
            }
            ServiceInput::Tick => self.on_tick(&mut out),
        }
        out
    }

    fn start(
        &mut self,
        ticket: Ticket,
        members: &[NodeId],
        timeout: Duration,
        sync: bool,
        out: &mut Vec<ServiceOutput>,
    ) -> Option<ExchangeId> {
        if self.pending.len() >= MAX_PENDING {
            self.counters.refused_busy += 1;
            out.push(ServiceOutput::Reply {
                ticket,
                report: Err(format!(
                    "{MAX_PENDING} configuration exchanges are already running; retry later"
                )),
            });
            return None;
        }
        let id = ExchangeId {
            origin: self.local,
            incarnation: self.incarnation,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.counters.exchanges_started += 1;
        let mut members = members.to_vec();
        members.sort_unstable();
        members.dedup();
        let answers = if sync {
            Answers::Sync(BTreeMap::new())
        } else {
            Answers::Facts(BTreeMap::new())
        };
        self.pending.insert(
            id,
            Pending {
                ticket,
                members,
                answers,
                deadline: self.now + timeout,
            },
        );
        Some(id)
    }

    fn on_message(&mut self, from: NodeId, data: &[u8], out: &mut Vec<ServiceOutput>) {
        let Ok(message) = serde_json::from_slice::<ServiceMsg>(data) else {
            self.counters.malformed += 1;
            return;
        };
        match message {
            ServiceMsg::Offer {
                id,
                config,
                config_sha256,
                timeout_ms,
            } => {
                if id.origin != from || sha256_hex(config.as_bytes()) != config_sha256 {
                    self.counters.malformed += 1;
                    return;
                }
                self.counters.offers_checked += 1;
                // Reloads on its own by then if the origin's commit never comes.
                bounded_insert(
                    &mut self.checking,
                    id,
                    self.now + Duration::from_millis(timeout_ms) + COMMIT_GRACE,
                );
                out.push(ServiceOutput::Check { id, config });
            }
            ServiceMsg::Verdict { id, verdict } => {
                if let Some(pending) = self.pending.get_mut(&id)
                    && let Answers::Sync(answers) = &mut pending.answers
                    && pending.members.contains(&from)
                {
                    answers.insert(from, verdict);
                    if pending.is_complete() {
                        self.finish(id, out);
                    }
                }
            }
            ServiceMsg::Commit { id } => {
                if id.origin == from && self.installed.remove(&id).is_some() {
                    out.push(ServiceOutput::Reload { id });
                }
            }
            ServiceMsg::Inquiry { id } => {
                if id.origin != from {
                    self.counters.malformed += 1;
                    return;
                }
                out.push(ServiceOutput::Send {
                    bytes: ServiceMsg::Facts {
                        id,
                        facts: self.facts.clone(),
                    }
                    .encode(),
                    ticket: None,
                });
            }
            ServiceMsg::Facts { id, facts } => {
                if let Some(pending) = self.pending.get_mut(&id)
                    && let Answers::Facts(answers) = &mut pending.answers
                    && pending.members.contains(&from)
                {
                    answers.insert(from, facts);
                    if pending.is_complete() {
                        self.finish(id, out);
                    }
                }
            }
        }
    }

    fn on_tick(&mut self, out: &mut Vec<ServiceOutput>) {
        let now = self.now;
        let due: Vec<ExchangeId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.finish(id, out);
        }
        let reload: Vec<ExchangeId> = self
            .installed
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in reload {
            self.installed.remove(&id);
            out.push(ServiceOutput::Reload { id });
        }
    }

    /// Ends an exchange: a sync is committed (members that accepted reload), and the client
    /// gets the report, members that did not answer marked as such.
    fn finish(&mut self, id: ExchangeId, out: &mut Vec<ServiceOutput>) {
        let Some(pending) = self.pending.remove(&id) else {
            return;
        };
        let report = match pending.answers {
            Answers::Sync(answers) => {
                out.push(ServiceOutput::Send {
                    bytes: ServiceMsg::Commit { id }.encode(),
                    ticket: None,
                });
                let nodes: Vec<SyncResult> = pending
                    .members
                    .iter()
                    .map(|&node| sync_result(node, answers.get(&node)))
                    .collect();
                Report::Sync {
                    id,
                    ok: nodes
                        .iter()
                        .all(|n| n.result == "installed" || n.result == "unchanged"),
                    nodes,
                }
            }
            Answers::Facts(mut answers) => Report::Facts {
                id,
                nodes: pending
                    .members
                    .iter()
                    .map(|&node| FactsResult {
                        node,
                        facts: answers.remove(&node),
                    })
                    .collect(),
            },
        };
        out.push(ServiceOutput::Reply {
            ticket: pending.ticket,
            report: Ok(report),
        });
    }
}

/// Inserts, first dropping the oldest entry when the map is full.
fn bounded_insert(map: &mut BTreeMap<ExchangeId, Instant>, id: ExchangeId, at: Instant) {
    if map.len() >= MAX_PENDING
        && !map.contains_key(&id)
        && let Some(oldest) = map.keys().next().copied()
    {
        map.remove(&oldest);
    }
    map.insert(id, at);
}

fn sync_result(node: NodeId, verdict: Option<&Verdict>) -> SyncResult {
    let (result, reason, backup) = match verdict {
        Some(Verdict::Installed { backup }) => ("installed", None, backup.clone()),
        Some(Verdict::Unchanged) => ("unchanged", None, None),
        Some(Verdict::Rejected { reason }) => ("rejected", Some(reason.clone()), None),
        None => (
            "no_answer",
            Some("no answer before the timeout; its configuration is unknown".to_string()),
            None,
        ),
    };
    SyncResult {
        node,
        result,
        reason,
        backup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(node: NodeId) -> Facts {
        Facts {
            version: "0.1.0".into(),
            key_fingerprint: Some("SHA256:k".into()),
            config_sha256: format!("c{node}"),
            cluster_name: "t".into(),
        }
    }

    const TICKET: Ticket = Ticket {
        client: 16,
        request: 7,
    };

    /// Three services on one ordered "ring": every sent message reaches every node (the
    /// sender too) in send order, as the process group delivers them. `silent` nodes get
    /// nothing; `reject` nodes refuse offers.
    struct Ring {
        t0: Instant,
        nodes: BTreeMap<NodeId, ConfigService>,
        silent: Vec<NodeId>,
        reject: Vec<NodeId>,
        replies: Vec<(Ticket, Result<Report, String>)>,
        reloads: Vec<NodeId>,
        checks: Vec<NodeId>,
    }

    impl Ring {
        fn new() -> Ring {
            let t0 = Instant::now();
            Ring {
                t0,
                nodes: (1..=3)
                    .map(|n| (n, ConfigService::new(n, 9, facts(n), t0)))
                    .collect(),
                silent: Vec::new(),
                reject: Vec::new(),
                replies: Vec::new(),
                reloads: Vec::new(),
                checks: Vec::new(),
            }
        }

        fn at(&self, ms: u64) -> Instant {
            self.t0 + Duration::from_millis(ms)
        }

        fn feed(&mut self, node: NodeId, ms: u64, input: ServiceInput<'_>) {
            let now = self.at(ms);
            let mut work = vec![(node, self.nodes.get_mut(&node).unwrap().handle(now, input))];
            while let Some((at, outputs)) = work.pop() {
                for output in outputs {
                    match output {
                        ServiceOutput::Send { bytes, .. } => {
                            for (&id, service) in self.nodes.iter_mut() {
                                if self.silent.contains(&id) {
                                    continue;
                                }
                                let input = ServiceInput::Delivered {
                                    from: at,
                                    data: &bytes,
                                };
                                work.insert(0, (id, service.handle(now, input)));
                            }
                        }
                        ServiceOutput::Check { id, .. } => {
                            self.checks.push(at);
                            let verdict = if self.reject.contains(&at) {
                                Verdict::Rejected {
                                    reason: "drops this node".into(),
                                }
                            } else {
                                Verdict::Installed { backup: None }
                            };
                            let service = self.nodes.get_mut(&at).unwrap();
                            work.insert(
                                0,
                                (
                                    at,
                                    service.handle(now, ServiceInput::Checked { id, verdict }),
                                ),
                            );
                        }
                        ServiceOutput::Reload { .. } => self.reloads.push(at),
                        ServiceOutput::Reply { ticket, report } => {
                            self.replies.push((ticket, report))
                        }
                    }
                }
            }
        }

        fn sync(&mut self, from: NodeId, ms: u64) {
            self.feed(
                from,
                ms,
                ServiceInput::Sync {
                    ticket: TICKET,
                    config: "totem {}\n".into(),
                    members: vec![1, 2, 3],
                    timeout: Duration::from_millis(1000),
                },
            );
        }

        fn sync_nodes(&self) -> Vec<(NodeId, &'static str)> {
            match &self.replies[..] {
                [(TICKET, Ok(Report::Sync { nodes, .. }))] => {
                    nodes.iter().map(|n| (n.node, n.result)).collect()
                }
                other => panic!("unexpected replies {other:?}"),
            }
        }
    }

    #[test]
    fn sync_reports_every_verdict_then_only_accepting_members_reload() {
        let mut ring = Ring::new();
        ring.reject = vec![3];
        ring.sync(1, 0);
        assert_eq!(ring.checks, vec![1, 2, 3]);
        assert_eq!(
            ring.sync_nodes(),
            vec![(1, "installed"), (2, "installed"), (3, "rejected")]
        );
        let mut reloads = ring.reloads.clone();
        reloads.sort_unstable();
        assert_eq!(reloads, vec![1, 2], "the rejecting node keeps its config");
        // Nothing left to wait for.
        assert!(ring.nodes.values().all(|s| s.next_deadline().is_none()));
    }

    #[test]
    fn a_silent_member_is_reported_at_the_timeout_and_the_others_still_reload() {
        let mut ring = Ring::new();
        ring.silent = vec![2];
        ring.sync(1, 0);
        assert!(ring.replies.is_empty(), "waits for node 2");
        assert!(ring.reloads.is_empty(), "nobody reloads before the commit");
        assert_eq!(
            ring.nodes[&1].next_deadline(),
            Some(ring.at(1000)),
            "the origin wakes at the timeout"
        );
        ring.feed(1, 1000, ServiceInput::Tick);
        assert_eq!(
            ring.sync_nodes(),
            vec![(1, "installed"), (2, "no_answer"), (3, "installed")]
        );
        let Some((_, Ok(Report::Sync { ok, .. }))) = ring.replies.first() else {
            panic!()
        };
        assert!(!ok);
        ring.reloads.sort_unstable();
        assert_eq!(ring.reloads, vec![1, 3]);
    }

    #[test]
    fn an_installed_offer_reloads_on_its_own_when_the_origin_never_commits() {
        let mut ring = Ring::new();
        ring.sync(1, 0);
        ring.reloads.clear();
        // Node 3 gets a fresh offer from node 2, whose commit never comes.
        let id = ExchangeId {
            origin: 2,
            incarnation: 1,
            seq: 1,
        };
        let offer = ServiceMsg::Offer {
            id,
            config: "x".into(),
            config_sha256: sha256_hex(b"x"),
            timeout_ms: 500,
        }
        .encode();
        ring.feed(
            3,
            10,
            ServiceInput::Delivered {
                from: 2,
                data: &offer,
            },
        );
        assert_eq!(ring.checks.last(), Some(&3));
        assert_eq!(
            ring.nodes[&3].next_deadline(),
            Some(ring.at(10 + 500) + COMMIT_GRACE)
        );
        let late = 510 + COMMIT_GRACE.as_millis() as u64;
        ring.feed(3, late, ServiceInput::Tick);
        assert_eq!(ring.reloads, vec![3]);
    }

    #[test]
    fn inquiry_collects_each_members_facts() {
        let mut ring = Ring::new();
        ring.feed(
            2,
            0,
            ServiceInput::Inquire {
                ticket: TICKET,
                members: vec![3, 1, 2],
                timeout: Duration::from_millis(500),
            },
        );
        match &ring.replies[..] {
            [(_, Ok(Report::Facts { nodes, .. }))] => {
                let hashes: Vec<_> = nodes
                    .iter()
                    .map(|n| n.facts.as_ref().unwrap().config_sha256.clone())
                    .collect();
                assert_eq!(hashes, vec!["c1", "c2", "c3"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offers_not_from_their_origin_and_junk_are_ignored() {
        let mut ring = Ring::new();
        let forged = ServiceMsg::Offer {
            id: ExchangeId {
                origin: 2,
                incarnation: 1,
                seq: 1,
            },
            config: "x".into(),
            config_sha256: sha256_hex(b"x"),
            timeout_ms: 1,
        }
        .encode();
        for data in [&forged[..], b"{not json", b"{\"type\":\"unknown\"}"] {
            ring.feed(1, 0, ServiceInput::Delivered { from: 3, data });
        }
        assert!(ring.checks.is_empty());
        assert_eq!(ring.nodes[&1].counters().malformed, 3);
    }

    #[test]
    fn too_many_pending_exchanges_are_refused_with_a_reply() {
        let mut ring = Ring::new();
        ring.silent = vec![1, 2, 3];
        for _ in 0..MAX_PENDING + 1 {
            ring.sync(1, 0);
        }
        assert_eq!(ring.replies.len(), 1);
        assert!(ring.replies[0].1.as_ref().unwrap_err().contains("retry"));
    }
}
