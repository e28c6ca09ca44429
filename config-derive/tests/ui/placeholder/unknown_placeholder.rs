use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
#[config(vault(path = "myapp/{env}"))]
struct Settings {
    #[config(secret)]
    token: SecretString,
}

fn main() {}
