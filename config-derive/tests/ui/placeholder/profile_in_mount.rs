use vault_config::{SecretString, VaultConfig};

#[derive(VaultConfig)]
#[config(vault(mount = "kv-{profile}"))]
struct Settings {
    #[config(secret, vault(mount = "{profile}"))]
    token: SecretString,
}

fn main() {}
