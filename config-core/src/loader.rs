//! The loader: env snapshot, Vault source and profile in; typed settings, or one report, out.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::VaultConfig;
use crate::env::EnvSnapshot;
use crate::error::Error;
use crate::explain::{Explanation, Row};
use crate::resolve::{BuildCtx, Fallback, Plan, Resolved};
use crate::snapshot::Snapshot;
use crate::source::{FetchResult, SecretSource, VaultPath};

/// Builds one load of `T`: which env, which Vault source, which profile.
///
/// Get one from `T::loader()`. Without `.env_vars(..)` it reads the process environment;
/// without `.vault(..)` the Vault layer is absent.
///
/// ```
/// # use vault_config_core::{Loader, VaultConfig};
/// # fn demo<T: VaultConfig>() -> Result<T, vault_config_core::Error> {
/// T::loader()
///     .env_vars([("APP_PORT", "9090")])
///     .profile("production")
///     .no_vault()
///     .load()
/// # }
/// ```
#[must_use = "a loader does nothing until `.load()`"]
pub struct Loader<T> {
    env: Option<EnvSnapshot>,
    source: Option<Arc<dyn SecretSource>>,
    profile: Option<String>,
    fallback: Fallback,
    _marker: PhantomData<fn() -> T>,
}

impl<T: VaultConfig> Default for Loader<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: VaultConfig> Loader<T> {
    /// A loader with the process env, no Vault source and the default profile.
    pub fn new() -> Self {
        Loader {
            env: None,
            source: None,
            profile: None,
            fallback: Fallback::Never,
            _marker: PhantomData,
        }
    }

    /// Uses exactly these variables instead of the process environment.
    pub fn env_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = Some(vars.into_iter().collect());
        self
    }

    /// Uses this env snapshot instead of the process environment.
    pub fn env(mut self, snapshot: EnvSnapshot) -> Self {
        self.env = Some(snapshot);
        self
    }

    /// Reads the Vault layer from `source`.
    pub fn vault(mut self, source: impl SecretSource + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Loads without a Vault layer: env and defaults only.
    pub fn no_vault(mut self) -> Self {
        self.source = None;
        self
    }

    /// Selects the profile that replaces `{profile}` in Vault paths (over `{PREFIX}PROFILE`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// What to do when Vault fails for a path a field needs; [`Fallback::Never`] by default.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Loads and validates, from synchronous code, inside or outside an async runtime.
    pub fn load(self) -> Result<T, Error> {
        self.run_blocking(false, build::<T>)
    }

    /// Loads and validates from async code.
    pub async fn load_async(self) -> Result<T, Error> {
        self.run(false, build::<T>).await
    }

    /// Where every field's value comes from, and what the load would report.
    ///
    /// Unlike `load`, this asks Vault for every field's path, including those env fills, so
    /// that the table can show what env overrode.
    pub fn explain(self) -> Explanation {
        self.run_blocking(true, explain::<T>)
    }

    /// [`explain`](Self::explain) from async code.
    pub async fn explain_async(self) -> Explanation {
        self.run(true, explain::<T>).await
    }

    /// Loads and validates, then returns the env and Vault layers as a figment provider.
    ///
    /// ```
    /// # use vault_config_core::VaultConfig;
    /// # fn demo<T: VaultConfig>() -> Result<(), vault_config_core::Error> {
    /// let figment = figment::Figment::new().merge(T::loader().snapshot()?);
    /// # Ok(()) }
    /// ```
    pub fn snapshot(self) -> Result<Snapshot, Error> {
        self.run_blocking(false, snapshot::<T>)
    }

    /// [`snapshot`](Self::snapshot) from async code.
    pub async fn snapshot_async(self) -> Result<Snapshot, Error> {
        self.run(false, snapshot::<T>).await
    }

    /// Plans the load, reads the Vault paths it needs from synchronous code, then `finish`es.
    /// `explain` asks Vault for every field, to show what env overrode.
    fn run_blocking<R>(&self, explain: bool, finish: fn(Resolved<'_>) -> R) -> R {
        let env = self.env_snapshot();
        let plan = Plan::new(T::schema(), &env, self.profile.as_deref(), explain);
        let results = self.fetch_blocking(&plan.paths);
        finish(Resolved::new(plan, results.as_deref(), self.fallback))
    }

    /// [`run_blocking`](Self::run_blocking) from async code.
    async fn run<R>(&self, explain: bool, finish: fn(Resolved<'_>) -> R) -> R {
        let env = self.env_snapshot();
        let plan = Plan::new(T::schema(), &env, self.profile.as_deref(), explain);
        let results = self.fetch(&plan.paths).await;
        finish(Resolved::new(plan, results.as_deref(), self.fallback))
    }

    fn env_snapshot(&self) -> EnvSnapshot {
        self.env.clone().unwrap_or_else(EnvSnapshot::from_process)
    }

    /// `None` when there is no Vault source; no call at all when no path is needed.
    fn fetch_blocking(&self, paths: &[VaultPath]) -> Option<Vec<FetchResult>> {
        let source = self.source.as_ref()?;
        Some(if paths.is_empty() {
            Vec::new()
        } else {
            source.fetch_blocking(paths)
        })
    }

    async fn fetch(&self, paths: &[VaultPath]) -> Option<Vec<FetchResult>> {
        let source = self.source.as_ref()?;
        Some(if paths.is_empty() {
            Vec::new()
        } else {
            source.fetch(paths).await
        })
    }
}

fn build<T: VaultConfig>(resolved: Resolved<'_>) -> Result<T, Error> {
    let mut ctx = BuildCtx::new(&resolved);
    let value = T::__build(&mut ctx);
    let mut problems = ctx.problems;
    problems.extend(resolved.problems.iter().cloned());
    for (field, _, origin, _) in resolved.rows() {
        tracing::debug!(field = %field.path, source = %origin, "vault-config: resolved field");
    }
    match value {
        Some(value) if problems.is_empty() => Ok(value),
        _ => {
            tracing::warn!(
                problems = problems.len(),
                type_name = resolved.schema.type_name,
                "vault-config: load failed"
            );
            Err(Error::new(
                resolved.schema.type_name,
                resolved.profile.clone(),
                problems,
            ))
        }
    }
}

fn snapshot<T: VaultConfig>(resolved: Resolved<'_>) -> Result<Snapshot, Error> {
    let dict = resolved.layer_dict();
    build::<T>(resolved).map(|_| Snapshot::new(dict))
}

fn explain<T: VaultConfig>(resolved: Resolved<'_>) -> Explanation {
    let rows = resolved
        .rows()
        .map(|(field, value, source, overridden)| Row {
            field: field.path.clone(),
            value,
            source: source.to_owned(),
            overridden: overridden.to_vec(),
            secret: field.secret,
        })
        .collect();
    Explanation {
        type_name: resolved.schema.type_name,
        profile: resolved.profile.clone(),
        rows,
        error: build::<T>(resolved).err(),
    }
}
