//! AI Active Trader: secrets under `secret/ai-trader/{database,alpaca,llm,market-data,session}`,
//! Kubernetes auth with role `ai-trader` in the cluster, Vault Agent injected files or a mounted
//! Kubernetes Secret as alternative sources, and the token kept renewed while the bot trades.
//!
//! ```sh
//! # In the cluster: VAULT_ADDR=https://vault:8200 VAULT_ROLE=ai-trader (JWT from the service account)
//! # With the Agent injector instead: VAULT_ENABLED=false VAULT_SECRETS_PATH=/vault/secrets
//! # With a mounted Kubernetes Secret (one file per key: database_url, alpaca_api_key, ...):
//! #   VAULT_ENABLED=false, mounted at /run/secrets/ai-trader (or SECRETS_DIR=/elsewhere)
//! eval "$(scripts/dev-vault start)" && cargo run --example ai_trader
//! ```

use std::process::ExitCode;

use vault_config::{ExposeSecret, LiveConfig, SecretString, VaultConfig};

/// Env names are the seed's (`DATABASE_URL`, `ALPACA_API_KEY`, ...): no prefix.
#[derive(Debug, VaultConfig)]
#[config(
    vault(path = "ai-trader"),
    refresh = "5m",
    secrets_dir = "/run/secrets/ai-trader"
)]
pub struct Settings {
    /// PostgreSQL connection URL.
    #[config(secret, vault(path = "database", key = "url"))]
    pub database_url: SecretString,
    /// Alpaca API key.
    #[config(secret, vault(path = "alpaca", key = "ALPACA_API_KEY"))]
    pub alpaca_api_key: SecretString,
    /// Alpaca secret key.
    #[config(secret, vault(path = "alpaca", key = "ALPACA_SECRET_KEY"))]
    pub alpaca_secret_key: SecretString,
    /// OpenAI key, if the LLM features are on.
    #[config(secret, vault(path = "llm", key = "OPENAI_API_KEY"))]
    pub openai_api_key: Option<SecretString>,
    /// Groq key, if used.
    #[config(secret, vault(path = "llm", key = "GROQ_API_KEY"))]
    pub groq_api_key: Option<SecretString>,
    /// Finnhub market data key.
    #[config(secret, vault(path = "market-data", key = "FINNHUB_API_KEY"))]
    pub finnhub_api_key: Option<SecretString>,
    /// Session signing secret.
    #[config(secret, vault(path = "session", key = "SESSION_SECRET"))]
    pub session_secret: SecretString,
    /// JWT signing secret.
    #[config(secret, vault(path = "session", key = "JWT_SECRET"))]
    pub jwt_secret: SecretString,
}

fn main() -> ExitCode {
    // watch(): loaded and validated now, kept current (and the token renewed) in the background.
    let live = match Settings::watch() {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let settings = live.current();
    let llm = [&settings.openai_api_key, &settings.groq_api_key]
        .iter()
        .filter(|k| k.is_some())
        .count();
    println!(
        "ai-trader ready: database url {} bytes, alpaca keys set, {llm} LLM key(s), session secrets {} + {} bytes",
        settings.database_url.expose_secret().len(),
        settings.session_secret.expose_secret().len(),
        settings.jwt_secret.expose_secret().len(),
    );
    println!(
        "health: {}",
        serde_json::to_string(&live.health()).unwrap_or_default()
    );
    // Asked with the live client: no second login.
    for row in live.explain().rows {
        println!("  {:<18} from {}", row.field, row.source);
    }
    live.shutdown();
    ExitCode::SUCCESS
}
