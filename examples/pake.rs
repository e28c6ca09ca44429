//! PAKE System: a per-environment hierarchy `pake_system/{development,staging,production}/...`
//! chosen by profile (`PAKE_PROFILE`), env overriding Vault, an error when neither has a value,
//! and the migration of env secrets into Vault (the seed's `migrate_secrets_to_vault.py`).
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"   # or the team's names: USE_VAULT=true VAULT_URL=...
//! SECRET_KEY=k DATABASE_URL=postgres://x REDIS_URL=redis://y PAKE_PROFILE=staging cargo run --example pake -- migrate
//! PAKE_PROFILE=staging cargo run --example pake
//! ```

use std::process::ExitCode;

use vault_config::vault::{MigrateOptions, VaultClient};
use vault_config::{EnvSnapshot, ExposeSecret, SecretString, VaultConfig};

#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "PAKE_",
    // The team's own names keep working: `VAULT_URL` for the address, `USE_VAULT` to switch.
    vault(
        path = "pake_system/{profile}",
        env(VAULT_ADDR = "VAULT_URL", VAULT_ENABLED = "USE_VAULT")
    )
)]
/// PAKE's settings, one Vault folder per environment.
pub struct Settings {
    /// `pake_system/<env>/database`.
    #[config(nested)]
    pub database: Database,
    /// `pake_system/<env>/redis`.
    #[config(nested)]
    pub redis: Redis,
    /// `pake_system/<env>/security`.
    #[config(nested)]
    pub security: Security,
    /// `pake_system/<env>/api_keys`.
    #[config(nested)]
    pub api_keys: ApiKeys,
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "database"))]
/// Database settings.
pub struct Database {
    /// PostgreSQL URL.
    #[config(secret, env = "DATABASE_URL")]
    pub url: SecretString,
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "redis"))]
/// Redis settings.
pub struct Redis {
    /// Redis URL.
    #[config(secret, env = "REDIS_URL")]
    pub url: SecretString,
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "security"))]
/// Security settings.
pub struct Security {
    /// Application secret key.
    #[config(secret, env = "SECRET_KEY")]
    pub secret_key: SecretString,
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "api_keys"))]
/// Third-party API keys.
pub struct ApiKeys {
    /// Firecrawl key, optional.
    #[config(secret, env = "FIRECRAWL_API_KEY")]
    pub firecrawl_api_key: Option<SecretString>,
}

fn migrate() -> ExitCode {
    let env = EnvSnapshot::from_process();
    let profile = env
        .get("PAKE_PROFILE")
        .and_then(Result::ok)
        .unwrap_or("default")
        .to_owned();
    // The team's names (`VAULT_URL`) as for `Settings::load()`.
    let client = match VaultClient::from_env(&env.with_aliases(&Settings::schema().vault_env)) {
        Ok(client) => client,
        Err(errors) => {
            errors.iter().for_each(|e| eprintln!("vault config: {e}"));
            return ExitCode::from(2);
        }
    };
    // The library's one bridge from synchronous code to its async client.
    let report = vault_config::vault::blocking::block_on(async move {
        client
            .migrate(Settings::schema(), &env, &profile, MigrateOptions::new())
            .await
    })
    .expect("vault-config's runtime");
    print!("{report}");
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("migrate") {
        return migrate();
    }
    match Settings::load() {
        Ok(s) => {
            println!(
                "pake ready: database {} bytes, redis {} bytes, secret key {} bytes, firecrawl {}",
                s.database.url.expose_secret().len(),
                s.redis.url.expose_secret().len(),
                s.security.secret_key.expose_secret().len(),
                if s.api_keys.firecrawl_api_key.is_some() {
                    "set"
                } else {
                    "not set"
                }
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("{report}");
            ExitCode::FAILURE
        }
    }
}
