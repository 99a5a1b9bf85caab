//! `ha-keygen`: writes, imports and fingerprints the cluster authkey.
//!
//! A new key comes from the OS random source. Files are written mode 0400 through a temp
//! file created with that mode and exclusive, then linked (or with `--force` renamed) into
//! place, so a key under its final name is always complete and never readable by others,
//! even if the command is killed midway.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Parser;

use super::{CliResult, Failure, print_json_ok};
use crate::conf::authkey::{
    AuthKey, DEFAULT_KEY_BYTES, KEY_FILE_MODE, MAX_KEY_BYTES, MIN_KEY_BYTES,
};
use crate::paths::Paths;
use crate::sys::fs::{create_atomic, write_atomic};

/// Generate, import and fingerprint the cluster authkey.
///
/// Writes a new random key to $HA_CONF_DIR/authkey (default /etc/ha/authkey), mode 0400.
/// Sync it to another node with `ha-keygen -k - | ssh node2 ha-keygen --import`.
/// Exit status: 0 ok, 1 failed (nothing changed), 2 usage.
#[derive(Debug, Parser)]
#[command(name = "ha-keygen", version)]
pub struct Args {
    /// Key file to write or read; `-` means standard output (standard input for
    /// --fingerprint).
    #[arg(short = 'k', long = "key-file", value_name = "PATH")]
    pub key_file: Option<PathBuf>,

    /// Size of a new key in bytes, from 128 to 4096.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_KEY_BYTES as u16,
          value_parser = clap::value_parser!(u16).range(MIN_KEY_BYTES as i64..=MAX_KEY_BYTES as i64))]
    pub size: u16,

    /// Replace an existing key file.
    #[arg(long)]
    pub force: bool,

    /// Install a key read from standard input instead of generating one.
    #[arg(long, conflicts_with_all = ["size", "fingerprint"])]
    pub import: bool,

    /// Print the SHA-256 fingerprint of an existing key instead of writing one.
    #[arg(long, conflicts_with_all = ["size", "force"])]
    pub fingerprint: bool,

    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// What `--json` prints: `{"path":"/etc/ha/authkey","bytes":256,"fingerprint":"SHA256:…"}`;
/// `path` is null when the key was read from standard input.
#[derive(Debug, serde::Serialize)]
pub struct KeyReport {
    /// The key file, or null for standard input.
    pub path: Option<PathBuf>,
    /// Key size in bytes.
    pub bytes: usize,
    /// `SHA256:` and 64 hex digits.
    pub fingerprint: String,
}

/// Runs `ha-keygen`. Reads a key from `stdin` for `--import` and `-k - --fingerprint`;
/// writes results (or the raw key for `-k -`) to `stdout`.
pub fn run(args: &Args, paths: &Paths, stdin: &mut dyn Read, stdout: &mut dyn Write) -> CliResult {
    let target = args
        .key_file
        .clone()
        .unwrap_or_else(|| paths.authkey_file());
    let to_stdio = target == Path::new("-");

    if args.fingerprint {
        let key = if to_stdio {
            AuthKey::read_from(stdin, Path::new("<stdin>")).context("reading key from stdin")?
        } else {
            AuthKey::load(&target)?
        };
        let report = KeyReport {
            path: (!to_stdio).then_some(target),
            bytes: key.len(),
            fingerprint: key.fingerprint(),
        };
        if args.json {
            print_json_ok(stdout, &report)?;
        } else {
            writeln!(stdout, "{}", report.fingerprint)?;
        }
        return Ok(());
    }

    if to_stdio && args.json {
        return Err(Failure::usage(anyhow!(
            "--json cannot be combined with -k - (the raw key goes to stdout)"
        )));
    }
    if to_stdio && args.import {
        return Err(Failure::usage(anyhow!(
            "--import installs a key into a file; -k - would only copy stdin to stdout"
        )));
    }

    let key = if args.import {
        AuthKey::read_from(stdin, Path::new("<stdin>"))
            .map_err(|e| anyhow!("imported key rejected: {e}"))?
    } else {
        let mut bytes = vec![0u8; usize::from(args.size)];
        getrandom::fill(&mut bytes).map_err(|e| anyhow!("OS random source failed: {e}"))?;
        AuthKey::from_bytes(bytes)?
    };

    if to_stdio {
        stdout.write_all(key.as_bytes())?;
        stdout.flush()?;
        return Ok(());
    }

    install(&target, &key, args.force)?;
    let report = KeyReport {
        path: Some(target.clone()),
        bytes: key.len(),
        fingerprint: key.fingerprint(),
    };
    if args.json {
        print_json_ok(stdout, &report)?;
    } else {
        writeln!(
            stdout,
            "wrote {} ({} bytes, {})",
            target.display(),
            report.bytes,
            report.fingerprint
        )?;
    }
    Ok(())
}

/// Installs `key` at `path` (mode 0400) atomically; without `force` an existing file is
/// kept and the command fails.
pub fn install(path: &Path, key: &AuthKey, force: bool) -> CliResult {
    let result = if force {
        write_atomic(path, key.as_bytes(), KEY_FILE_MODE)
    } else {
        create_atomic(path, key.as_bytes(), KEY_FILE_MODE)
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(Failure::failed(anyhow!(
            "key file {} already exists; not replaced",
            path.display()
        ))
        .with_hint("use --force to replace it (every node needs the same key)")),
        Err(e) => {
            let failure = Failure::failed(anyhow!("cannot write key {}: {e}", path.display()));
            match path.parent() {
                Some(dir) if e.kind() == io::ErrorKind::NotFound && !dir.as_os_str().is_empty() => {
                    Err(failure
                        .with_hint(format!("create the directory: mkdir -p {}", dir.display())))
                }
                _ => Err(failure),
            }
        }
    }
}
