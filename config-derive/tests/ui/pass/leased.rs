use vault_config::{SecretString, VaultConfig};

#[derive(Debug, serde::Deserialize)]
struct DbCreds {
    username: String,
    password: SecretString,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_")]
struct Settings {
    #[config(lease = "database/creds/app-{profile}")]
    db: DbCreds,
    #[config(lease = "rabbitmq/creds/app")]
    queue: Option<DbCreds>,
}

fn main() {
    let schema = Settings::schema();
    let db = schema.field("db").unwrap();
    assert!(db.secret && db.required);
    assert_eq!(db.vault.as_ref().unwrap().to_string(), "database/creds/app-{profile}");
    assert_eq!(schema.vault_paths("prod")[0].to_string(), "database/creds/app-prod");
    let _ = (Settings::load, fields);
}

fn fields(s: &Settings) -> (&str, &SecretString, Option<&DbCreds>) {
    (&s.db.username, &s.db.password, s.queue.as_ref())
}
