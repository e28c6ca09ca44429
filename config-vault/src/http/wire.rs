//! Wire types, one per endpoint, from `shared/reference/vault-http-api.md`. Every field is
//! optional or defaulted: doc samples omit envelope fields and compatible servers differ.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::schedule::bounded;

/// A TTL or lease in whole seconds as a server sends it, [`bounded`](crate::schedule::bounded).
pub(crate) fn ttl_secs(secs: u64) -> Duration {
    bounded(Duration::from_secs(secs))
}

/// The standard response envelope ([response format](https://developer.hashicorp.com/vault/api-docs#http-status-codes)).
#[derive(Deserialize)]
#[serde(default)]
pub(crate) struct Envelope<D> {
    pub data: Option<D>,
    pub auth: Option<AuthInfo>,
    pub warnings: Option<Vec<String>>,
    pub lease_duration: Option<u64>,
}

impl<D> Default for Envelope<D> {
    fn default() -> Self {
        Envelope {
            data: None,
            auth: None,
            warnings: None,
            lease_duration: None,
        }
    }
}

/// `auth` of a login or renewal ([response format](https://developer.hashicorp.com/vault/api-docs#http-status-codes), [login](https://developer.hashicorp.com/vault/api-docs/auth/approle#login-with-approle)). `client_token` is a secret.
#[derive(Deserialize)]
pub(crate) struct AuthInfo {
    pub client_token: secrecy::SecretString,
    #[serde(default)]
    pub lease_duration: u64,
    #[serde(default)]
    pub renewable: bool,
}

/// Error bodies: Vault's `{"errors": [...]}`, and `{"error": "..."}` as some compatible servers
/// answer ([errors](https://developer.hashicorp.com/vault/api-docs#http-status-codes)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ErrorBody {
    pub errors: Option<Vec<String>>,
    pub error: Option<String>,
}

/// `GET /v1/sys/internal/ui/mounts/{path}`: mount info inside `data` ([internal UI mounts](https://developer.hashicorp.com/vault/api-docs/system/internal-ui-mounts)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MountInfo {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub options: Option<MountOptions>,
}

/// `options` of a mount; `version` is a string.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MountOptions {
    pub version: Option<String>,
}

/// `GET /v1/{mount}/data/{path}`: `data` of a KV v2 read ([KV v2 read](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Kv2Read {
    pub data: Option<Map<String, Value>>,
    pub metadata: Option<Kv2Metadata>,
}

/// `metadata` of a KV v2 version.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Kv2Metadata {
    pub version: Option<u64>,
    pub deletion_time: Option<String>,
    pub destroyed: Option<bool>,
}

/// `LIST /v1/{mount}/metadata/{path}/` (v2) or `LIST /v1/{mount}/{path}/` (v1): `data`
/// ([KV v2 list](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#list-secrets)); folders end with `/`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ListKeys {
    pub keys: Vec<String>,
}

/// `GET /v1/{mount}/metadata/{path}`: `data` ([KV v2 metadata](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-metadata)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct Kv2MetadataInfo {
    pub current_version: Option<u64>,
    /// Each version's state, keyed by the version number as text.
    pub versions: std::collections::BTreeMap<String, Kv2Metadata>,
}

impl Kv2MetadataInfo {
    /// The current version, unless it is soft-deleted or destroyed: then `None`, so that
    /// the secret is read again (and reported deleted) instead of served from a cache.
    pub fn live_version(&self) -> Option<u64> {
        let current = self.current_version?;
        let state = self.versions.get(&current.to_string());
        let gone = state.is_some_and(|m| {
            m.destroyed.unwrap_or(false)
                || m.deletion_time.as_deref().is_some_and(|t| !t.is_empty())
        });
        (!gone).then_some(current)
    }
}

/// `GET /v1/auth/token/lookup-self`: `data` ([token lookup-self](https://developer.hashicorp.com/vault/api-docs/auth/token#lookup-a-token-self)). `id` (the token) is not read.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenLookup {
    pub ttl: Option<u64>,
    pub renewable: Option<bool>,
}

/// `POST /v1/sys/wrapping/lookup`: `data` ([response wrapping](https://developer.hashicorp.com/vault/api-docs/system/wrapping-lookup)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct WrapLookup {
    pub creation_path: Option<String>,
}

/// `POST /v1/sys/wrapping/unwrap` of a secret-id: `data` ([response wrapping](https://developer.hashicorp.com/vault/api-docs/system/wrapping-lookup)). `secret_id` is a secret.
#[derive(Deserialize)]
pub(crate) struct UnwrappedSecretId {
    pub secret_id: secrecy::SecretString,
}

/// `GET /v1/sys/health` (bare object) and `GET /v1/sys/seal-status` ([sys/health](https://developer.hashicorp.com/vault/api-docs/system/health)).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct HealthBody {
    pub initialized: Option<bool>,
    pub sealed: Option<bool>,
    pub standby: Option<bool>,
    pub version: Option<String>,
}

/// The first error message of an error body, shortened; empty when there is none.
pub(crate) fn error_message(body: &[u8]) -> String {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let msg = parsed
        .errors
        .and_then(|e| e.into_iter().find(|m| !m.trim().is_empty()))
        .or(parsed.error)
        .unwrap_or_default();
    // Vault wraps messages as "1 error occurred:\n\t* permission denied\n\n".
    let msg = msg
        .lines()
        .map(|l| l.trim().trim_start_matches("* ").trim())
        .filter(|l| {
            !l.is_empty() && !l.ends_with("error occurred:") && !l.ends_with("errors occurred:")
        })
        .collect::<Vec<_>>()
        .join("; ");
    // Control characters (terminal escapes, carriage returns) never reach logs or reports.
    let mut chars = msg.chars().map(|c| if c.is_control() { ' ' } else { c });
    let short: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        format!("{short}...")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::LONGEST_WAIT;

    #[test]
    fn error_messages_from_both_body_shapes() {
        assert_eq!(
            error_message(br#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#),
            "permission denied"
        );
        assert_eq!(
            error_message(br#"{"error":"Permission denied."}"#),
            "Permission denied."
        );
        assert_eq!(error_message(b""), "");
        assert_eq!(error_message(br#"{"errors":[]}"#), "");
        assert_eq!(error_message(&[b'x'; 10]), "");
        assert_eq!(
            error_message(format!(r#"{{"error":"{}"}}"#, "a".repeat(300)).as_bytes()).len(),
            203
        );
        // A terminal escape and a carriage return from a hostile server are blanked.
        assert_eq!(
            error_message(br#"{"errors":["bad\u001b[31mred\rover"]}"#),
            "bad [31mred over"
        );
    }

    #[test]
    fn durations_from_a_server_are_bounded() {
        assert_eq!(ttl_secs(u64::MAX), LONGEST_WAIT);
        assert_eq!(ttl_secs(30), Duration::from_secs(30));
        assert!(
            std::time::Instant::now()
                .checked_add(LONGEST_WAIT)
                .is_some()
        );
    }
}
