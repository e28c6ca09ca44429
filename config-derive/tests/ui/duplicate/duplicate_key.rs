use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Settings {
    #[config(env = "PORT", default = 1)]
    #[config(env = "HTTP_PORT")]
    port: u16,
}

fn main() {}
