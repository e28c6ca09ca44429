use vault_config::VaultConfig;

#[derive(Debug, VaultConfig)]
#[config(vault(path = "app", keys = "UPPER"))]
struct Settings {
    #[config(secret)]
    api_key: vault_config::SecretString,
}

fn main() {}
