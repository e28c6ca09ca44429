//! Shared by the fuzz target `env_value` and tests/properties.rs. Any bytes as the value of
//! the env vars of a settings struct with the common field types: the load succeeds or
//! reports typed problems, never panics, and the report never repeats the value of a secret
//! field (values marked `CANARY` are looked for; non-secret fields get the value with `CANARY`
//! masked, as a report may show a non-secret value).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use vault_config::{EnvSnapshot, SecretBox, SecretString, VaultConfig};

#[derive(Debug, serde::Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
}

#[allow(dead_code)]
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "FZ_")]
struct Fuzzed {
    port: u16,
    ratio: f64,
    offset: i64,
    enabled: bool,
    name: String,
    level: Level,
    hosts: Vec<String>,
    ids: Vec<u32>,
    limits: BTreeMap<String, u64>,
    retries: Option<u8>,
    #[config(secret)]
    token: SecretString,
    #[config(secret)]
    pin: SecretBox<u64>,
    #[config(secret)]
    keys: SecretBox<Vec<u8>>,
    #[config(nested)]
    db: Db,
}

#[allow(dead_code)]
#[derive(Debug, VaultConfig)]
struct Db {
    url: String,
    pool: usize,
}

const PUBLIC: [&str; 13] = [
    "FZ_PORT",
    "FZ_RATIO",
    "FZ_OFFSET",
    "FZ_ENABLED",
    "FZ_NAME",
    "FZ_LEVEL",
    "FZ_HOSTS",
    "FZ_IDS",
    "FZ_LIMITS",
    "FZ_RETRIES",
    "FZ_DB_URL",
    "FZ_DB_POOL",
    "FZ_PORTT",
];
const SECRET: [&str; 3] = ["FZ_TOKEN", "FZ_PIN", "FZ_KEYS"];

/// `CANARY` replaced by `XXXXXX` (which cannot form a new `CANARY`).
fn masked(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        if value[i..].starts_with(b"CANARY") {
            out.extend_from_slice(b"XXXXXX");
            i += 6;
        } else {
            out.push(value[i]);
            i += 1;
        }
    }
    out
}

/// The property, for one input: byte 0 picks which vars get the value, the rest is the value.
pub fn check(data: &[u8]) {
    let Some((&mask, value)) = data.split_first() else {
        return;
    };
    let public = masked(value);
    let pick = |i: usize, v: &[u8], ok: &[u8]| {
        if (usize::from(mask) >> (i % 8)) & 1 == 1 {
            v.to_vec()
        } else {
            ok.to_vec()
        }
    };
    let vars = PUBLIC
        .iter()
        .enumerate()
        .map(|(i, name)| {
            (
                OsString::from(name),
                OsString::from_vec(pick(i, &public, b"1")),
            )
        })
        .chain(SECRET.iter().enumerate().map(|(i, name)| {
            (
                OsString::from(name),
                OsString::from_vec(pick(i + 3, value, b"[1]")),
            )
        }));
    let env = EnvSnapshot::from_os(vars);
    if let Err(err) = Fuzzed::loader().env(env).no_vault().load() {
        assert!(!err.problems().is_empty());
        let text = format!("{err}{err:?}{}", err.to_json());
        let marked = std::str::from_utf8(value)
            .ok()
            .filter(|v| v.contains("CANARY"));
        if let Some(v) = marked {
            assert!(!text.contains(v), "the report repeats a secret value");
        }
    }
}
