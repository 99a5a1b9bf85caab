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
