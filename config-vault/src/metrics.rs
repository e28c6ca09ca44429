//! Metrics through the [`metrics`] facade: the library records, the application installs an
//! exporter (Prometheus, StatsD, …) — without one, recording costs a no-op call.
//!
//! Every name starts with `vault_config_`. Labels are a fixed vocabulary (methods, operations,
//! outcomes), the settings struct's type name and field names: never a value, a token, a
//! lease id or a Vault path.
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `vault_config_logins_total` | counter | `method`, `outcome` | logins to Vault (AppRole, Kubernetes, JWT, userpass, cert) |
//! | `vault_config_requests_total` | counter | `operation`, `outcome` | Vault requests, after retries |
//! | `vault_config_refreshes_total` | counter | `settings`, `outcome` | live settings refreshes |
//! | `vault_config_last_refresh_timestamp_seconds` | gauge | `settings` | Unix time of the last good refresh: `time() - ..` is the staleness |
//! | `vault_config_token_ttl_seconds` | gauge | `settings` | seconds left on the live settings' token (absent for a token that never expires) |
//! | `vault_config_vault_connected` | gauge | `settings` | 1 when the last contact with Vault worked, else 0 |
//! | `vault_config_static_field_changes_total` | counter | `settings` | refreshes that found a `static` field changed in its source (kept until a restart) |
//! | `vault_config_lease_ttl_seconds` | gauge | `settings`, `field` | seconds left on the leased credentials of a field (`#[config(lease = "..")]`) |
//! | `vault_config_lease_rotations_total` | counter | `settings`, `field` | new leased credentials published for a field |
//! | `vault_config_lease_renewals_total` | counter | `outcome` | lease renewals |
//! | `vault_config_certificate_expiry_timestamp_seconds` | gauge | `settings`, `field` | Unix time at which the certificate in use for a field ends (`#[config(pki = "..")]`) |
//! | `vault_config_stale_reads_total` | counter | | answers of live settings' refreshes with an older KV v2 version than the published one (a lagging standby), ignored |

use std::sync::Once;

use reqwest::Method;

pub(crate) const LOGINS: &str = "vault_config_logins_total";
pub(crate) const REQUESTS: &str = "vault_config_requests_total";
pub(crate) const REFRESHES: &str = "vault_config_refreshes_total";
pub(crate) const LAST_REFRESH: &str = "vault_config_last_refresh_timestamp_seconds";
pub(crate) const TOKEN_TTL: &str = "vault_config_token_ttl_seconds";
pub(crate) const CONNECTED: &str = "vault_config_vault_connected";
pub(crate) const STATIC_CHANGES: &str = "vault_config_static_field_changes_total";
pub(crate) const LEASE_TTL: &str = "vault_config_lease_ttl_seconds";
pub(crate) const LEASE_ROTATIONS: &str = "vault_config_lease_rotations_total";
pub(crate) const LEASE_RENEWALS: &str = "vault_config_lease_renewals_total";
pub(crate) const CERTIFICATE_EXPIRY: &str = "vault_config_certificate_expiry_timestamp_seconds";
pub(crate) const STALE_READS: &str = "vault_config_stale_reads_total";

/// Describes every metric once per process, for exporters that print help texts.
pub(crate) fn describe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        metrics::describe_counter!(LOGINS, "Logins to Vault, by auth method and outcome");
        metrics::describe_counter!(
            REQUESTS,
            "Vault requests after retries, by operation and outcome"
        );
        metrics::describe_counter!(REFRESHES, "Live settings refreshes, by outcome");
        metrics::describe_gauge!(
            LAST_REFRESH,
            metrics::Unit::Seconds,
            "Unix time of the last good refresh of live settings"
        );
        metrics::describe_gauge!(
            TOKEN_TTL,
            metrics::Unit::Seconds,
            "Seconds left on the live settings' Vault token"
        );
        metrics::describe_gauge!(CONNECTED, "1 when the last contact with Vault worked");
        metrics::describe_counter!(
            STATIC_CHANGES,
            "Refreshes that found a static field changed in its source"
        );
        metrics::describe_gauge!(
            LEASE_TTL,
            metrics::Unit::Seconds,
            "Seconds left on a field's leased credentials"
        );
        metrics::describe_counter!(
            LEASE_ROTATIONS,
            "New leased credentials published for a field"
        );
        metrics::describe_counter!(LEASE_RENEWALS, "Lease renewals, by outcome");
        metrics::describe_gauge!(
            CERTIFICATE_EXPIRY,
            metrics::Unit::Seconds,
            "Unix time at which a field's certificate in use ends"
        );
        metrics::describe_counter!(
            STALE_READS,
            "Older KV versions than the published one answered to a refresh, ignored"
        );
    });
}

/// The operation a request performs, from a fixed vocabulary (bounded label cardinality; a
/// path may name a team or a customer and is never a label).
pub(crate) fn operation(method: &Method, path: &str) -> &'static str {
    match path {
        "auth/token/renew-self" => "renew",
        "auth/token/lookup-self" => "lookup",
        "auth/token/revoke-self" => "revoke",
        "sys/wrapping/unwrap" => "unwrap",
        "sys/wrapping/lookup" => "wrap_lookup",
        _ if path.starts_with("sys/health") => "health",
        _ if path.starts_with("sys/internal/ui/mounts") || path.starts_with("sys/mounts") => {
            "detect"
        }
        _ if path.starts_with("sys/leases/") => "lease",
        _ if path.starts_with("auth/") && path.contains("/login") => "login",
        _ if path.starts_with("auth/") => "auth",
        _ if path.split('/').nth(1) == Some("metadata") => "metadata",
        _ if method.as_str() == "LIST" => "list",
        _ if *method == Method::GET => "read",
        _ => "write",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_come_from_a_fixed_vocabulary() {
        let list = Method::from_bytes(b"LIST").unwrap();
        for (method, path, op) in [
            (Method::POST, "auth/approle/login", "login"),
            (Method::POST, "auth/kubernetes/login", "login"),
            (Method::POST, "auth/token/renew-self", "renew"),
            (Method::GET, "secret/data/team-a/db", "read"),
            (Method::GET, "secret/metadata/team-a/db", "metadata"),
            (list, "secret/metadata/team-a", "metadata"),
            (Method::GET, "kv/team-a/db", "read"),
            (Method::GET, "sys/internal/ui/mounts/secret", "detect"),
            (Method::POST, "secret/data/team-a/db", "write"),
        ] {
            assert_eq!(operation(&method, path), op, "{method} {path}");
        }
    }
}
