//! A load's env and Vault layers merge into any figment chain.

use crate::fixtures::common;

use common::{Settings, full_vault};
use figment::Figment;
use figment::providers::Serialized;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

#[derive(Debug, serde::Deserialize)]
struct FrameworkConfig {
    port: u16,
    workers: u32,
    database_url: SecretString,
    redis: Redis,
}

#[derive(Debug, serde::Deserialize)]
struct Redis {
    password: SecretString,
}

#[test]
fn a_snapshot_merges_over_a_figment_chain() {
    let snapshot = Settings::loader()
        .env_vars([("APP_PORT", "9443"), ("APP_DATABASE_URL", "00123")])
        .vault(full_vault())
        .snapshot()
        .unwrap();
    assert_eq!(
        snapshot.keys(),
        ["database_url", "ib_user", "port", "redis.password"],
        "defaults are not part of the snapshot"
    );
    let debug = format!("{snapshot:?}");
    assert!(
        !debug.contains("vault-user") && !debug.contains("00123"),
        "{debug}"
    );

    let config: FrameworkConfig = Figment::new()
        .merge(Serialized::defaults(
            serde_json::json!({ "port": 8000, "workers": 4 }),
        ))
        .merge(snapshot)
        .extract()
        .unwrap();
    assert_eq!(
        config.port, 9443,
        "a non-secret env value parses as figment's Env would"
    );
    assert_eq!(config.workers, 4, "the chain's own defaults stay");
    assert_eq!(
        config.database_url.expose_secret(),
        "00123",
        "a secret stays an exact string"
    );
    assert_eq!(config.redis.password.expose_secret(), "vault-redis-pw");
}

#[test]
fn a_snapshot_of_an_invalid_load_is_the_error_report() {
    let err = Settings::loader()
        .env_vars([("APP_PORT", "0")])
        .snapshot()
        .unwrap_err();
    assert!(err.to_string().contains("rejected `port`"));
}
