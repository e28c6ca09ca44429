use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
#[config(vault_path = "myapp/{env}")]
struct Settings {
    #[config(secret)]
    token: SecretString,
}

fn main() {}
