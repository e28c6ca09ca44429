use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
#[config(vault(env(ADDR = "VAULT_URL", VAULT_ENABLED = "")))]
struct Settings {
    #[config(secret)]
    token: SecretString,
}

fn main() {}
