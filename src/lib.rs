//! Typed service settings from layers — environment variables, `.env`, HashiCorp Vault,
//! config files, then defaults — through one `#[derive(VaultConfig)]` and one
//! `Settings::load()` in `main`, validated at startup with one report that names every
//! problem.
//!
//! ```
//! use vault_config::testing::MockVault;
//! use vault_config::{ExposeSecret, SecretString, VaultConfig};
//!
//! #[derive(Debug, VaultConfig)]
//! #[config(env_prefix = "APP_", vault_path = "myapp/{profile}")]
//! struct Settings {
//!     /// Port the HTTP server binds.
//!     #[config(default = 8080)]
//!     port: u16,
//!     /// Primary database.
//!     #[config(secret, vault(path = "database", key = "url"))]
//!     database_url: SecretString,
//! }
//!
//! let vault = MockVault::new()
//!     .secret("secret/myapp/production/database", [("url", "postgres://db/app")]);
//! let settings = Settings::loader()
//!     .env_vars([("APP_PORT", "9090"), ("APP_PROFILE", "production")])
//!     .vault(vault)
//!     .load()?;
//! assert_eq!(settings.port, 9090);
//! assert_eq!(settings.database_url.expose_secret(), "postgres://db/app");
//! assert!(!format!("{settings:?}").contains("postgres"));
//! # Ok::<(), vault_config::Error>(())
//! ```
//!
//! # Layers
//!
//! For each field, the first layer with a value wins:
//!
//! 1. the env var: `env_prefix` + the field name in upper case (`APP_PORT`), nested fields
//!    joined with `__` (`APP_REDIS__URL`), or exactly the name given by `env = "NAME"`;
//!    an empty value counts as unset unless the field has `allow_empty`;
//! 2. the `.env` file (`dotenv = ".env"`): the same names, read without touching the process
//!    environment; it may hold secrets (local development) and `VAULT_*` settings;
//! 3. Vault, at `mount/path#key` (aliases tried in order), for secret fields and fields with
//!    `vault(...)`; only paths that the layers above did not fill are read, each distinct path
//!    once;
//! 4. the config files (`files = [..]`: TOML, YAML or JSON by extension, a later file winning),
//!    at the field's dotted path (`db.pool_size` is `[db] pool_size`); a secret is never taken
//!    from a config file: its presence there is a problem;
//! 5. the default, for fields that have one; a secret never has one.
//!
//! `order = ["vault", "env", "default"]` puts Vault first; `.env` always follows env and files
//! always precede defaults. A field that ends with no value is `None` when it is an `Option`,
//! and otherwise a `missing` problem. Every problem of a load lands in one [`Error`].
//!
//! # Attributes
//!
//! On the struct:
//!
//! | attribute | meaning |
//! |---|---|
//! | `env_prefix = "APP_"` | prefix of every derived env var name; also `APP_PROFILE` selects the profile; prefixed vars matching no field are errors |
//! | `vault_mount = "secret"` | KV mount (default `secret`) |
//! | `vault_path = "myapp/{profile}"` | base path of the struct's secrets; `{profile}` becomes the active profile |
//! | `validate = path::to::fn` | `fn(&Self) -> Result<(), E: Display>`, run after every field is valid |
//! | `allow_unknown_env` | tolerate prefixed env vars that match no field |
//! | `files = ["config/default.toml", "config/{profile}.toml"]` | config files, relative to the working directory; a missing one is skipped unless written `"required:path"` |
//! | `dotenv = ".env"` | the `.env` file, parsed only: the process environment is never changed |
//! | `allow_unknown` | tolerate config file keys and prefixed env vars that match no field |
//! | `refresh = "5m"` | how often live settings (`LiveConfig::watch`) re-read their sources |
//!
//! On a field:
//!
//! | attribute | meaning |
//! |---|---|
//! | `secret` | the value is a secret: type `SecretString` or `SecretBox<T>`, never printed, no default; read from Vault at the struct path under the field name unless `vault(...)` says otherwise |
//! | `vault(path = "..", key = "..", aliases = [".."], mount = "..")` | the Vault location (each part optional): path joined to the struct's `vault_path`, key defaults to the field name |
//! | `env = "NAME"` | the exact env var name, no prefix |
//! | `default`, `default = expr`, `default = "text"` | `Default::default()`, a Rust expression, or a string parsed like an env value |
//! | `validate = path::to::fn` | `fn(&T) -> Result<(), E: Display>` |
//! | `nested` | the field is a struct that also derives `VaultConfig` |
//! | `skip` | not configurable: `Default::default()` |
//! | `allow_empty` | an empty env value is a value, not "unset" |
//! | `static` | live settings keep the first value and report a change instead of applying it |
//! | `lease = "database/creds/app"` | leased credentials from any engine's path (`{profile}` allowed): the field is any `Deserialize` type over the answer's `data`, secret as a whole; live settings renew the lease and read new credentials before it expires |
//!
//! Fields of type `SecretString`/`SecretBox<T>` are secret even without `secret`.
#![forbid(unsafe_code)]

pub use secrecy::{ExposeSecret, SecretBox, SecretString};
pub use vault_config_core::{EnvSnapshot, Error, Fallback, Loader, SecretFolder, VaultConfig};
pub use vault_config_derive::VaultConfig;
pub use vault_config_vault::LiveConfig;

pub use vault_config_core::{de, duration, schema, testing};

/// The problems of a failed load: what went wrong, per field, and what each layer answered.
pub mod error {
    pub use vault_config_core::{Answer, Attempt, Problem, ProblemKind};
}

/// Where every value came from, and what a `check` of the Vault paths found.
pub mod explain {
    pub use vault_config_core::{
        CheckReport, Explanation, FileCheck, FileStatus, PathCheck, PathStatus, Row,
    };
}

/// The Vault layer as the loader sees it: implement [`SecretSource`](source::SecretSource)
/// to read secrets from elsewhere (the Vault client and `testing::MockVault` implement it).
pub mod source {
    pub use vault_config_core::{
        BoxFuture, FetchResult, PathKind, Renewal, SecretData, SecretSource, SourceError,
        SourceErrorKind, SourceStatus, TokenLife, VaultPath, short_lease_id,
    };
}

/// The loaded settings as one nested value, for a figment chain or a diff.
pub mod snapshot {
    pub use vault_config_core::Snapshot;
}

/// Live settings: refreshed in the background, swapped whole, with health and change
/// notifications (see [`LiveConfig`]).
pub mod live {
    pub use vault_config_vault::{
        Change, Current, DEFAULT_LEASE_GRACE, LeaseHealth, Live, LiveBuilder, LiveHealth,
    };
}

#[cfg(feature = "cli")]
pub mod cli;

/// The Vault and OpenBao client: `VaultClient`, `Auth`, `Tls`, `RetryPolicy`, `KvVersion`,
/// migration and health.
pub use vault_config_vault as vault;

#[doc(hidden)]
pub mod __private {
    pub use vault_config_core::__private::*;

    /// The loader every derived `loader()` returns: the Vault layer configured from `VAULT_*`.
    pub fn loader<T: vault_config_core::VaultConfig>() -> vault_config_core::Loader<T> {
        vault_config_core::__private::live::with_hooks(
            vault_config_core::Loader::new(),
            vault_config_vault::HOOKS,
        )
    }
}

/// The README's code blocks, compiled and run as doctests so the README cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
