use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Settings;

fn main() {}
