//! A long-running service's settings: watched, with a health line, picking up a rotated secret
//! without a restart.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"
//! cargo run --example live_service     # rotates demo-api-key itself to show the update arrive
//! ```

use std::process::ExitCode;
use std::time::Duration;

use vault_config::live::Live;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The service's settings, kept current while it runs.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "DEMO_",
    vault(path = "vault-config-demo/{profile}"),
    refresh = "5m"
)]
pub struct Settings {
    /// Bind port: taken once at start; a change in its source is reported, not applied.
    #[config(static, default = 8080)]
    port: u16,
    /// Key for the upstream API; rotated in Vault while the service runs.
    #[config(secret, vault(path = "api", key = "key"))]
    api_key: SecretString,
}

/// Writes a new API key (a new KV v2 version) with the operator token, as a rotation job
/// would.
fn rotate(addr: &str, token: &str, key: &str) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let status = reqwest::Client::new()
            .post(format!(
                "{addr}/v1/secret/data/vault-config-demo/default/api"
            ))
            .header("X-Vault-Token", token)
            .body(format!(r#"{{"data":{{"key":"{key}"}}}}"#))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("rotation answered {status}"))
        }
    })
}

fn main() -> ExitCode {
    // Refresh every second for the demo; a service would keep the struct's 5 minutes.
    let live = match Live::builder(Settings::loader())
        .refresh_every(Duration::from_secs(1))
        .start()
    {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let health = serde_json::to_string(&live.health()).unwrap_or_default();
    println!("health: {health}");
    let before = live.current().api_key.expose_secret().len();
    println!(
        "serving on port {} with an api key of {before} bytes",
        live.current().port
    );

    let (Ok(addr), Ok(token)) = (std::env::var("VAULT_ADDR"), std::env::var("VAULT_TOKEN")) else {
        eprintln!(
            "set VAULT_ADDR and VAULT_TOKEN (eval \"$(scripts/dev-vault start)\") to see a rotation"
        );
        return ExitCode::FAILURE;
    };
    let mut changes = live.subscribe();
    if let Err(e) = rotate(&addr, &token, "rotated-api-key-of-32-bytes-long") {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let arrived = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(15), changes.changed()).await });
    if !matches!(arrived, Ok(Ok(()))) {
        eprintln!("the rotated key did not arrive");
        return ExitCode::FAILURE;
    }
    let change = changes.borrow().clone();
    println!(
        "rotated without restart: fields {:?} changed; api key now {} bytes",
        change.fields,
        live.current().api_key.expose_secret().len()
    );
    // Put the demo key back so the example can run again.
    let _ = rotate(&addr, &token, "demo-api-key");
    live.shutdown();
    ExitCode::SUCCESS
}
