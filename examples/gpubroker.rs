//! GPUBROKER: AppRole auth, one secret per provider under `secret/gpubroker/` (`runpod`,
//! `aws`, ...) loaded as one folder, and a `get_secret("runpod", "api_key")` lookup for code
//! that picks a provider at run time.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"   # AppRole: VAULT_ROLE_ID / VAULT_SECRET_ID from `scripts/dev-vault env`
//! VAULT_ROLE_ID=.. VAULT_SECRET_ID=.. cargo run --example gpubroker -- runpod api_key
//! ```

use std::process::ExitCode;

use vault_config::{SecretFolder, VaultConfig};

/// The broker's settings.
#[derive(Debug, VaultConfig)]
pub struct Settings {
    /// Every provider's credentials (`secret/gpubroker/<provider>`).
    #[config(vault(folder = "gpubroker"))]
    pub providers: SecretFolder,
}

impl Settings {
    /// The seed's `get_secret(provider, key)`.
    pub fn get_secret(&self, provider: &str, key: &str) -> Option<&str> {
        self.providers.get(provider, key)
    }
}

fn main() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let names: Vec<&str> = settings.providers.names().collect();
    println!("providers: {}", names.join(", "));
    let mut args = std::env::args().skip(1);
    if let (Some(provider), Some(key)) = (args.next(), args.next()) {
        match settings.get_secret(&provider, &key) {
            Some(value) => println!("{provider}.{key}: {} bytes", value.len()),
            None => {
                eprintln!("{provider}.{key}: not in Vault");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
