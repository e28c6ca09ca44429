//! How the environment configures the Vault layer of a load, as a hook: `config-core` knows
//! nothing of HTTP, so the facade plugs in the Vault client's reading of `VAULT_*` here.

use std::fmt;
use std::sync::Arc;

use crate::env::EnvSnapshot;
use crate::error::Problem;
use crate::plan::Fallback;
use crate::source::{BoxFuture, SecretSource};

/// What the environment configures for the Vault layer of one load.
#[derive(Default, Clone)]
#[non_exhaustive]
pub struct VaultSetup {
    /// The Vault source; `None` when Vault is disabled or not configured.
    pub source: Option<Arc<dyn SecretSource>>,
    /// The fallback mode the environment asks for (`VAULT_FALLBACK`).
    pub fallback: Option<Fallback>,
    /// What replaces every field's mount (`VAULT_MOUNT_POINT`) and the struct's
    /// `vault(path)` (`VAULT_BASE_PATH`).
    pub overrides: crate::location::Overrides,
    /// Values from Vault Agent injected files, `(env name, value, file)`, placed under the
    /// process env. Values are zeroized when dropped.
    pub files: Vec<(String, zeroize::Zeroizing<String>, String)>,
    /// Problems with the configuration itself, reported with the load's other problems.
    pub problems: Vec<Problem>,
}

impl VaultSetup {
    /// An empty setup: no source, no override, no files.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for VaultSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultSetup")
            .field("source", &self.source.is_some())
            .field("fallback", &self.fallback)
            .field("overrides", &self.overrides)
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(k, _, o)| (k, o))
                    .collect::<Vec<_>>(),
            )
            .field("problems", &self.problems)
            .finish()
    }
}

/// Reads the Vault setup from an env snapshot. `with_source` is false when the caller brings
/// its own source (`.vault(..)`) or disabled Vault (`.no_vault()`): then no client is built.
pub type SetupFn = fn(env: &EnvSnapshot, with_source: bool) -> VaultSetup;

/// Runs a load's Vault work (its batch of reads, then the give-back of a one-shot source) to
/// completion from synchronous code (`load()`, `explain()`, `check()`); an `Err` says why it
/// could not run, and every path of the batch then counts as unavailable.
pub type BlockOnFn = fn(BoxFuture<'static, ()>) -> Result<(), String>;

/// Takes over the give-back of a finished load's own source (its leases and login token), so
/// that the load returns without waiting for it; hands the work back when it cannot, and the
/// load then waits for it.
pub type GiveBackFn = fn(BoxFuture<'static, ()>) -> Option<BoxFuture<'static, ()>>;

/// What a layer above the core plugs into every loader it hands out: the reading of the
/// Vault setup from env, the one bridge from synchronous code to the async source, and where
/// the give-back of a one-shot load runs.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// Reads the Vault setup (client, fallback, overrides, injected files) from env.
    pub setup: Option<SetupFn>,
    /// Waits for a batch from synchronous code.
    pub block_on: BlockOnFn,
    /// Runs the give-back of `load()` off its critical path; `None`: the load waits for it.
    pub give_back: Option<GiveBackFn>,
}

impl Default for Hooks {
    /// No setup, and batches polled on the calling thread: enough for sources whose futures
    /// need no runtime, such as [`MockVault`](crate::testing::MockVault).
    fn default() -> Self {
        Hooks {
            setup: None,
            block_on: |work| {
                pollster::block_on(work);
                Ok(())
            },
            give_back: None,
        }
    }
}
