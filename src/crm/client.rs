//! The controller's socket (`$HA_RUN_DIR/crm.sock`) as commands see it: a typed wrapper over
//! [`crate::ipc::Client`]. Commands: `status`, `cib`, `commit`, `cleanup`, `subscribe`.
//!
//! `commit` answers only once every current member stored the change
//! (`{"epoch":8}`); a change made against an old epoch is refused with code `conflict`, and
//! without a synchronised partition with code `unavailable`. Nothing is changed on refusal.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::cib::{Cib, Configuration};
use super::controller::StatusSnapshot;
use crate::ipc::{self, Client};

/// How long a command waits for the controller; a commit waits for every member.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the local controller.
pub struct CrmClient {
    inner: Client,
}

impl CrmClient {
    /// Connects to the controller's socket. [`ipc::Error::Connect`] means it is not running.
    pub fn connect(socket: &Path) -> Result<CrmClient, ipc::Error> {
        Ok(CrmClient {
            inner: Client::connect(socket, CALL_TIMEOUT)?,
        })
    }

    /// The cluster as the local controller sees it.
    pub fn status(&mut self) -> Result<StatusSnapshot, ipc::Error> {
        decode(self.inner.call("status", Value::Null)?)
    }

    /// The replicated CIB.
    pub fn cib(&mut self) -> Result<Cib, ipc::Error> {
        decode(self.inner.call("cib", Value::Null)?)
    }

    /// Replaces the configuration, made against `base_epoch`; returns the new epoch.
    pub fn commit(
        &mut self,
        base_epoch: u64,
        configuration: &Configuration,
    ) -> Result<u64, ipc::Error> {
        let args = json!({ "base_epoch": base_epoch, "configuration": configuration });
        let data = self.inner.call("commit", args)?;
        data.get("epoch")
            .and_then(Value::as_u64)
            .ok_or_else(|| ipc::Error::Protocol("commit reply without epoch".into()))
    }

    /// Forgets a resource's failures and history (on one node or all).
    pub fn cleanup(&mut self, rsc: &str, node: Option<&str>) -> Result<(), ipc::Error> {
        self.inner
            .call("cleanup", json!({ "rsc": rsc, "node": node }))?;
        Ok(())
    }

    /// Starts the event stream; read it with [`CrmClient::next_event`].
    pub fn subscribe(&mut self) -> Result<(), ipc::Error> {
        self.inner.call("subscribe", Value::Null)?;
        Ok(())
    }

    /// The next streamed event; `None` when the controller went away.
    pub fn next_event(&mut self) -> Result<Option<Value>, ipc::Error> {
        self.inner.next_event()
    }

    /// Changes the wait for replies and events.
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<(), ipc::Error> {
        self.inner.set_timeout(timeout)
    }
}

fn decode<T: serde::de::DeserializeOwned>(data: Value) -> Result<T, ipc::Error> {
    serde_json::from_value(data).map_err(|e| ipc::Error::Protocol(e.to_string()))
}
