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
//! #[config(env_prefix = "APP_", vault(path = "myapp/{profile}"))]
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
//! 1. a command-line flag (`--port 9000`, the `clap` feature and
//!    `Settings::loader().args(std::env::args_os())`); never for a secret;
//! 2. the env var: `env_prefix` + the field name in upper case (`APP_PORT`), nested fields
//!    joined with `__` (`APP_REDIS__URL`), or exactly the name given by `env = "NAME"`;
//!    an empty value counts as unset unless the field has `allow_empty`;
//! 3. a file in a secrets dir (`secrets_dir = "/run/secrets"`, `APP_SECRETS_DIR`), named by
//!    the env var or the field path: a Kubernetes or Docker secret mount;
//! 4. the `.env` file (`dotenv = ".env"`): the same names, read without touching the process
//!    environment; it may hold secrets (local development) and `VAULT_*` settings;
//! 5. Vault, at `mount/path#key` (aliases tried in order), for secret fields and fields with
//!    `vault(...)`; only paths that the layers above did not fill are read, each distinct path
//!    once;
//! 6. the config files (`files = [..]`: TOML, YAML or JSON by extension, a later file winning),
//!    at the field's dotted path (`db.pool_size` is `[db] pool_size`); a secret is never taken
//!    from a config file: its presence there is a problem;
//! 7. the default, for fields that have one; a secret never has one.
//!
//! `order = ["vault", "env", "default"]` puts Vault first; flags always come first, the
//! secrets dir and `.env` always follow env, and files always precede defaults. A field that
//! ends with no value is `None` when it is an `Option`, and otherwise a `missing` problem.
//! Every problem of a load lands in one [`Error`].
//!
//! # Attributes
//!
//! Every key of `#[config(..)]`, on the struct and on a field, is in one table:
//! [`guide::attributes`]. The [`guide`] has a chapter per topic.
#![forbid(unsafe_code)]

pub use secrecy::{ExposeSecret, SecretBox, SecretString};
pub use vault_config_core::{EnvSnapshot, Error, Fallback, Loader, SecretFolder, VaultConfig};
pub use vault_config_derive::VaultConfig;
pub use vault_config_vault::LiveConfig;

pub use vault_config_core::{de, duration, schema, testing};

/// The problems of a failed load: the one [`Error`] a load returns, what went
/// wrong per field, and what each layer answered.
pub mod error {
    pub use vault_config_core::{Answer, Attempt, Error, Problem, ProblemKind};
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
        BoxFuture, Ciphertexts, FetchResult, IssueTerms, PathKind, Renewal, SecretData,
        SecretSource, SourceError, SourceErrorKind, SourceStatus, TokenLife, VaultPath,
        short_lease_id,
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

/// The Vault and OpenBao client, for building one from code: [`VaultClient`](vault::VaultClient)
/// and its builder, the auth methods, TLS, retries, KV versions, migration, health, Agent
/// files, the metric names, and the one bridge from synchronous code. (Live settings are in
/// [`live`]; the hooks that wire the client into every loader are not public API.)
pub mod vault {
    pub use vault_config_vault::{
        Auth, Credential, Error, HTTP1_MAX_IN_FLIGHT, Health, K8S_TOKEN_PATH, KvVersion,
        MigrateOptions, MigrationAction, MigrationReport, Password, PathMigration, RetryPolicy,
        SecretId, Tls, VaultClient, VaultClientBuilder, WrappingToken, agent, blocking, metrics,
    };
}

/// Certificates from Vault's PKI engine as live fields (`#[config(pki = "pki/issue/<role>")]`)
/// and the rustls resolvers that serve the current one without a restart; see
/// [PKI certificates](crate::guide::live#pki-certificates-served-without-a-restart).
pub mod pki {
    pub use vault_config_vault::pki::{Certificate, ClientCertResolver, ServerCertResolver};
}

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

/// The guide, a chapter per topic; every code block in it is compiled and run as a test.
pub mod guide {
    #[doc = include_str!("guide/attributes.md")]
    pub mod attributes {}
    #[doc = include_str!("guide/layers.md")]
    pub mod layers {}
    #[doc = include_str!("guide/vault.md")]
    pub mod vault {}
    #[doc = include_str!("guide/live.md")]
    pub mod live {}
    #[doc = include_str!("guide/operations.md")]
    pub mod operations {}
    #[doc = include_str!("guide/testing.md")]
    pub mod testing {}
    #[doc = include_str!("guide/seeds.md")]
    pub mod seeds {}
}

/// The README's code blocks, compiled and run as doctests so the README cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
