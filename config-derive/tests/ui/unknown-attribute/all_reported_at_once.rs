use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(prefix = "APP_")]
struct Settings {
    #[config(defualt = 8080, envv = "PORT")]
    port: u16,
    #[config(secert)]
    token: String,
}

fn main() {}
