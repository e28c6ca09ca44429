//! The HashiCorp Vault (and OpenBao) client behind
//! [`vault-config`](https://docs.rs/vault-config)'s `Settings::load()`: token, AppRole
//! (optionally with a response-wrapped secret id), Kubernetes and JWT auth; KV v1 and v2 with
//! per-mount detection; namespaces; TLS with rustls; timeouts and jittered retries on by
//! default; every path of a load fetched concurrently after one login; precise errors that
//! never carry a token or a secret; Vault Agent injected files.
//!
//! Applications rarely touch this crate: `Settings::load()` builds the client from the
//! standard `VAULT_*` environment. Build one from code when you need to:
//!
//! ```
//! use std::time::Duration;
//! use vault_config_vault::{RetryPolicy, VaultClient};
//!
//! let client = VaultClient::builder()
//!     .address("https://vault.internal:8200")
//!     .approle("role-id", "secret-id")
//!     .namespace("team-a/")
//!     .timeout(Duration::from_secs(5))
//!     .retry(RetryPolicy::new(3, Duration::from_millis(200), Duration::from_secs(2)))
//!     .build()
//!     .expect("valid configuration");
//! assert_eq!(client.address(), "https://vault.internal:8200");
//! // Settings::loader().vault(client).load()
//! ```
// Denied in the library but for the one call that installs the exit hook (`blocking`); its
// unit tests need one unsafe global allocator (`scanning_alloc`).
#![cfg_attr(not(test), deny(unsafe_code))]

pub mod agent;
pub mod blocking;
mod client;
mod config;
mod env;
mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod http;
pub mod live;
pub mod metrics;
mod migrate;
pub mod pki;
mod schedule;

#[cfg(test)]
mod scanning_alloc;
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: scanning_alloc::Scanning = scanning_alloc::Scanning;
#[cfg(test)]
mod zeroize_tests;

pub use client::{VaultClient, VaultClientBuilder};
pub use config::{
    Auth, Credential, HTTP1_MAX_IN_FLIGHT, K8S_TOKEN_PATH, KvVersion, Password, SecretId, Tls,
    WrappingToken,
};
pub use env::{overrides_from_env, setup_from_env};

/// What the `vault-config` facade installs in every loader it hands out: the reading of
/// `VAULT_*` from the load's env snapshot, and the [`blocking`] bridge for synchronous loads.
pub const HOOKS: vault_config_core::__private::live::Hooks =
    vault_config_core::__private::live::Hooks {
        setup: Some(setup_from_env),
        block_on: blocking::block_on_work,
        give_back: Some(blocking::give_back),
    };
pub use client::health::Health;
pub use error::Error;
pub use http::retry::RetryPolicy;
pub use live::{
    Change, Current, DEFAULT_LEASE_GRACE, LeaseHealth, Live, LiveBuilder, LiveConfig, LiveHealth,
};
pub use migrate::{MigrateOptions, MigrationAction, MigrationReport, PathMigration};
