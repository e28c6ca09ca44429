use std::collections::HashMap;

use vault_config::{SecretString, VaultConfig};

type ApiKey = SecretString;

#[derive(VaultConfig)]
#[config(vault(env(VAULT_ADDR = "VAULT_URL", VAULT_BASE_PATH = "VAULT_SECRET_PATH")))]
struct Settings {
    api_keys: Vec<SecretString>,
    webhooks: Option<HashMap<String, SecretString>>,
    #[config(secret)]
    aliased: ApiKey,
}

fn main() {
    let schema = Settings::schema();
    assert!(schema.fields.iter().all(|f| f.secret));
    assert_eq!(schema.vault_env.len(), 2);
}
