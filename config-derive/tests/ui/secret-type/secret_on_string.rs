use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(vault(path = "myapp"))]
struct Settings {
    #[config(secret)]
    password: String,
}

fn main() {}
