//! An admin binary for a service's settings: one line gives `check`, `explain`,
//! `env-template`, `docs`, `policy` and `migrate`.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"
//! cargo run --features cli --example settings_admin -- --help
//! cargo run --features cli --example settings_admin -- check
//! ```

use vault_config::{SecretString, VaultConfig};

/// The settings of a trading service, as in the seeds.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "TRADER_", vault(path = "ai-trader/{profile}"))]
#[allow(
    dead_code,
    reason = "the admin binary inspects the schema, it does not use the values"
)]
pub struct Settings {
    /// Port the HTTP server binds.
    #[config(default = 8080)]
    port: u16,
    /// PostgreSQL connection URL.
    #[config(secret, vault(path = "database", key = "url"))]
    database_url: SecretString,
    /// Alpaca API key.
    #[config(secret, vault(path = "alpaca", key = "ALPACA_API_KEY"))]
    alpaca_api_key: SecretString,
    /// Alpaca secret key.
    #[config(secret, vault(path = "alpaca", key = "ALPACA_SECRET_KEY"))]
    alpaca_secret_key: SecretString,
    /// Groq key, when the LLM features are on.
    #[config(secret, vault(path = "llm", key = "GROQ_API_KEY"))]
    groq_api_key: Option<SecretString>,
}

fn main() -> std::process::ExitCode {
    vault_config::cli::run::<Settings>()
}
