//! The compliance run behind `ha-lrmd test`: which actions to call in which order, what each
//! must return, and what the answers say about the agent. Pure: the caller runs the steps.

use serde::Serialize;

use super::agent::{Class, rc, rc_text};
use super::executor::{ExecStatus, OpResult};

/// One step of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Short label (`start again`).
    pub label: &'static str,
    /// Action to call (`monitor` is the agent's status action for LSB).
    pub action: &'static str,
    /// The OCF rc a compliant agent returns.
    pub expect: i32,
    /// The resource should be running after this step.
    pub running_after: bool,
}

/// The steps for an agent class, in order. OCF agents also get a `validate-all` call first.
pub fn steps(class: Class) -> Vec<Step> {
    let step = |label, action, expect, running_after| Step {
        label,
        action,
        expect,
        running_after,
    };
    let mut steps = Vec::new();
    if class == Class::Ocf {
        steps.push(step("validate-all", "validate-all", rc::OK, false));
    }
    steps.extend([
        step("monitor while stopped", "monitor", rc::NOT_RUNNING, false),
        step("start", "start", rc::OK, true),
        step("start again", "start", rc::OK, true),
        step("monitor while running", "monitor", rc::OK, true),
        step("stop", "stop", rc::OK, false),
        step("stop again", "stop", rc::OK, false),
        step("monitor after stop", "monitor", rc::NOT_RUNNING, false),
    ]);
    steps
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The agent breaks the standard; a cluster will misjudge it.
    Error,
    /// Worth knowing; the cluster copes.
    Warning,
}

/// Something the run found.
///
/// JSON: `{"severity":"error","step":"monitor after stop","message":"status action missing:
/// status always reports running"}`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The step it concerns (or `agent` for the whole agent).
    pub step: String,
    /// What is wrong, in one line.
    pub message: String,
}

/// What the caller knows about the agent beside the step results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentFacts {
    /// LSB only: whether the script has a `status` branch (`None` for other classes).
    pub has_status_branch: Option<bool>,
}

fn describe(result: &OpResult) -> String {
    match (result.status, result.rc) {
        (ExecStatus::Done, Some(code)) => format!("rc {code} ({})", rc_text(code)),
        (ExecStatus::Timeout, _) => "a timeout".to_string(),
        (ExecStatus::Signaled, _) => format!("death by signal {}", result.signal.unwrap_or(0)),
        (ExecStatus::SpawnFailed | ExecStatus::NotInstalled | ExecStatus::Invalid, _) => format!(
            "a failure to start ({})",
            result.exit_reason.as_deref().unwrap_or("unknown")
        ),
        (ExecStatus::Cancelled, _) | (ExecStatus::Done, None) => "no result".to_string(),
    }
}

/// Judges the results of [`steps`] (same order; a shorter list means the run stopped early).
pub fn judge(class: Class, results: &[(Step, OpResult)], facts: AgentFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let finding = |severity, step: &str, message: String| Finding {
        severity,
        step: step.to_string(),
        message,
    };
    let status_word = if class == Class::Lsb {
        "status"
    } else {
        "monitor"
    };
    let stopped_monitors: Vec<&OpResult> = results
        .iter()
        .filter(|(s, _)| s.action == "monitor" && !s.running_after)
        .map(|(_, r)| r)
        .collect();
    let always_running = !stopped_monitors.is_empty()
        && stopped_monitors
            .iter()
            .all(|r| r.status == ExecStatus::Done && r.rc == Some(rc::OK));
    if always_running {
        let message = match facts.has_status_branch {
            Some(false) => "status action missing: status always reports running".to_string(),
            _ => format!("{status_word} always reports running, even when stopped"),
        };
        findings.push(finding(Severity::Error, "agent", message));
    }
    for (step, result) in results {
        let ok = result.status == ExecStatus::Done && result.rc == Some(step.expect);
        if ok {
            continue;
        }
        if always_running && step.action == "monitor" && result.rc == Some(rc::OK) {
            continue; // Already explained once for the whole agent.
        }
        if step.action == "validate-all" && result.rc == Some(rc::UNIMPLEMENTED) {
            findings.push(finding(
                Severity::Warning,
                step.label,
                "validate-all is not implemented".to_string(),
            ));
            continue;
        }
        let action_word = if step.action == "monitor" {
            status_word
        } else {
            step.action
        };
        let hint = match (step.label, class) {
            ("stop again", _) => ": stopping a stopped resource must succeed",
            ("start again", _) => ": starting a running resource must succeed",
            ("monitor while stopped" | "monitor after stop", Class::Lsb) => {
                ": a stopped service must give LSB status 3"
            }
            (_, _) => "",
        };
        findings.push(finding(
            Severity::Error,
            step.label,
            format!(
                "{action_word} returned {} where {} ({}) was expected{hint}",
                describe(result),
                step.expect,
                rc_text(step.expect)
            ),
        ));
    }
    findings
}

/// Whether the findings leave the agent compliant (no errors).
pub fn is_compliant(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.severity != Severity::Error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lrmd::executor::OpId;

    fn result(rc_value: i32) -> OpResult {
        OpResult {
            op: OpId(1),
            client: 0,
            resource: "r".into(),
            agent: "lsb:gohttpd".into(),
            action: "x".into(),
            interval_ms: 0,
            status: ExecStatus::Done,
            rc: Some(rc_value),
            rc_text: None,
            raw_rc: Some(rc_value),
            signal: None,
            failure: None,
            exit_reason: None,
            stdout: String::new(),
            stderr: String::new(),
            dropped_bytes: 0,
            duration_ms: 1,
            finished_at_ms: 0,
        }
    }

    fn run(class: Class, codes: &[i32]) -> Vec<(Step, OpResult)> {
        steps(class)
            .into_iter()
            .zip(codes)
            .map(|(s, c)| (s, result(*c)))
            .collect()
    }

    #[test]
    fn a_good_agent_is_compliant() {
        let results = run(Class::Ocf, &[0, 7, 0, 0, 0, 0, 0, 7]);
        let findings = judge(Class::Ocf, &results, AgentFacts::default());
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn guide_script_without_status_is_diagnosed() {
        // Status falls to the usage branch (exit 0); stop of a stopped service: pkill's 1.
        let results = run(Class::Lsb, &[0, 0, 0, 0, 0, 1, 0]);
        let facts = AgentFacts {
            has_status_branch: Some(false),
        };
        let findings = judge(Class::Lsb, &results, facts);
        assert!(!is_compliant(&findings));
        assert_eq!(
            findings[0].message,
            "status action missing: status always reports running"
        );
        assert_eq!(findings[1].step, "stop again");
        assert!(
            findings[1]
                .message
                .contains("stopping a stopped resource must succeed")
        );
        assert_eq!(findings.len(), 2, "{findings:?}");
    }

    #[test]
    fn unimplemented_validate_is_only_a_warning() {
        let results = run(Class::Ocf, &[3, 7, 0, 0, 0, 0, 0, 7]);
        let findings = judge(Class::Ocf, &results, AgentFacts::default());
        assert!(is_compliant(&findings));
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn timeouts_are_reported_by_name() {
        let mut results = run(Class::Ocf, &[0, 7, 0]);
        results[2].1.status = ExecStatus::Timeout;
        let findings = judge(Class::Ocf, &results, AgentFacts::default());
        assert!(
            findings[0].message.contains("start returned a timeout"),
            "{findings:?}"
        );
    }
}
