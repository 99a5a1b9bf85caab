//! A typed, blocking client of the `ha-lrmd` control socket (for `ha-crm` and commands).
//!
//! ```no_run
//! use hakit::lrmd::client::LrmdClient;
//! use hakit::lrmd::protocol::ExecArgs;
//! let mut lrmd = LrmdClient::connect(std::path::Path::new("/run/ha/lrmd.sock"))?;
//! let result = lrmd.exec_wait(&ExecArgs {
//!     resource: "vip".into(),
//!     agent: "ocf:heartbeat:IPaddr2".into(),
//!     action: "start".into(),
//!     params: [("ip".to_string(), "192.0.2.10".to_string())].into(),
//!     ..ExecArgs::default()
//! })?;
//! assert_eq!(result.rc, Some(0));
//! # Ok::<(), hakit::ipc::Error>(())
//! ```

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::executor::OpResult;
use super::protocol::{
    Accepted, CancelArgs, ExecArgs, ForgetArgs, OpEvent, RaInfoArgs, RaListArgs, Resources, Status,
    cmd,
};
use crate::ipc::{self, Client, Error};

/// Extra time granted over an op's own timeout when waiting for its result (kill grace and
/// scheduling slack).
const WAIT_SLACK: Duration = Duration::from_secs(15);

/// A connection to `ha-lrmd`.
pub struct LrmdClient {
    inner: Client,
}

impl LrmdClient {
    /// Connects with the default IPC timeout. [`Error::Connect`] means the daemon is
    /// unreachable.
    pub fn connect(path: &Path) -> Result<LrmdClient, Error> {
        Ok(LrmdClient {
            inner: Client::connect(path, ipc::DEFAULT_TIMEOUT)?,
        })
    }

    fn call<T: DeserializeOwned>(
        &mut self,
        command: &str,
        args: &impl Serialize,
    ) -> Result<T, Error> {
        let args = serde_json::to_value(args).map_err(|e| Error::Protocol(e.to_string()))?;
        let data = self.inner.call(command, args)?;
        serde_json::from_value(data).map_err(|e| Error::Protocol(format!("{command}: {e}")))
    }

    /// Queues an op (one-shot or recurring) and returns its id; results arrive as events on
    /// subscribed connections ([`LrmdClient::subscribe`]).
    pub fn exec(&mut self, args: &ExecArgs) -> Result<Accepted, Error> {
        let args = ExecArgs {
            wait: false,
            ..args.clone()
        };
        self.call(cmd::EXEC, &args)
    }

    /// Runs a one-shot op and waits for its result.
    pub fn exec_wait(&mut self, args: &ExecArgs) -> Result<OpResult, Error> {
        let args = ExecArgs {
            wait: true,
            interval_ms: 0,
            ..args.clone()
        };
        let timeout = Duration::from_millis(args.timeout_ms.unwrap_or(20_000)) + WAIT_SLACK;
        self.inner.set_timeout(timeout)?;
        let result = self.call(cmd::EXEC, &args);
        self.inner.set_timeout(ipc::DEFAULT_TIMEOUT)?;
        result
    }

    /// Cancels a recurring op.
    pub fn cancel(&mut self, args: &CancelArgs) -> Result<(), Error> {
        self.call::<Value>(cmd::CANCEL, args).map(|_| ())
    }

    /// Forgets a resource's recurring ops, tracked processes and history.
    pub fn forget(&mut self, resource: &str) -> Result<(), Error> {
        let args = ForgetArgs {
            resource: resource.to_string(),
        };
        self.call::<Value>(cmd::FORGET, &args).map(|_| ())
    }

    /// Resources with their tracked processes and last results.
    pub fn resources(&mut self) -> Result<Resources, Error> {
        self.call(cmd::RESOURCES, &Value::Null)
    }

    /// Daemon counters.
    pub fn status(&mut self) -> Result<Status, Error> {
        self.call(cmd::STATUS, &Value::Null)
    }

    /// Asks for `op_result` events on this connection; read them with
    /// [`LrmdClient::next_result`].
    pub fn subscribe(&mut self) -> Result<(), Error> {
        self.call::<Value>(cmd::SUBSCRIBE, &Value::Null).map(|_| ())
    }

    /// The next op result event, waiting up to `timeout`; `Ok(None)` when the daemon closed
    /// the connection.
    pub fn next_result(&mut self, timeout: Duration) -> Result<Option<OpResult>, Error> {
        self.inner.set_timeout(timeout)?;
        loop {
            let Some(event) = self.inner.next_event()? else {
                return Ok(None);
            };
            if event.get("type").and_then(Value::as_str) != Some("op_result") {
                continue; // Other event kinds may be added; they are not ours to read.
            }
            let event: OpEvent =
                serde_json::from_value(event).map_err(|e| Error::Protocol(e.to_string()))?;
            return Ok(Some(event.result));
        }
    }

    /// Agent classes.
    pub fn ra_classes(&mut self) -> Result<Vec<String>, Error> {
        self.call(cmd::RA_CLASSES, &Value::Null)
    }

    /// OCF providers.
    pub fn ra_providers(&mut self) -> Result<Vec<String>, Error> {
        self.call(cmd::RA_PROVIDERS, &Value::Null)
    }

    /// Agents of a class.
    pub fn ra_list(&mut self, class: &str, provider: Option<&str>) -> Result<Vec<String>, Error> {
        let args = RaListArgs {
            class: class.to_string(),
            provider: provider.map(str::to_string),
        };
        self.call(cmd::RA_LIST, &args)
    }

    /// An agent's meta-data and how it runs, as `ha-lrmd ra info --json` shows it.
    pub fn ra_info(&mut self, agent: &str) -> Result<Value, Error> {
        let args = RaInfoArgs {
            agent: agent.to_string(),
        };
        self.inner.set_timeout(Duration::from_secs(20))?;
        let info = self.call(cmd::RA_INFO, &args);
        self.inner.set_timeout(ipc::DEFAULT_TIMEOUT)?;
        info
    }
}
