use vault_config::VaultConfig;

#[derive(VaultConfig)]
struct Settings<T> {
    value: T,
}

fn main() {}
