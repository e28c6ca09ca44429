use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(vault_path = "myapp")]
struct Settings {
    #[config(secret)]
    password: String,
}

fn main() {}
