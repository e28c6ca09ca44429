use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
struct Settings {
    #[config(secret, vault(path = "db", kye = "url"))]
    database_url: SecretString,
}

fn main() {}
