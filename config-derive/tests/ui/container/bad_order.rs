use vault_config::VaultConfig;

#[derive(Debug, VaultConfig)]
#[config(order = ["default", "env", "vault"])]
struct Settings {
    port: u16,
}

fn main() {}
