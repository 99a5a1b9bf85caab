//! Process groups on top of the ordered stream (like corosync's CPG): local clients join
//! named groups, send to them, and receive the group's messages and membership changes in
//! ring order. The group table is rebuilt only from delivered messages and view changes, so
//! every node computes the same table at the same point of the stream. No I/O in here.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::config::NodeId;
use super::wire::{DropReason, Reader, RingId, Writer};

/// A local client of one node's control socket, numbered by the shell.
pub type ClientId = u64;

/// Longest group name, in bytes.
pub const MAX_GROUP_NAME: usize = 128;
/// Most groups one client may join.
pub const MAX_GROUPS_PER_CLIENT: usize = 64;

/// A group member: a client on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Member {
    /// Node the client is on.
    pub node: NodeId,
    /// Client number on that node.
    pub client: ClientId,
}

/// Why a member left a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// The client asked to leave or disconnected.
    Left,
    /// Its node left the ring.
    NodeLeft,
}

/// What a local client receives. JSON (tagged by `type`):
/// `{"type":"message","group":"g","from":{"node":1,"client":3},"ring":{...},"data":[...]}`,
/// `{"type":"joined","group":"g","member":{...},"members":[...]}`,
/// `{"type":"left","group":"g","member":{...},"reason":"node_left","members":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GroupEvent {
    /// A message sent to the group, in ring order.
    Message {
        /// Group.
        group: String,
        /// Sender.
        from: Member,
        /// Ring the message was ordered in.
        ring: RingId,
        /// Payload.
        data: Vec<u8>,
    },
    /// A member joined (the joiner also receives its own join, with the full member list).
    Joined {
        /// Group.
        group: String,
        /// Who joined.
        member: Member,
        /// Members after the change.
        members: Vec<Member>,
    },
    /// A member left.
    Left {
        /// Group.
        group: String,
        /// Who left.
        member: Member,
        /// Why.
        reason: LeaveReason,
        /// Members after the change.
        members: Vec<Member>,
    },
}

/// A group operation as carried in the ordered stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupMsg {
    Join {
        group: String,
        client: ClientId,
    },
    Leave {
        group: String,
        client: ClientId,
    },
    Data {
        group: String,
        client: ClientId,
        data: Vec<u8>,
    },
    /// The sender's full list of local memberships, announced after each view change so
    /// nodes that just joined learn the existing members.
    State {
        entries: Vec<(String, ClientId)>,
    },
}

impl GroupMsg {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        match self {
            GroupMsg::Join { group, client } => {
                w.u8(1);
                w.str(group);
                w.u64(*client);
            }
            GroupMsg::Leave { group, client } => {
                w.u8(2);
                w.str(group);
                w.u64(*client);
            }
            GroupMsg::Data {
                group,
                client,
                data,
            } => {
                w.0.reserve(data.len() + group.len() + 16);
                w.u8(3);
                w.str(group);
                w.u64(*client);
                w.bytes(data);
            }
            GroupMsg::State { entries } => {
                w.u8(4);
                w.u32(entries.len() as u32);
                for (group, client) in entries {
                    w.str(group);
                    w.u64(*client);
                }
            }
        }
        w.0
    }

    #[cfg(test)]
    pub(crate) fn decode(bytes: &[u8]) -> Result<GroupMsg, DropReason> {
        GroupMsg::decode_reusing(bytes, Vec::new())
    }

    /// Decodes a message; the data of a `Data` message goes into `buffer`'s allocation
    /// (its contents are discarded), so delivering does not allocate once buffers come back.
    pub(crate) fn decode_reusing(
        bytes: &[u8],
        mut buffer: Vec<u8>,
    ) -> Result<GroupMsg, DropReason> {
        let mut r = Reader::new(bytes);
        let msg = match r.u8()? {
            1 => GroupMsg::Join {
                group: r.str()?.to_string(),
                client: r.u64()?,
            },
            2 => GroupMsg::Leave {
                group: r.str()?.to_string(),
                client: r.u64()?,
            },
            3 => GroupMsg::Data {
                group: r.str()?.to_string(),
                client: r.u64()?,
                data: {
                    buffer.clear();
                    buffer.extend_from_slice(r.bytes()?);
                    buffer
                },
            },
            4 => {
                let count = r.u32()? as usize;
                if count > 1 << 16 {
                    return Err(DropReason::Malformed);
                }
                let mut entries = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    entries.push((r.str()?.to_string(), r.u64()?));
                }
                GroupMsg::State { entries }
            }
            _ => return Err(DropReason::Malformed),
        };
        if !r.is_empty() {
            return Err(DropReason::Malformed);
        }
        Ok(msg)
    }
}

