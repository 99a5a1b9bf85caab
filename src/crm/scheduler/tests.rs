//! Unit tests of the scheduler phases on small hand-written CIBs.

use super::*;
use crate::crm::xml::parse_cib;

fn run(xml: &str) -> Transition {
    schedule(&parse_cib(xml).unwrap(), 1_800_000_000)
}

const TWO_NODES: &str = r#"<cib have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn stopped_primitive_starts_on_first_node_by_name() {
    let t = run(TWO_NODES);
    assert_eq!(t.summary.len(), 1, "{:?}", t.summary);
    let words: Vec<&str> = t.summary[0].split_whitespace().collect();
    assert_eq!(words, ["Start", "vip", "(", "node1", ")"]);
}

/// A location rule with a date test (`resource move --lifetime`) applies until its end time
/// and is ignored afterwards, judged by the scheduler's "now", never the clock.
#[test]
fn date_rule_applies_until_its_end() {
    use crate::crm::cib::{BooleanOp, Constraint, DATE_ATTRIBUTE, Expression, Location, Rule};
    use crate::crm::score::Score;
    let mut cib = parse_cib(TWO_NODES).unwrap();
    let end = 1_800_000_000;
    let test = |attribute: &str, operation: &str, value: String| Expression {
        id: None,
        attribute: attribute.into(),
        operation: operation.into(),
        value: Some(value),
        value_type: None,
    };
    cib.configuration
        .constraints
        .push(Constraint::Location(Location {
            id: "cli-prefer-vip".into(),
            rsc: "vip".into(),
            score: None,
            node: None,
            rules: vec![Rule {
                id: None,
                score: Some(Score::INFINITY),
                score_attribute: None,
                boolean_op: BooleanOp::And,
                role: None,
                expressions: vec![
                    test("#uname", "eq", "node2".into()),
                    test(DATE_ATTRIBUTE, "lt", crate::crm::date::format_rfc3339(end)),
                ],
            }],
            role: None,
            resource_discovery: None,
        }));
    let node_of = |now| schedule(&cib, now).placements[0].node.clone();
    assert_eq!(node_of(end - 1).as_deref(), Some("node2"));
    assert_eq!(node_of(end).as_deref(), Some("node1"));
    assert_eq!(node_of(end + 3600).as_deref(), Some("node1"));
}

/// Three nodes offering 2, 3 and 4 cpus, three resources needing 2 each, a fourth needing 3.
fn capacity_cib(strategy: &str) -> String {
    let node = |id: u32, cpu: u32| {
        format!(
            r#"<node id="{id}" uname="node{id}"><utilization id="u{id}"><nvpair id="u{id}c" name="cpu" value="{cpu}"/></utilization></node>"#
        )
    };
    let rsc = |id: &str, cpu: u32| {
        format!(
            r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="Dummy"><utilization id="{id}u"><nvpair id="{id}c" name="cpu" value="{cpu}"/></utilization></primitive>"#
        )
    };
    let state = |id: u32| {
        format!(
            r#"<node_state id="{id}" uname="node{id}" in_ccm="true" crmd="online" join="member" expected="member"/>"#
        )
    };
    format!(
        r#"<cib have-quorum="1"><configuration><crm_config><cluster_property_set id="o">
        <nvpair id="o1" name="stonith-enabled" value="false"/>
        <nvpair id="o2" name="placement-strategy" value="{strategy}"/>
        </cluster_property_set></crm_config>
        <nodes>{}{}{}</nodes><resources>{}{}{}{}</resources><constraints/></configuration>
        <status>{}{}{}</status></cib>"#,
        node(1, 2),
        node(2, 3),
        node(3, 4),
        rsc("a", 2),
        rsc("b", 2),
        rsc("c", 2),
        rsc("big", 3),
        state(1),
        state(2),
        state(3),
    )
}

fn placements(t: &Transition) -> Vec<(String, Option<String>)> {
    t.placements
        .iter()
        .map(|p| (p.resource.clone(), p.node.clone()))
        .collect()
}

#[test]
fn utilization_never_overcommits_a_node() {
    for strategy in ["utilization", "minimal", "balanced"] {
        let cib = parse_cib(&capacity_cib(strategy)).unwrap();
        let t = schedule(&cib, 1_800_000_000);
        let capacity = |node: &str| match node {
            "node1" => 2,
            "node2" => 3,
            _ => 4,
        };
        let need = |rsc: &str| if rsc == "big" { 3 } else { 2 };
        for node in ["node1", "node2", "node3"] {
            let used: u32 = placements(&t)
                .iter()
                .filter(|(_, n)| n.as_deref() == Some(node))
                .map(|(r, _)| need(r))
                .sum();
            assert!(used <= capacity(node), "{strategy}: {node} uses {used}");
        }
    }
    // The default strategy ignores capacities: everything starts.
    let cib = parse_cib(&capacity_cib("default")).unwrap();
    let t = schedule(&cib, 1_800_000_000);
    assert!(placements(&t).iter().all(|(_, n)| n.is_some()));
}

