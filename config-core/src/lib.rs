//! The engine of [`vault-config`](https://docs.rs/vault-config): schema, layered loader
//! (env > Vault > defaults), one-report errors, explain, and the test kit. It has no HTTP and no
//! async runtime; the Vault layer is reached through the [`SecretSource`] trait.
//!
//! Applications use the `vault-config` facade and `#[derive(VaultConfig)]`; this crate is what
//! the derive's code calls. A quick look at the pieces that stand alone:
//!
//! ```
//! use vault_config_core::{de, EnvSnapshot};
//! let env = EnvSnapshot::from_iter([("APP_PORT", "8080")]);
//! let port: u16 = de::from_str(env.get("APP_PORT").unwrap().unwrap()).unwrap();
//! assert_eq!(port, 8080);
//! ```
#![forbid(unsafe_code)]

mod artifacts;
mod build;
pub mod de;
mod defaults;
mod dotenv;
pub mod duration;
mod env;
mod error;
mod explain;
mod files;
mod flags;
mod folder;
mod formats;
mod loader;
pub mod location;
mod mounts;
mod plan;
pub mod profile;
mod read;
mod resolve;
pub mod schema;
mod setup;
mod shape;
mod snapshot;
mod source;
pub mod testing;
mod tracked;
pub mod transit;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

use std::future::Future;
use std::sync::Arc;

pub use artifacts::CheckReport;
pub use env::{EnvSnapshot, NotUnicode};
pub use error::{Answer, Attempt, Error, Problem, ProblemKind};
pub use explain::{Explanation, Row};
pub use files::{FileCheck, FileStatus};
pub use flags::flag_name;
pub use folder::SecretFolder;
pub use loader::Loader;
pub use plan::Fallback;
pub use resolve::{PathCheck, PathStatus, short_serial};
pub use schema::{FieldSchema, Schema, VaultLocation};
pub use setup::VaultSetup;
pub use snapshot::Snapshot;
pub use source::{
    BoxFuture, Ciphertexts, FetchResult, IssueTerms, PathKind, Renewal, SecretData, SecretSource,
    SourceError, SourceErrorKind, SourceStatus, TokenLife, VaultPath, short_lease_id, unix_now,
    zeroize_json,
};

/// The name of `candidates` closest to `name` when it is close enough to be a typo of it
/// (edit distance at most 2, or a quarter of the name's length): the one rule behind every
/// "did you mean" of the library.
///
/// ```
/// use vault_config_core::nearest_name;
/// let known = ["VAULT_SECRET_ID", "VAULT_ROLE_ID", "VAULT_ADDR"];
/// assert_eq!(nearest_name("VAULT_SECRETID", known), Some("VAULT_SECRET_ID"));
/// assert_eq!(nearest_name("VAULT_FORMAT", known), None);
/// ```
pub fn nearest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .min()
        .filter(|(d, _)| *d <= 2.max(name.len() / 4))
        .map(|(_, k)| k)
}

/// A settings struct: derive it with `#[derive(VaultConfig)]`, then call `load()` in `main`.
///
/// The derive writes the hidden methods; everything public has a default.
pub trait VaultConfig: Sized + 'static {
    /// Every field with its env var, Vault location, default and doc text.
    fn schema() -> &'static Schema;

    /// A loader to choose env, Vault source and profile before loading.
    fn loader() -> Loader<Self> {
        Loader::new()
    }

    /// Loads from the process env, the Vault layer and defaults, and validates; from
    /// synchronous code, inside or outside an async runtime.
    fn load() -> Result<Self, Error> {
        Self::loader().load()
    }

    /// [`load`](Self::load) from async code.
    fn load_async() -> impl Future<Output = Result<Self, Error>> + Send
    where
        Self: Send,
    {
        Self::loader().load_async()
    }

    /// The struct's command line (the `clap` feature): one flag per non-secret field, its
    /// help from the field's doc text, env var and default. Parse it with
    /// [`Loader::args`]; to add the app's own flags and subcommands, see
    /// [`augment_args`](Self::augment_args).
    ///
    /// ```
    /// # #[cfg(feature = "clap")]
    /// # fn demo<T: vault_config_core::VaultConfig>() {
    /// let help = T::command().render_help().to_string();
    /// assert!(help.contains("[env: "));
    /// # }
    /// ```
    #[cfg(feature = "clap")]
    fn command() -> clap::Command {
        Self::augment_args(flags::base_command(Self::schema()))
    }

    /// `command` (the app's own, with its flags and subcommands) with the struct's flags
    /// added; hand the matches to [`Loader::arg_matches`].
    #[cfg(feature = "clap")]
    fn augment_args(command: clap::Command) -> clap::Command {
        flags::augment(command, Self::schema())
    }

    /// The name of every env var the struct reads, including the profile selector. (To give
    /// a load env values, see [`Loader::env_vars`].)
    fn env_names() -> Vec<&'static str> {
        Self::schema().env_names()
    }

    #[doc(hidden)]
    fn __meta() -> schema::StructMeta;

    #[doc(hidden)]
    fn __describe(builder: &mut schema::SchemaBuilder);

    #[doc(hidden)]
    fn __build(ctx: &mut __private::BuildCtx<'_>) -> Option<Self>;
}

/// Forwards every method, so that `Arc<S>`, `Box<S>` and `&S` are sources too. A wrapper that
/// let a method fall back to its default body would change what the source does (a lease
/// never renewed, a token never given back): `clippy::missing_trait_methods`, denied here and
/// run by CI, fails the build when a method is added to the trait and not forwarded.
macro_rules! forward_source {
    ($($ptr:ty),*) => {$(
        #[deny(clippy::missing_trait_methods)]
        impl<S: SecretSource + ?Sized> SecretSource for $ptr {
            fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
                (**self).fetch(paths)
            }

            fn maintain(&self) -> BoxFuture<'_, Option<std::time::Duration>> {
                (**self).maintain()
            }

            fn versions<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<Option<u64>>> {
                (**self).versions(paths)
            }

            fn monotonic_reads(&self) -> bool {
                (**self).monotonic_reads()
            }

            fn status(&self) -> BoxFuture<'_, SourceStatus> {
                (**self).status()
            }

            fn renew_lease<'a>(
                &'a self,
                lease_id: &'a str,
                increment: std::time::Duration,
            ) -> BoxFuture<'a, Result<Renewal, SourceError>> {
                (**self).renew_lease(lease_id, increment)
            }

            fn revoke_lease<'a>(&'a self, lease_id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
                (**self).revoke_lease(lease_id)
            }

            fn release_tokens<'a>(&'a self, in_use: &'a [u64]) -> BoxFuture<'a, ()> {
                (**self).release_tokens(in_use)
            }

            fn close(&self) -> BoxFuture<'_, ()> {
                (**self).close()
            }
        }
    )*};
}

forward_source!(Arc<S>, Box<S>, &S);
