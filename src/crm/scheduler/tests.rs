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
