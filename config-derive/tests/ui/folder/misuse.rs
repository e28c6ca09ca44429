use vault_config::{SecretFolder, VaultConfig};

#[derive(VaultConfig)]
struct Settings {
    #[config(vault(folder = "gpubroker", key = "api_key"))]
    providers: SecretFolder,
    #[config(vault(folder = "gpubroker"))]
    not_a_folder: String,
    unnamed: SecretFolder,
}

fn main() {}
