use vault_config::{SecretString, VaultConfig};

#[derive(serde::Deserialize)]
struct Creds {
    username: String,
}

#[derive(VaultConfig)]
#[config(transit_key = "")]
struct Settings {
    #[config(transit_key = "orders")]
    not_secret: String,
    #[config(lease = "database/creds/app", transit_key = "orders")]
    leased: Creds,
    #[config(secret, transit_key = "orders-{profle}")]
    misspelled: SecretString,
    #[config(secret, transit_key = "orders")]
    fine: SecretString,
}

fn main() {}
