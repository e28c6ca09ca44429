use vault_config::VaultConfig;

#[derive(VaultConfig)]
#[config(refresh = "every five minutes")]
struct Settings {
    #[config(static, default = 8080)]
    port: u16,
    #[config(nested, static)]
    inner: Inner,
}

#[derive(VaultConfig)]
struct Inner {
    value: u8,
}

fn main() {}
