use vault_config::VaultConfig;

#[derive(Debug, VaultConfig)]
#[config(files = "config/app.toml")]
struct Settings {
    port: u16,
}

fn main() {}
