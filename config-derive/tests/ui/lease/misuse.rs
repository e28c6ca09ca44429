use vault_config::{SecretString, VaultConfig};

#[derive(serde::Deserialize)]
struct DbCreds {
    username: String,
    password: SecretString,
}

#[derive(VaultConfig)]
struct Settings {
    #[config(lease = "database/creds/app", default)]
    with_default: DbCreds,
    #[config(lease = "database/creds/app", vault(path = "db"))]
    with_vault: DbCreds,
    #[config(lease = "creds")]
    no_mount: DbCreds,
    #[config(lease = "database/creds/{env}")]
    unknown_placeholder: DbCreds,
    #[config(lease = "database/creds/app", static)]
    kept: DbCreds,
}

fn main() {}
