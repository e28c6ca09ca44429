use vault_config::VaultConfig;

#[derive(Debug)]
enum Level {
    Debug,
    Info,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_")]
struct Settings {
    level: Level,
}

fn main() {
    let _ = Settings::load();
}
