use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Settings {
    #[config(defualt = 8080)]
    port: u16,
}

fn main() {}
