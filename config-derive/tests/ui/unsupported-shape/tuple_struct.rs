use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Settings(u16, String);

fn main() {}