/// The cluster-wide group table as seen in stream order, plus which local clients asked to
/// be in which groups.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    table: BTreeMap<String, BTreeSet<Member>>,
    /// Local requests (applied to `table` only once the join is delivered).
    local: BTreeMap<ClientId, BTreeSet<String>>,
    /// After a ring change, until every member's `State` is delivered.
    sync: Option<Sync>,
}

/// The exchange of `State`s after a ring change. Nodes coming from different rings hold
/// different tables until they have each other's `State`s, and would each see the others
/// join at another point of the stream (where their `State` is delivered): one node would
/// then deliver a message in a group it has not yet seen the sender join, or not deliver it
/// at all, while another does. So every group message waits until the last member's
/// `State`; then the `State`s are applied, every table is the same, and the held messages
/// follow in order: the membership change falls at one point of the stream everywhere.
/// Each member's `State` leads its send queue, so about one token rotation's worth of
/// messages is ever held; a ring change before the last `State` ends the exchange.
#[derive(Debug)]
struct Sync {
    /// Members of the new ring whose `State` has not been delivered yet.
    waiting: BTreeSet<NodeId>,
    /// `State`s delivered so far, in order.
    states: Vec<(NodeId, RingId, GroupMsg)>,
    /// Every other group message delivered meanwhile, in order.
    held: Vec<(NodeId, RingId, GroupMsg)>,
}

/// A delivery to one local client.
pub(crate) type Delivery = (ClientId, GroupEvent);

impl Groups {
    pub(crate) fn is_locally_joined(&self, client: ClientId, group: &str) -> bool {
        self.local
            .get(&client)
            .is_some_and(|groups| groups.contains(group))
    }

    pub(crate) fn local_group_count(&self, client: ClientId) -> usize {
        self.local.get(&client).map_or(0, BTreeSet::len)
    }

    pub(crate) fn request_join(&mut self, client: ClientId, group: &str) {
        self.local
            .entry(client)
            .or_default()
            .insert(group.to_string());
    }

    pub(crate) fn request_leave(&mut self, client: ClientId, group: &str) {
        if let Some(groups) = self.local.get_mut(&client) {
            groups.remove(group);
            if groups.is_empty() {
                self.local.remove(&client);
            }
        }
    }

    /// Groups a client had asked for; forgets the client.
    pub(crate) fn forget_client(&mut self, client: ClientId) -> Vec<String> {
        self.local
            .remove(&client)
            .map(|g| g.into_iter().collect())
            .unwrap_or_default()
    }

    pub(crate) fn local_state(&self) -> Vec<(String, ClientId)> {
        self.local
            .iter()
            .flat_map(|(client, groups)| groups.iter().map(move |g| (g.clone(), *client)))
            .collect()
    }

