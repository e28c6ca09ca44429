use vault_config::VaultConfig;

// `allow_unknown` covers env vars and file keys; `allow_unknown_env` beside it says nothing more.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_", allow_unknown, allow_unknown_env)]
struct Settings {
    port: u16,
}

fn main() {}
