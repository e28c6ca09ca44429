//! Helpers for the wiremock tests: bodies copied from `shared/reference/vault-http-api.md`.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::time::Duration;

use serde_json::{Value, json};
use vault_config_core::{FetchResult, SecretSource, VaultPath};
use vault_config_vault::{RetryPolicy, VaultClientBuilder};
use wiremock::MockServer;

/// A client for `server` with a token and fast retries.
pub fn builder(server: &MockServer) -> VaultClientBuilder {
    vault_config_vault::VaultClient::builder()
        .address(server.uri())
        .token("s.test-token")
        .timeout(Duration::from_secs(2))
        .retry(RetryPolicy::new(
            2,
            Duration::from_millis(10),
            Duration::from_millis(40),
        ))
}

pub async fn fetch(client: &impl SecretSource, paths: &[(&str, &str)]) -> Vec<FetchResult> {
    let paths: Vec<_> = paths.iter().map(|(m, p)| VaultPath::new(m, p)).collect();
    client.fetch(&paths).await
}

/// §5.1: `sys/internal/ui/mounts/{path}` with the fields inside `data`.
pub fn mount_info(version: &str) -> Value {
    json!({
        "request_id": "r", "lease_id": "", "renewable": false, "lease_duration": 0,
        "data": {
            "accessor": "kv_5d2f", "config": { "default_lease_ttl": 0, "force_no_cache": false, "max_lease_ttl": 0 },
            "description": "key/value secret storage", "external_entropy_access": false, "local": false,
            "options": { "version": version }, "path": "secret/", "seal_wrap": false, "type": "kv", "uuid": "u"
        },
        "wrap_info": null, "warnings": null, "auth": null
    })
}

/// §5.2: a KV v2 read.
pub fn kv2_read(data: Value) -> Value {
    json!({
        "request_id": "513716aa", "lease_id": "", "renewable": false, "lease_duration": 0,
        "data": {
            "data": data,
            "metadata": { "created_time": "2019-03-03T11:53:34.657119825Z", "custom_metadata": null,
                          "deletion_time": "", "destroyed": false, "version": 1 }
        },
        "wrap_info": null, "warnings": null, "auth": null
    })
}

/// §5.6: a KV v1 read.
pub fn kv1_read(data: Value) -> Value {
    json!({ "auth": null, "data": data, "lease_duration": 3600, "lease_id": "", "renewable": false })
}

/// §7: a login answer.
pub fn login(token: &str) -> Value {
    json!({
        "auth": { "renewable": true, "lease_duration": 1200, "metadata": null,
                  "token_policies": ["default"], "accessor": "fd6c9a00", "client_token": token },
        "warnings": null, "wrap_info": null, "data": null, "lease_duration": 0, "renewable": false, "lease_id": ""
    })
}

/// §3: Vault's usual 403 body.
pub fn denied() -> Value {
    json!({ "errors": ["1 error occurred:\n\t* permission denied\n\n"] })
}

/// §3: the empty 404 body of a missing secret.
pub fn missing() -> Value {
    json!({ "errors": [] })
}
