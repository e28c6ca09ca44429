//! AI Gateway: provider keys in one KV v2 secret `secret/ai-gateway`, token or AppRole auth,
//! env fallback, refreshed every 5 minutes, and the health JSON its `/api/v1/health` shows.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)" && VAULT_FALLBACK=env cargo run --example ai_gateway
//! ```

use std::process::ExitCode;

use vault_config::{ExposeSecret, LiveConfig, SecretString, VaultConfig};

#[derive(Debug, VaultConfig)]
#[config(
    // The team's `.env` names the secret's path `VAULT_SECRET_PATH`.
    vault(path = "ai-gateway", env(VAULT_BASE_PATH = "VAULT_SECRET_PATH")),
    refresh = "5m",
)]
/// The gateway's settings: one KV v2 secret holds every key.
pub struct Settings {
    /// OpenAI API key.
    #[config(secret, vault(key = "OPENAI_API_KEY"))]
    pub openai_api_key: SecretString,
    /// Anthropic API key.
    #[config(secret, vault(key = "ANTHROPIC_API_KEY"))]
    pub anthropic_api_key: SecretString,
    /// JWT signing key.
    #[config(secret, vault(key = "SESSION_SECRET"))]
    pub session_secret: SecretString,
    /// PostgreSQL password.
    #[config(secret, vault(key = "DATABASE_PASSWORD"))]
    pub database_password: SecretString,
    /// Port the gateway listens on.
    #[config(static, default = 8000)]
    pub port: u16,
}

fn main() -> ExitCode {
    let live = match Settings::watch() {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let s = live.current();
    let health = live.health();
    // The seed's health shape: {"secrets": {"vault_enabled": .., "vault_connected": ..}}.
    let body = serde_json::json!({
        "secrets": { "vault_enabled": health.vault_enabled, "vault_connected": health.vault_connected },
        "vault": health,
    });
    println!("{body}");
    println!(
        "gateway on :{} with {} provider keys",
        s.port,
        [&s.openai_api_key, &s.anthropic_api_key]
            .iter()
            .filter(|k| !k.expose_secret().is_empty())
            .count()
    );
    live.shutdown();
    ExitCode::SUCCESS
}
