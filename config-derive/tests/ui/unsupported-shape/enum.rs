use vault_config::VaultConfig;

#[derive(VaultConfig)]
enum Settings {
    Dev,
    Prod,
}

fn main() {}
