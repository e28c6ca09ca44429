//! The contract struct, shared by the behaviour tests.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixture"
)]

use vault_config::testing::MockVault;
use vault_config::{SecretString, VaultConfig};

pub const CANARY: &str = "canary-7f3a9c-secret";

pub fn nonzero_port(port: &u16) -> Result<(), String> {
    if *port == 0 {
        Err("port must not be 0".into())
    } else {
        Ok(())
    }
}

#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "APP_",
    vault_mount = "secret",
    vault_path = "myapp/{profile}"
)]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080, validate = nonzero_port)]
    pub port: u16,
    /// Primary database.
    #[config(secret, vault(path = "database", key = "url"))]
    pub database_url: SecretString,
    /// Broker login; older entries store it as `username`.
    #[config(secret, vault(path = "ibkr/vertical_spreads", key = "IB_USER", aliases = ["username"]))]
    pub ib_user: SecretString,
    #[config(env = "LOG_LEVEL", default = "info")]
    pub log_level: String,
    #[config(nested)]
    pub redis: RedisSettings,
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, VaultConfig)]
#[config(vault_path = "redis")]
pub struct RedisSettings {
    /// Redis connection URL.
    #[config(default = "redis://localhost:6379")]
    pub url: String,
    /// Redis password.
    #[config(secret)]
    pub password: Option<SecretString>,
}

/// A mock holding every secret of `Settings` for the `default` profile.
pub fn full_vault() -> MockVault {
    MockVault::new()
        .secret(
            "secret/myapp/default/database",
            [("url", "postgres://vault/app")],
        )
        .secret(
            "secret/myapp/default/ibkr/vertical_spreads",
            [("IB_USER", "vault-user")],
        )
        .secret(
            "secret/myapp/default/redis",
            [("password", "vault-redis-pw")],
        )
}
