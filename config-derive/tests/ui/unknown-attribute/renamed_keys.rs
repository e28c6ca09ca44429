use vault_config::VaultConfig;

// Every spelling of an earlier version is refused with the one that replaced it.
#[derive(Debug, VaultConfig)]
#[config(
    vault_mount = "kv",
    vault_path = "app",
    vault_keys = "SCREAMING_SNAKE_CASE",
    vault_env(VAULT_ADDR = "VAULT_URL"),
    allow_unknown_env
)]
struct Settings {
    port: u16,
}

fn main() {}
