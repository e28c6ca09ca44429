use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(env_prefx = "APP_")]
struct Settings {
    port: u16,
}

fn main() {}
