//! Renders shell completions (`completions/`) and man pages (`man/`) from every binary's
//! clap definition (`hakit::cli::all_commands`) and fails when the checked-in copies differ.
//! `HAKIT_UPDATE=1 cargo test --test generated` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap_complete::Shell;
use hakit::cli::Exit;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Escapes text for a roff line (backslashes, and a leading dot or quote).
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn man_page(cmd: clap::Command) -> Vec<u8> {
    let has_subcommands = cmd.has_subcommands();
    let has_version = cmd.get_version().is_some();
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    if has_subcommands {
        man.render_subcommands_section(&mut out).unwrap();
    }
    let mut extra = String::from(".SH ENVIRONMENT\n");
    for (var, meaning) in [
        (
            "HA_CONF_DIR",
            "configuration directory (ha.conf, authkey); default /etc/ha",
        ),
        ("HA_STATE_DIR", "state directory; default /var/lib/ha"),
        ("HA_RUN_DIR", "sockets and pid files; default /run/ha"),
        (
            "HA_NODE_ID",
            "this node's id, where several nodes share a machine",
        ),
    ] {
        extra.push_str(&format!(".TP\n\\fB{var}\\fR\n{}\n", roff_text(meaning)));
    }
    extra.push_str(".SH \"EXIT STATUS\"\n");
    for exit in Exit::ALL {
        extra.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            exit.code(),
            roff_text(exit.meaning())
        ));
    }
    extra.push_str(".SH \"SEE ALSO\"\n\\fBhakit\\fR(7)\n");
    out.extend_from_slice(extra.as_bytes());
    if has_version {
        man.render_version_section(&mut out).unwrap();
    }
    out
}

/// Every generated file, by path relative to the repository root.
fn render_all() -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for (name, cmd) in hakit::cli::all_commands() {
        for (shell, file) in [
            (Shell::Bash, format!("{name}.bash")),
            (Shell::Zsh, format!("_{name}")),
            (Shell::Fish, format!("{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), name, &mut out);
            files.insert(Path::new("completions").join(file), out);
        }
        let mut built = cmd.clone().disable_help_subcommand(true);
        built.build();
        add_man_pages(&built, &mut files);
    }
    files
}

/// One page per command and per subcommand (`ha-cfgtool-config.1`, ...), as the
/// SUBCOMMANDS sections refer to them.
fn add_man_pages(cmd: &clap::Command, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        add_man_pages(sub, files);
    }
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    files.insert(
        Path::new("man").join(format!("{name}.1")),
        man_page(cmd.clone()),
    );
}

/// Generated files present on disk but no longer produced (a removed binary).
fn orphans(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in ["completions", "man"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for entry in entries {
            let relative = Path::new(dir).join(entry.unwrap().file_name());
            // Section 5 and 7 pages (ha.conf.5, hakit.7) are written by hand.
            let hand_written = relative.extension().is_some_and(|e| e == "5" || e == "7");
            if !hand_written && !files.contains_key(&relative) {
                found.push(relative);
            }
        }
    }
    found
}

#[test]
fn completions_and_man_pages_are_up_to_date() {
    let update = std::env::var_os("HAKIT_UPDATE").is_some_and(|v| v == "1");
    let files = render_all();
    let mut stale = Vec::new();
    for (relative, content) in &files {
        let path = root().join(relative);
        if std::fs::read(&path).ok().as_deref() == Some(content.as_slice()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        } else {
            stale.push(relative.display().to_string());
        }
    }
    for orphan in orphans(&files) {
        if update {
            std::fs::remove_file(root().join(&orphan)).unwrap();
        } else {
            stale.push(format!("{} (no longer generated)", orphan.display()));
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files: {}\nrun: HAKIT_UPDATE=1 cargo test --test generated",
        stale.join(", ")
    );
}

#[test]
fn every_binary_target_is_in_the_command_list() {
    let listed: Vec<&str> = hakit::cli::all_commands()
        .iter()
        .map(|(name, _)| *name)
        .collect();
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for line in manifest.lines() {
        if let Some(rest) = line.strip_prefix("name = \"ha-") {
            let name = format!("ha-{}", rest.trim_end_matches('"'));
            assert!(
                listed.contains(&name.as_str()),
                "{name} is a binary but not in hakit::cli::all_commands()"
            );
        }
    }
    for (name, cmd) in hakit::cli::all_commands() {
        assert_eq!(
            cmd.get_name(),
            name,
            "command name differs from binary name"
        );
        cmd.debug_assert();
    }
}

#[test]
fn every_man_page_documents_every_exit_status() {
    for (name, cmd) in hakit::cli::all_commands() {
        let page = String::from_utf8(man_page(cmd)).unwrap();
        for exit in Exit::ALL {
            assert!(
                page.contains(&format!(".TP\n\\fB{}\\fR\n", exit.code())),
                "{name}: exit {} missing",
                exit.code()
            );
        }
    }
}
