use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Redis {
    url: String,
}

#[derive(VaultConfig)]
struct Settings {
    #[config(skip, default = 3)]
    cache: u8,
    #[config(nested, env = "REDIS")]
    redis: Redis,
}

fn main() {}
