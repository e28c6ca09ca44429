use vault_config::VaultConfig;

// A format read by extension, `{profile}` the only placeholder, no placeholder in `dotenv`.
#[derive(Debug, VaultConfig)]
#[config(
    files = ["config/app.ini", "config/{env}.toml", "required:"],
    dotenv = ".env.{profile}"
)]
struct Settings {
    port: u16,
}

fn main() {}
