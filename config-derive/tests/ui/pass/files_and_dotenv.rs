use vault_config::{SecretString, VaultConfig};

#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "APP_",
    vault(path = "myapp/{profile}"),
    files = ["config/default.toml", "required:config/{profile}.yaml", "config/local.json"],
    dotenv = ".env",
    allow_unknown
)]
struct Settings {
    #[config(default = 8080)]
    port: u16,
    #[config(secret)]
    api_key: SecretString,
}

fn main() {
    let schema = Settings::schema();
    assert_eq!(schema.files.len(), 3);
    assert!(schema.files[1].required);
    assert_eq!(schema.dotenv.as_deref(), Some(".env"));
}
