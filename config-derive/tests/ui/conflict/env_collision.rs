use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(env_prefix = "APP_")]
struct Settings {
    port: u16,
    #[config(env = "APP_PORT")]
    admin_port: u16,
}

fn main() {}
