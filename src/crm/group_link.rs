//! The controller's connection to the ring daemon's process group, for use inside a mio loop:
//! join the `crm` group, send messages to it, and turn the ring's event lines into
//! [`GroupEvent`]s. Framing is [`crate::ipc`]'s; the commands are the ring's group API.

use mio::net::UnixStream;
use serde::Serialize;
use serde_json::{Value, json};

use crate::ipc::{self, Upstream, UpstreamMessage};

/// What the ring reports about the group.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupEvent {
    /// The group's membership changed (same point of the message order on every member).
    View {
        /// Increases with every change.
        view: u64,
        /// `(node id, node name)` of every member.
        members: Vec<(u32, String)>,
    },
    /// The ring's own membership changed (nodes, whatever their clients).
    RingMembers {
        /// Node ids.
        nodes: Vec<u32>,
    },
    /// The partition's quorum changed.
    Quorum {
        /// Whether it is quorate.
        quorate: bool,
    },
    /// A group message, delivered in the ring's total order (own messages included).
    Message {
        /// Sender node id.
        from: u32,
        /// The bytes sent.
        payload: Vec<u8>,
    },
}

/// A group membership over the ring's control socket.
pub struct GroupLink {
    upstream: Upstream<UnixStream>,
    group: String,
    refused: Option<String>,
    /// The `members` request sent at join: its answer is the ring membership until the
    /// first `view` event.
    members_request: Option<u64>,
}

impl GroupLink {
    /// Wraps a connected, non-blocking socket to the ring daemon.
    pub fn new(stream: UnixStream, group: &str) -> GroupLink {
        GroupLink {
            upstream: Upstream::new(stream),
            group: group.to_string(),
            refused: None,
            members_request: None,
        }
    }

    /// The socket, for registering with a poll.
    pub fn stream_mut(&mut self) -> &mut UnixStream {
        &mut self.upstream.stream
    }

    /// Asks to join the group and to hear quorum changes.
    pub fn join(&mut self) -> Result<(), ipc::Error> {
        self.upstream
            .send("group_join", &json!({ "group": self.group }))?;
        self.upstream.send("subscribe", &json!({}))?;
        self.members_request = Some(self.upstream.send("members", &json!({}))?);
        Ok(())
    }

    /// Sends one message to every member, in the ring's order.
    pub fn send(&mut self, message: &impl Serialize) -> Result<(), ipc::Error> {
        let data =
            serde_json::to_string(message).map_err(|e| ipc::Error::Protocol(e.to_string()))?;
        self.upstream
            .send("group_send", &json!({ "group": self.group, "data": data }))?;
        Ok(())
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) {
        self.upstream.flush();
    }

    /// Reads until the socket would block.
    pub fn read(&mut self) -> Vec<GroupEvent> {
        let mut events = Vec::new();
        for message in self.upstream.read() {
            match message {
                UpstreamMessage::Event(event) => events.extend(self.event(&event)),
                UpstreamMessage::Reply {
                    id,
                    result: Ok(data),
                } if Some(id) == self.members_request => {
                    self.members_request = None;
                    let nodes = data
                        .get("members")
                        .and_then(Value::as_array)
                        .map(|members| {
                            members
                                .iter()
                                .filter_map(|m| m.get("id").and_then(Value::as_u64))
                                .map(|id| id as u32)
                                .collect()
                        })
                        .unwrap_or_default();
                    events.push(GroupEvent::RingMembers { nodes });
                }
                UpstreamMessage::Reply {
                    result: Err(error), ..
                } => {
                    self.refused = Some(format!("{}: {}", error.code, error.message));
                }
                UpstreamMessage::Reply { .. } => {}
            }
        }
        events
    }

    /// True once the connection is unusable (closed, or a request was refused).
    pub fn is_broken(&self) -> bool {
        self.upstream.is_broken() || self.refused.is_some()
    }

    /// Why the ring refused a request, if it did.
    pub fn refusal(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    fn event(&self, event: &Value) -> Option<GroupEvent> {
        let kind = event.get("type").and_then(Value::as_str)?;
        let for_us = || event.get("group").and_then(Value::as_str) == Some(self.group.as_str());
        match kind {
            "group_view" if for_us() => {
                let view = event.get("view").and_then(Value::as_u64)?;
                let members = event
                    .get("members")?
                    .as_array()?
                    .iter()
                    .filter_map(|m| {
                        let id = m.get("node").and_then(Value::as_u64)? as u32;
                        let name = m
                            .get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("node{id}"));
                        Some((id, name))
                    })
                    .collect();
                Some(GroupEvent::View { view, members })
            }
            "group_message" if for_us() => {
                let from = event.get("from").and_then(Value::as_u64)? as u32;
                let data = event.get("data").and_then(Value::as_str)?;
                Some(GroupEvent::Message {
                    from,
                    payload: data.as_bytes().to_vec(),
                })
            }
            "view" => {
                let nodes = event
                    .get("members")?
                    .as_array()?
                    .iter()
                    .filter_map(|m| m.as_u64().map(|id| id as u32))
                    .collect();
                Some(GroupEvent::RingMembers { nodes })
            }
            "quorum" => {
                let quorate = event.get("quorate").and_then(Value::as_bool)?;
                Some(GroupEvent::Quorum { quorate })
            }
            _ => None,
        }
    }
}