#[test]
fn minimal_fills_nodes_in_name_order_and_balanced_spreads_by_free_capacity() {
    let node_of = |strategy: &str, rsc: &str| {
        let t = schedule(&parse_cib(&capacity_cib(strategy)).unwrap(), 1_800_000_000);
        placements(&t)
            .into_iter()
            .find(|(r, _)| r == rsc)
            .and_then(|(_, n)| n)
    };
    // minimal: a fills node1, b cannot fit there and goes to node2.
    assert_eq!(node_of("minimal", "a").as_deref(), Some("node1"));
    assert_eq!(node_of("minimal", "b").as_deref(), Some("node2"));
    // balanced: the first resource goes where the most cpu is free.
    assert_eq!(node_of("balanced", "a").as_deref(), Some("node3"));
}

/// An unmanaged resource holds its node with +INFINITY: a resource it must run with is
/// placed there (checked against `crm_simulate`).
#[test]
fn an_unmanaged_resource_draws_what_it_must_run_with_to_its_node() {
    let xml = r#"<cib have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/><node id="2" uname="node2"/></nodes>
    <resources>
      <primitive id="a" class="lsb" type="dummy"/>
      <primitive id="u" class="lsb" type="dummy">
        <meta_attributes id="u-m"><nvpair id="u-m1" name="is-managed" value="false"/></meta_attributes>
      </primitive>
    </resources>
    <constraints>
      <rsc_colocation id="u-with-a" rsc="u" with-rsc="a" score="INFINITY"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="node2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm><lrm_resources><lrm_resource id="u" class="lsb" type="dummy"><lrm_rsc_op id="u_last_0" operation_key="u_start_0" operation="start" call-id="1" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource></lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;
    let t = simulate(&parse_cib(xml).unwrap(), 1_800_000_000);
    let scores = t.scores_text();
    assert!(
        scores.contains("pcmk__primitive_assign: u allocation score on node2: INFINITY"),
        "{scores}"
    );
    let words: Vec<Vec<&str>> = t
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(words, [["Start", "a", "(", "node2", ")"]]);
}

/// A failure-timeout does not expire a failure of an operation configured with
/// `on-fail="block"`; the same failure of another resource expires and its fail count is
/// cleared (Pacemaker's `expire-non-blocked-failure` case shows the same).
#[test]
fn a_blocking_failure_does_not_expire() {
    let xml = r#"<cib have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o1" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="node1"/></nodes>
    <resources><primitive id="blocking" class="lsb" type="dummy"><meta_attributes id="blocking-m"><nvpair id="blocking-m1" name="failure-timeout" value="60"/></meta_attributes><operations><op id="blocking-stop" name="stop" interval="0" on-fail="block"/></operations></primitive><primitive id="plain" class="lsb" type="dummy"><meta_attributes id="plain-m"><nvpair id="plain-m1" name="failure-timeout" value="60"/></meta_attributes><operations><op id="plain-stop" name="stop" interval="0" on-fail="ignore"/></operations></primitive></resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="node1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="s1">
        <nvpair id="s1-f1" name="fail-count-blocking#stop_0" value="1"/>
        <nvpair id="s1-l1" name="last-failure-blocking#stop_0" value="1700000000"/>
        <nvpair id="s1-f2" name="fail-count-plain#stop_0" value="1"/>
        <nvpair id="s1-l2" name="last-failure-plain#stop_0" value="1700000000"/>
      </instance_attributes></transient_attributes>
      <lrm><lrm_resources><lrm_resource id="blocking" class="lsb" type="dummy"><lrm_rsc_op id="blocking_last_0" operation_key="blocking_start_0" operation="start" call-id="1" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/><lrm_rsc_op id="blocking_last_failure_0" operation_key="blocking_stop_0" operation="stop" call-id="2" rc-code="1" op-status="0" interval="0" transition-key="2:1:0:x" transition-magic="0:1;2:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource><lrm_resource id="plain" class="lsb" type="dummy"><lrm_rsc_op id="plain_last_0" operation_key="plain_start_0" operation="start" call-id="1" rc-code="0" op-status="0" interval="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/><lrm_rsc_op id="plain_last_failure_0" operation_key="plain_stop_0" operation="stop" call-id="2" rc-code="1" op-status="0" interval="0" transition-key="2:1:0:x" transition-magic="0:1;2:1:0:x" last-rc-change="1700000000" crm_feature_set="3.0.7" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource></lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;
    let t = simulate(&parse_cib(xml).unwrap(), 1_800_000_000);
    let cleared: Vec<&str> = t
        .actions
        .iter()
        .filter(|a| a.task == "clear_failcount")
        .filter_map(|a| a.resource.as_deref())
        .collect();
    assert_eq!(cleared, ["plain"]);
}
