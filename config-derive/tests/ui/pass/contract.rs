//! The contract compiles as written, and loading needs no trait import beyond it.
use vault_config::{ExposeSecret, SecretString, VaultConfig};

fn nonzero_port(port: &u16) -> Result<(), String> {
    if *port == 0 { Err("port must not be 0".into()) } else { Ok(()) }
}

#[derive(Debug, VaultConfig)]
struct RedisSettings {
    #[config(default = "redis://localhost:6379")]
    url: String,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_", vault(mount = "secret", path = "myapp/{profile}"))]
struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080, validate = nonzero_port)]
    port: u16,
    /// Primary database.
    #[config(secret, vault(path = "database", key = "url"))]
    database_url: SecretString,
    /// Broker login; older entries store it as `username`.
    #[config(secret, vault(path = "ibkr/vertical_spreads", key = "IB_USER", aliases = ["username"]))]
    ib_user: SecretString,
    #[config(env = "LOG_LEVEL", default = "info")]
    log_level: String,
    #[config(nested)]
    redis: RedisSettings,
    timeout_ms: Option<u64>,
}

fn main() {
    let s = Settings::loader()
        .env_vars([("APP_DATABASE_URL", "a"), ("APP_IB_USER", "b")])
        .load()
        .unwrap();
    assert_eq!(s.database_url.expose_secret(), "a");
    let _ = (s.port, s.ib_user, s.log_level, s.redis.url, s.timeout_ms);
}
