use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
#[config(vault(path = "myapp"))]
struct Settings {
    #[config(secret, default = "hunter2")]
    password: SecretString,
    /// A secrecy type is a secret even without `secret`.
    #[config(default = "changeme")]
    api_key: SecretString,
}

fn main() {}
