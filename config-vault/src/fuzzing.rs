//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not an API: they run the
//! client's own decoders on arbitrary input and check what must hold for any answer.

use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use vault_config_core::VaultPath;

use crate::client::kv::decode_read;
use crate::config::KvVersion;
use crate::http::transport::Reply;
use crate::http::wire::{
    AuthInfo, Envelope, HealthBody, Kv2MetadataInfo, ListKeys, MountInfo, TokenLookup,
    UnwrappedSecretId, WrapLookup, error_message,
};

const STATUSES: [u16; 13] = [
    200, 204, 301, 307, 400, 403, 404, 412, 429, 500, 501, 502, 503,
];

/// A decoded secret's `Debug` shows no value of the body (only keys); an error's text shows
/// none either (see [`check_error`]).
fn check_decoded(decoded: Result<vault_config_core::SecretData, crate::Error>, body: &[u8]) {
    match decoded {
        Ok(data) => {
            let shown = format!("{data:?}");
            for value in string_values(body) {
                assert!(
                    !shown.contains(&value) || data.keys().any(|k| k.contains(&value)),
                    "a secret value shows in Debug"
                );
            }
        }
        Err(err) => check_error(&err.to_string(), body),
    }
}

/// Decodes `data` as a Vault answer in every way the client reads answers: byte 0 picks the
/// status, byte 1 the KV version and path shape, the rest is the body. Panics only when an
/// invariant breaks: a decoded secret's `Debug` or an error's text shows a value of the body
/// marked `CANARY` (the seeds carry such values) that Vault did not send as an error message.
pub fn vault_response(data: &[u8]) {
    let (Some(&s), Some(&shape)) = (data.first(), data.get(1)) else {
        return;
    };
    let status = STATUSES[usize::from(s) % STATUSES.len()];
    let body = &data[2..];
    let reply = Reply::received(status, zeroize::Zeroizing::new(body.to_vec()));
    let version = if shape & 1 == 0 {
        KvVersion::V1
    } else {
        KvVersion::V2
    };
    let path = if shape & 2 == 0 {
        "app/db"
    } else {
        "data/app/db"
    };
    let secret = VaultPath::new("secret", path);

    // As a KV read, and as a leased read (`database/creds/app`).
    check_decoded(decode_read(&reply, &secret, version), body);
    check_decoded(
        crate::client::leases::decode_lease(&reply, "database/creds/app"),
        body,
    );
    let p = "auth/approle/login";
    if let Ok(env) = reply.json::<Envelope<Value>>(p) {
        if let Some(auth) = env.auth {
            let _ = auth.client_token.expose_secret().len();
        }
    }
    let _ = reply.json::<Envelope<Map<String, Value>>>(p);
    let _ = reply.json::<Envelope<MountInfo>>(p);
    let _ = reply.json::<Envelope<ListKeys>>(p);
    let _ = reply.json::<Envelope<Kv2MetadataInfo>>(p);
    let _ = reply.json::<Envelope<TokenLookup>>(p);
    let _ = reply.json::<Envelope<WrapLookup>>(p);
    let _ = reply.json::<HealthBody>(p);
    let _ = serde_json::from_slice::<Envelope<UnwrappedSecretId>>(body);
    let _ = serde_json::from_slice::<AuthInfo>(body);
    check_error(&reply.status_error(p).to_string(), body);
    let _ = error_message(body);
}

/// Any bytes as the answers that set a token's schedule, driven through the lifecycle as the
/// client drives them: byte 0 picks login or static token and the refresh interval's size,
/// the rest is the body, read as a login, a `lookup-self` and a renewal in turn. Panics only
/// when an invariant breaks: a panic on the way (an `Instant` overflow from a TTL of 2^64-1
/// seconds), or a wait longer than the longest the client ever waits.
pub fn lifecycle(data: &[u8]) {
    use std::time::Duration;

    use crate::client::Session;
    use crate::schedule::{LONGEST_WAIT, bounded};

    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let is_login = mode & 1 == 0;
    let reply = Reply::received(200, zeroize::Zeroizing::new(body.to_vec()));
    let mut session = Session::default();
    if let Some(auth) = reply
        .json::<Envelope<Value>>("auth/approle/login")
        .ok()
        .and_then(|e| e.auth)
    {
        session.logged_in(&auth);
    }
    if !is_login {
        let lookup = reply
            .json::<Envelope<TokenLookup>>("auth/token/lookup-self")
            .ok()
            .and_then(|e| e.data)
            .unwrap_or_default();
        session.looked_up(&lookup);
    }
    let lease = session.lease.map_or(Duration::ZERO, |(ttl, _)| ttl);
    if let Ok((ttl, _)) = crate::client::token::decode_renewal(&reply, "auth/token/renew-self") {
        session.renewed(ttl, lease, is_login);
    }
    let wait = session.wait();
    assert!(
        wait.is_none_or(|w| w <= LONGEST_WAIT),
        "a wait beyond the longest"
    );
    // The live loop's next refresh, from an interval of any size (env or code) and the body
    // read as a KV v1 secret with a lease.
    let interval = bounded(Duration::from_secs(u64::MAX >> (mode >> 2)));
    let lease = decode_read(&reply, &VaultPath::new("kv", "app"), KvVersion::V1)
        .ok()
        .and_then(|d| d.lease());
    let next = crate::schedule::next_refresh(interval, lease);
    let _ = tokio::time::Instant::now() + next;
}

/// Every string of the body's JSON, outside error messages, that holds `CANARY`.
fn string_values(body: &[u8]) -> Vec<String> {
    fn walk(v: &Value, in_errors: bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) if !in_errors && s.contains("CANARY") => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, in_errors, out)),
            Value::Object(map) => {
                for (k, v) in map {
                    walk(v, in_errors || k == "errors" || k == "error", out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        walk(&v, false, &mut out);
    }
    out
}

/// An error's text may carry Vault's error messages, never another value of the body.
fn check_error(text: &str, body: &[u8]) {
    let messages = error_message(body);
    for value in string_values(body) {
        assert!(
            !text.contains(&value) || messages.contains(&value),
            "an error shows a value of the body"
        );
    }
}
