//! Agents' meta-data kept between commands, in `$XDG_CACHE_HOME/hakit/agent-meta-data`
//! (default `~/.cache/…`; no cache without either variable). An OCF agent is a program:
//! running it for its meta-data (a shell start, about 4 ms) on every `ha-crm configure` line
//! that names it costs as much as the rest of a commit on a 1,000-resource CIB. An entry is
//! used only while the agent file is the same one (device, inode, size, modification time)
//! under the same OCF root. The cache is best effort: one that cannot be read or written is
//! not used, and an entry that does not parse is replaced by a fresh run of the agent.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::lrmd::agent::{self, MetaData};

/// Where entries live: one file per agent.
pub(super) struct MetaDataCache {
    dir: PathBuf,
}

impl MetaDataCache {
    /// The cache of this user, from the environment lookup given; `None` without
    /// `XDG_CACHE_HOME` or `HOME` (relative paths are ignored, as XDG says).
    pub(super) fn for_user(lookup: impl Fn(&str) -> Option<OsString>) -> Option<MetaDataCache> {
        let set = |name: &str| lookup(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let base = set("XDG_CACHE_HOME").or_else(|| set("HOME").map(|h| h.join(".cache")))?;
        Some(MetaDataCache::new(&base.join("hakit")))
    }

    fn new(dir: &Path) -> MetaDataCache {
        MetaDataCache {
            dir: dir.join("agent-meta-data"),
        }
    }

    /// The meta-data recorded for `script` if that file has not changed since, else `None`.
    pub(super) fn lookup(&self, agent: &str, script: &Path, ocf_root: &Path) -> Option<MetaData> {
        let stamp = stamp(script, ocf_root)?;
        let text = std::fs::read_to_string(self.entry(agent)).ok()?;
        let (recorded, xml) = text.split_once('\n')?;
        if recorded != stamp {
            return None;
        }
        agent::parse_meta_data(xml).ok()
    }

    /// Records `xml` as the meta-data of `script` as it is now.
    pub(super) fn store(&self, agent: &str, script: &Path, ocf_root: &Path, xml: &str) {
        let Some(stamp) = stamp(script, ocf_root) else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let text = format!("{stamp}\n{xml}");
        let _ = crate::sys::fs::write_atomic(&self.entry(agent), text.as_bytes(), 0o644);
    }

    fn entry(&self, agent: &str) -> PathBuf {
        let name: String = agent
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '+'
                }
            })
            .collect();
        self.dir.join(format!("{name}.xml"))
    }
}

/// What identifies one version of an agent file (and the OCF root its meta-data saw).
fn stamp(script: &Path, ocf_root: &Path) -> Option<String> {
    let meta = std::fs::metadata(script).ok()?;
    Some(format!(
        "v1 {} {} {} {}.{} {} {}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        script.display(),
        ocf_root.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<?xml version="1.0"?>
<resource-agent name="Counted"><version>1.0</version>
<parameters><parameter name="state" required="0"><content type="string"/></parameter></parameters>
<actions><action name="start" timeout="20s"/></actions></resource-agent>"#;

    #[test]
    fn an_entry_is_used_until_the_agent_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("Counted");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let cache = MetaDataCache::new(&dir.path().join("cache"));
        let root = Path::new("/usr/lib/ocf");
        assert!(cache.lookup("ocf:test:Counted", &script, root).is_none());
        cache.store("ocf:test:Counted", &script, root, XML);
        let found = cache.lookup("ocf:test:Counted", &script, root).unwrap();
        assert_eq!(found.parameters[0].name, "state");
        // Another OCF root, or a rewritten agent, is a miss.
        assert!(
            cache
                .lookup("ocf:test:Counted", &script, Path::new("/opt/ocf"))
                .is_none()
        );
        std::fs::write(&script, "#!/bin/sh\n# a new version\n").unwrap();
        assert!(cache.lookup("ocf:test:Counted", &script, root).is_none());
    }

    #[test]
    fn the_cache_follows_xdg() {
        let lookup = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let dir = |c: Option<MetaDataCache>| c.map(|c| c.dir);
        assert_eq!(
            dir(MetaDataCache::for_user(lookup(&[
                ("HOME", "/h"),
                ("XDG_CACHE_HOME", "/c")
            ]))),
            Some(PathBuf::from("/c/hakit/agent-meta-data"))
        );
        assert_eq!(
            dir(MetaDataCache::for_user(lookup(&[
                ("HOME", "/h"),
                ("XDG_CACHE_HOME", "rel")
            ]))),
            Some(PathBuf::from("/h/.cache/hakit/agent-meta-data"))
        );
        assert!(MetaDataCache::for_user(lookup(&[])).is_none());
    }

    #[test]
    fn a_damaged_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("Counted");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let cache = MetaDataCache::new(dir.path());
        let root = Path::new("/usr/lib/ocf");
        cache.store("ocf:test:Counted", &script, root, "<resource-agent");
        assert!(cache.lookup("ocf:test:Counted", &script, root).is_none());
    }
}