    /// Group names and their members, for status.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, Vec<Member>> {
        self.table
            .iter()
            .map(|(g, m)| (g.clone(), m.iter().copied().collect()))
            .collect()
    }

    fn local_members_of(&self, local: NodeId, group: &str) -> Vec<ClientId> {
        self.table
            .get(group)
            .map(|m| {
                m.iter()
                    .filter(|m| m.node == local)
                    .map(|m| m.client)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn members(&self, group: &str) -> Vec<Member> {
        self.table
            .get(group)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Starts the `State` exchange of a new ring with these members (see [`Sync`]). Call
    /// [`Groups::finish_sync`] first.
    pub(crate) fn begin_sync(&mut self, members: &[NodeId]) {
        debug_assert!(
            self.sync.is_none(),
            "the previous exchange was not finished"
        );
        self.sync = Some(Sync {
            waiting: members.iter().copied().collect(),
            states: Vec::new(),
            held: Vec::new(),
        });
    }

    /// Ends the `State` exchange, complete or not (the ring changed again first: the nodes
    /// moving on together delivered the same part of it): applies the `State`s delivered,
    /// then the held messages. Members whose `State` did not come lose their entries: the
    /// nodes moving on together came from different rings, each with its own entries for
    /// them, and only the `State`s they all delivered are the same.
    pub(crate) fn finish_sync(&mut self, local: NodeId) -> Vec<Delivery> {
        let Some(sync) = self.sync.take() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (origin, ring, msg) in sync.states {
            out.extend(self.apply_now(local, origin, ring, msg));
        }
        let silent: Vec<NodeId> = sync.waiting.into_iter().collect();
        out.extend(self.remove_nodes(local, &silent));
        for (origin, ring, msg) in sync.held {
            out.extend(self.apply_now(local, origin, ring, msg));
        }
        out
    }

    /// Takes one delivered group message from `origin`; returns local deliveries (none while
    /// the `State` exchange runs, all of them when its last `State` arrives).
    pub(crate) fn apply(
        &mut self,
        local: NodeId,
        origin: NodeId,
        ring: RingId,
        msg: GroupMsg,
    ) -> Vec<Delivery> {
        let Some(sync) = &mut self.sync else {
            return self.apply_now(local, origin, ring, msg);
        };
        if matches!(msg, GroupMsg::State { .. }) && sync.waiting.remove(&origin) {
            sync.states.push((origin, ring, msg));
            if sync.waiting.is_empty() {
                return self.finish_sync(local);
            }
        } else {
            sync.held.push((origin, ring, msg));
        }
        Vec::new()
    }

    fn apply_now(
        &mut self,
        local: NodeId,
        origin: NodeId,
        ring: RingId,
        msg: GroupMsg,
    ) -> Vec<Delivery> {
        let mut out = Vec::new();
        match msg {
            GroupMsg::Join { group, client } => self.add(
                local,
                &group,
                Member {
                    node: origin,
                    client,
                },
                &mut out,
            ),
            GroupMsg::Leave { group, client } => self.remove(
                local,
                &group,
                Member {
                    node: origin,
                    client,
                },
                LeaveReason::Left,
                &mut out,
            ),
            GroupMsg::Data {
                group,
                client,
                data,
            } => {
                let from = Member {
                    node: origin,
                    client,
                };
                if self.table.get(&group).is_some_and(|m| m.contains(&from)) {
                    let mut targets = self.local_members_of(local, &group);
                    // The last target takes the bytes; the others get copies.
                    if let Some(last) = targets.pop() {
                        for target in targets {
                            let event = GroupEvent::Message {
                                group: group.clone(),
                                from,
                                ring,
                                data: data.clone(),
                            };
                            out.push((target, event));
                        }
                        let event = GroupEvent::Message {
                            group,
                            from,
                            ring,
                            data,
                        };
                        out.push((last, event));
                    }
                }
            }
            GroupMsg::State { entries } => {
                let announced: BTreeSet<(String, ClientId)> = entries.into_iter().collect();
                let current: Vec<(String, Member)> = self
                    .table
                    .iter()
                    .flat_map(|(g, m)| {
                        m.iter()
                            .filter(|m| m.node == origin)
                            .map(move |m| (g.clone(), *m))
                    })
                    .collect();
                for (group, member) in current {
                    if !announced.contains(&(group.clone(), member.client)) {
                        self.remove(local, &group, member, LeaveReason::Left, &mut out);
                    }
                }
                for (group, client) in announced {
                    let member = Member {
                        node: origin,
                        client,
                    };
                    if !self.table.get(&group).is_some_and(|m| m.contains(&member)) {
                        self.add(local, &group, member, &mut out);
                    }
                }
            }
        }
        out
    }

    /// Removes every member on a node that left the ring.
    pub(crate) fn remove_nodes(&mut self, local: NodeId, gone: &[NodeId]) -> Vec<Delivery> {
        let mut out = Vec::new();
        let doomed: Vec<(String, Member)> = self
            .table
            .iter()
            .flat_map(|(g, m)| {
                m.iter()
                    .filter(|m| gone.contains(&m.node))
                    .map(move |m| (g.clone(), *m))
            })
            .collect();
        for (group, member) in doomed {
            self.remove(local, &group, member, LeaveReason::NodeLeft, &mut out);
        }
        out
    }

    fn add(&mut self, local: NodeId, group: &str, member: Member, out: &mut Vec<Delivery>) {
        if !self
            .table
            .entry(group.to_string())
            .or_default()
            .insert(member)
        {
            return;
        }
        let members = self.members(group);
        for target in self.local_members_of(local, group) {
            let event = GroupEvent::Joined {
                group: group.to_string(),
                member,
                members: members.clone(),
            };
            out.push((target, event));
        }
    }

    fn remove(
        &mut self,
        local: NodeId,
        group: &str,
        member: Member,
        reason: LeaveReason,
        out: &mut Vec<Delivery>,
    ) {
        let Some(set) = self.table.get_mut(group) else {
            return;
        };
        if !set.remove(&member) {
            return;
        }
        if set.is_empty() {
            self.table.remove(group);
        }
        let members = self.members(group);
        let mut targets = self.local_members_of(local, group);
        if member.node == local {
            targets.push(member.client);
        }
        for target in targets {
            let event = GroupEvent::Left {
                group: group.to_string(),
                member,
                reason,
                members: members.clone(),
            };
            out.push((target, event));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: RingId = RingId {
        seq: 1,
        rep: 1,
        incarnation: 1,
    };

    #[test]
    fn group_messages_round_trip() {
        for msg in [
            GroupMsg::Join {
                group: "g".into(),
                client: 3,
            },
            GroupMsg::Leave {
                group: "g".into(),
                client: 3,
            },
            GroupMsg::Data {
                group: "g".into(),
                client: 3,
                data: vec![1, 2],
            },
            GroupMsg::State {
                entries: vec![("a".into(), 1), ("b".into(), 2)],
            },
        ] {
            assert_eq!(GroupMsg::decode(&msg.encode()), Ok(msg));
        }
    }

    #[test]
    fn joined_client_receives_messages_and_membership_changes() {
        let mut groups = Groups::default();
        groups.request_join(7, "g");
        let out = groups.apply(
            1,
            1,
            RING,
            GroupMsg::Join {
                group: "g".into(),
                client: 7,
            },
        );
        assert_eq!(out.len(), 1);
        let out = groups.apply(
            1,
            2,
            RING,
            GroupMsg::Join {
                group: "g".into(),
                client: 9,
            },
        );
        assert!(matches!(&out[0], (7, GroupEvent::Joined { members, .. }) if members.len() == 2));
        let out = groups.apply(
            1,
            2,
            RING,
            GroupMsg::Data {
                group: "g".into(),
                client: 9,
                data: vec![5],
            },
        );
        assert!(matches!(&out[0], (7, GroupEvent::Message { data, .. }) if data == &[5]));
        let out = groups.remove_nodes(1, &[2]);
        assert!(matches!(
            &out[0],
            (
                7,
                GroupEvent::Left {
                    reason: LeaveReason::NodeLeft,
                    ..
                }
            )
        ));
    }

    #[test]
    fn messages_from_non_members_are_not_delivered() {
        let mut groups = Groups::default();
        groups.apply(
            1,
            1,
            RING,
            GroupMsg::Join {
                group: "g".into(),
                client: 7,
            },
        );
        let out = groups.apply(
            1,
            2,
            RING,
            GroupMsg::Data {
                group: "g".into(),
                client: 9,
                data: vec![],
            },
        );
        assert!(out.is_empty());
    }

    /// Nodes 1 and 2 come from rings of their own, each in group `g`, and node 1's message
    /// is ordered between the two `State`s of the merged ring: both deliver it after both
    /// joins, at the same point.
    #[test]
    fn after_a_merge_both_sides_see_the_join_at_the_same_point() {
        let join = |groups: &mut Groups, node: NodeId, client: ClientId| {
            groups.request_join(client, "g");
            groups.apply(
                node,
                node,
                RING,
                GroupMsg::Join {
                    group: "g".into(),
                    client,
                },
            );
        };
        let (mut one, mut two) = (Groups::default(), Groups::default());
        join(&mut one, 1, 7);
        join(&mut two, 2, 9);
        let stream = [
            (
                1,
                GroupMsg::State {
                    entries: one.local_state(),
                },
            ),
            (
                1,
                GroupMsg::Data {
                    group: "g".into(),
                    client: 7,
                    data: vec![1],
                },
            ),
            (
                2,
                GroupMsg::State {
                    entries: two.local_state(),
                },
            ),
        ];
        let mut seen = Vec::new();
        for (local, groups) in [(1, &mut one), (2, &mut two)] {
            groups.begin_sync(&[1, 2]);
            let mut points = Vec::new();
            for (origin, msg) in stream.clone() {
                let out = groups.apply(local, origin, RING, msg);
                points.push(
                    out.into_iter()
                        .map(|(_, event)| match event {
                            GroupEvent::Joined { members, .. } => format!("view {members:?}"),
                            GroupEvent::Message { from, .. } => format!("message from {from:?}"),
                            GroupEvent::Left { .. } => "left".into(),
                        })
                        .collect::<Vec<_>>(),
                );
            }
            seen.push(points);
        }
        let sender = Member { node: 1, client: 7 };
        let members = vec![sender, Member { node: 2, client: 9 }];
        assert_eq!(
            seen[0],
            [
                vec![],
                vec![],
                vec![
                    format!("view {members:?}"),
                    format!("message from {sender:?}")
                ]
            ]
        );
        assert_eq!(seen[0], seen[1]);
    }

    /// The merged ring of nodes 1 and 4 breaks before node 4's `State` is delivered; both
    /// move on together, having delivered the same part: their tables end the same.
    #[test]
    fn an_unfinished_exchange_leaves_the_same_table_on_the_nodes_moving_on() {
        let mut tables = Vec::new();
        for (local, client) in [(1, 7), (4, 9)] {
            let mut groups = Groups::default();
            groups.request_join(client, "g");
            groups.apply(
                local,
                local,
                RING,
                GroupMsg::Join {
                    group: "g".into(),
                    client,
                },
            );
            groups.begin_sync(&[1, 4]);
            let state = GroupMsg::State {
                entries: vec![("g".into(), 7)],
            };
            assert!(groups.apply(local, 1, RING, state).is_empty());
            groups.finish_sync(local);
            tables.push(groups.snapshot());
        }
        assert_eq!(tables[0], tables[1]);
        assert_eq!(tables[0]["g"], [Member { node: 1, client: 7 }]);
    }

    #[test]
    fn state_announcement_adds_and_removes_a_nodes_members() {
        let mut groups = Groups::default();
        groups.apply(
            1,
            1,
            RING,
            GroupMsg::Join {
                group: "g".into(),
                client: 7,
            },
        );
        groups.apply(
            1,
            2,
            RING,
            GroupMsg::State {
                entries: vec![("g".into(), 4)],
            },
        );
        assert_eq!(groups.snapshot()["g"].len(), 2);
        groups.apply(1, 2, RING, GroupMsg::State { entries: vec![] });
        assert_eq!(groups.snapshot()["g"].len(), 1);
    }
}
