//! The loader: env snapshot, Vault source and profile in; typed settings, or one report, out.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::VaultConfig;
use crate::artifacts::CheckReport;
use crate::env::EnvSnapshot;
use crate::error::{Error, Problem, ProblemKind};
use crate::explain::Explanation;
use crate::files::{FileSource, FileStatus};
use crate::location::Overrides;
use crate::plan::Pins;
use crate::plan::{Fallback, Plan};
use crate::resolve::Resolved;
use crate::schema::FileSpec;
use crate::setup::Hooks;
use crate::snapshot::Snapshot;
use crate::source::{BoxFuture, FetchResult, SecretSource, SourceError};
use crate::tracked::Tracked;

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
    source: SourceChoice,
    hooks: Hooks,
    profile: Option<String>,
    fallback: Option<Fallback>,
    pins: Pins,
    /// Problems found when the source was pinned, reported by every later load.
    pinned_problems: Vec<Problem>,
    /// The config files, when code chose them (`None`: the struct's `files`).
    files: Option<Vec<FileSource>>,
    /// The `.env` file, when code chose it (`None`: the struct's `dotenv`).
    dotenv: Option<Option<String>>,
    /// The command line's flags, when code gave them (`args`, `arg_matches`).
    flags: Option<crate::flags::FlagValues>,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Clone for Loader<T> {
    fn clone(&self) -> Self {
        Loader {
            env: self.env.clone(),
            source: self.source.clone(),
            hooks: self.hooks,
            profile: self.profile.clone(),
            fallback: self.fallback,
            pins: self.pins.clone(),
            pinned_problems: self.pinned_problems.clone(),
            files: self.files.clone(),
            dotenv: self.dotenv.clone(),
            flags: self.flags.clone(),
            _marker: PhantomData,
        }
    }
}

/// Where the Vault layer comes from.
#[derive(Clone)]
enum SourceChoice {
    /// Whatever the setup hook builds from the env (nothing without a hook).
    FromEnv,
    Given(Arc<dyn SecretSource>),
    Disabled,
}

/// A load's inputs once the setup hook has run.
struct Prepared {
    env: EnvSnapshot,
    /// What reading the `.env` file found, when the load has one.
    dotenv: Option<crate::files::FileCheck>,
    /// The secrets dirs as read.
    mounts: crate::mounts::Mounts,
    source: Option<Arc<dyn SecretSource>>,
    fallback: Fallback,
    overrides: Overrides,
    problems: Vec<Problem>,
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
            source: SourceChoice::FromEnv,
            hooks: Hooks::default(),
            profile: None,
            fallback: None,
            pins: Pins::default(),
            pinned_problems: Vec::new(),
            files: None,
            dotenv: None,
            flags: None,
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

    /// Reads the Vault layer from `source` instead of what the environment configures.
    pub fn vault(mut self, source: impl SecretSource + 'static) -> Self {
        self.source = SourceChoice::Given(Arc::new(source));
        self
    }

    /// Loads without the Vault API: env (and injected files), then defaults.
    pub fn no_vault(mut self) -> Self {
        self.source = SourceChoice::Disabled;
        self
    }

    /// Puts the command line's flags above every other layer: one flag per non-secret field
    /// (`db.pool_size` is `--db-pool-size`), `--help` from the fields' doc text, env vars and
    /// defaults (see `VaultConfig::command`). `--help` prints and exits, as in every clap
    /// program; an unknown flag or a secret given as a flag is a problem of the load.
    ///
    /// ```
    /// # #[cfg(feature = "clap")]
    /// # fn demo<T: vault_config_core::VaultConfig>() -> Result<T, vault_config_core::Error> {
    /// T::loader().args(std::env::args_os()).load()
    /// # }
    /// ```
    #[cfg(feature = "clap")]
    pub fn args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<std::ffi::OsString> + Clone,
    {
        self.flags = Some(crate::flags::parse(args, T::schema()));
        self
    }

    /// The flags of a command line the app parsed itself, with a command that
    /// `VaultConfig::augment_args` gave the settings' flags (beside the app's own flags and
    /// subcommands).
    #[cfg(feature = "clap")]
    pub fn arg_matches(mut self, matches: &clap::ArgMatches) -> Self {
        self.flags = Some(crate::flags::from_matches(matches, T::schema()));
        self
    }

    /// Also reads this config file (TOML, YAML or JSON by its extension; `{profile}` allowed),
    /// after the struct's `files`: a later file wins. A missing file is skipped.
    pub fn file(self, path: impl Into<String>) -> Self {
        self.add_file(FileSource::Path(FileSpec::parse(&path.into())))
    }

    /// Like [`file`](Self::file), and a missing file is a problem of the load.
    pub fn required_file(self, path: impl Into<String>) -> Self {
        let mut spec = FileSpec::parse(&path.into());
        spec.required = true;
        self.add_file(FileSource::Path(spec))
    }

    /// Also reads this figment chain as a config file, after the struct's `files` (a
    /// `Rocket.toml` chain, say). Its own profile selection applies; its keys that match no
    /// field are left alone.
    ///
    /// ```
    /// # use vault_config_core::VaultConfig;
    /// # fn demo<T: VaultConfig>() -> Result<T, vault_config_core::Error> {
    /// use figment::providers::{Format, Toml};
    /// T::loader().figment(figment::Figment::from(Toml::file("Rocket.toml"))).load()
    /// # }
    /// ```
    pub fn figment(self, figment: figment::Figment) -> Self {
        self.add_file(FileSource::Chain(crate::formats::Chain::new(figment)))
    }

    /// Reads this `.env` file instead of the struct's `dotenv`: its variables answer under
    /// the environment's, named like env vars. The process environment is never changed.
    pub fn dotenv(mut self, path: impl Into<String>) -> Self {
        self.dotenv = Some(Some(path.into()));
        self
    }

    /// Reads no config file and no `.env` file, whatever the struct names (for tests: files
    /// chosen afterwards with [`file`](Self::file) or [`dotenv`](Self::dotenv) still count).
    pub fn no_files(mut self) -> Self {
        self.files = Some(Vec::new());
        self.dotenv = Some(None);
        self
    }

    fn add_file(mut self, source: FileSource) -> Self {
        self.files
            .get_or_insert_with(struct_files::<T>)
            .push(source);
        self
    }

    /// Selects the profile that replaces `{profile}` in Vault paths (over `{PREFIX}PROFILE`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// What to do when Vault fails for a path a field needs: [`Fallback::Never`] unless the
    /// environment says otherwise (`VAULT_FALLBACK`); this call wins over the environment.
    pub fn fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Loads and validates, from synchronous code, inside or outside an async runtime.
    ///
    /// A load that logged in gives its token back (and any lease a failed load read) after it
    /// returns, on the library's runtime; a process that exits right after waits for that at
    /// exit (see `vault_config::vault::blocking::wait_for_give_backs`).
    pub fn load(self) -> Result<T, Error> {
        self.run_blocking(Use::Load, crate::build::settings::<T>, Result::is_ok)
    }

    /// Loads and validates from async code.
    pub async fn load_async(self) -> Result<T, Error> {
        self.run(Use::Load, crate::build::settings::<T>, Result::is_ok)
            .await
    }

    /// Where every field's value comes from, and what the load would report.
    ///
    /// Unlike `load`, this asks Vault for every field's path, including those env fills, so
    /// that the table can show what env overrode.
    pub fn explain(self) -> Explanation {
        self.run_blocking(Use::Explain, crate::explain::finish::<T>, |_| false)
    }

    /// [`explain`](Self::explain) from async code.
    pub async fn explain_async(self) -> Explanation {
        self.run(Use::Explain, crate::explain::finish::<T>, |_| false)
            .await
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
        self.run_blocking(Use::Load, crate::snapshot::finish::<T>, Result::is_ok)
    }

    /// [`snapshot`](Self::snapshot) from async code.
    pub async fn snapshot_async(self) -> Result<Snapshot, Error> {
        self.run(Use::Load, crate::snapshot::finish::<T>, Result::is_ok)
            .await
    }

    /// Loads without starting anything and checks that every Vault path the struct reads is
    /// readable: the report for CI and init containers.
    pub fn check(self) -> CheckReport {
        self.explain().into()
    }

    /// [`check`](Self::check) from async code.
    pub async fn check_async(self) -> CheckReport {
        self.explain_async().await.into()
    }

    /// Plans the load, reads the Vault paths it needs from synchronous code through the one
    /// blocking bridge ([`Hooks::block_on`]), then `finish`es; a source made for this load
    /// alone is then given back (see [`give_back_once`]), keeping the leases of a result
    /// that `keeps` them. `explain` asks Vault for every field, to show what env overrode.
    fn run_blocking<R>(&self, to: Use, finish: fn(Resolved<'_>) -> R, keeps: fn(&R) -> bool) -> R {
        let prepared = self.prepare();
        let plan = self.plan(&prepared, to == Use::Explain);
        let bridge = |work: BoxFuture<'static, ()>| (self.hooks.block_on)(work);
        let results = prepared.source.as_ref().map(|source| {
            // Nothing to read (env filled every Vault-backed field): nothing to bridge.
            if plan.paths.is_empty() {
                return Vec::new();
            }
            let (source, paths) = (Arc::clone(source), plan.paths.clone());
            let (tx, rx) = std::sync::mpsc::channel();
            let batch = Box::pin(async move {
                let _ = tx.send(source.fetch(&paths).await);
            });
            let ran = bridge(batch).and_then(|()| {
                rx.try_recv()
                    .map_err(|_| "the batch ended without an answer".to_owned())
            });
            ran.unwrap_or_else(|why| {
                let failed = SourceError::unavailable(why);
                plan.paths.iter().map(|_| Err(failed.clone())).collect()
            })
        });
        let done = finish(Resolved::new(plan, results.as_deref(), prepared.fallback));
        if let (Some(source), true) = (prepared.source, self.one_shot()) {
            let work = give_back_once(source, results.as_deref().unwrap_or_default(), keeps(&done));
            if let Some(work) = self.hand_over(to, work) {
                let _ = bridge(work);
            }
        }
        done
    }

    /// [`run_blocking`](Self::run_blocking) from async code, on the caller's runtime.
    async fn run<R>(&self, to: Use, finish: fn(Resolved<'_>) -> R, keeps: fn(&R) -> bool) -> R {
        let prepared = self.prepare();
        let plan = self.plan(&prepared, to == Use::Explain);
        let results = match &prepared.source {
            Some(source) if !plan.paths.is_empty() => Some(source.fetch(&plan.paths).await),
            Some(_) => Some(Vec::new()),
            None => None,
        };
        let done = finish(Resolved::new(plan, results.as_deref(), prepared.fallback));
        if let (Some(source), true) = (prepared.source, self.one_shot()) {
            let work = give_back_once(source, results.as_deref().unwrap_or_default(), keeps(&done));
            if let Some(work) = self.hand_over(to, work) {
                work.await;
            }
        }
        done
    }

    /// The give-back of a one-shot load, off its critical path where a hook takes it (a load;
    /// `explain` and `check`, which the CLI and init containers run right before exiting, wait
    /// for theirs); the work back when the caller must wait for it.
    fn hand_over(&self, to: Use, work: BoxFuture<'static, ()>) -> Option<BoxFuture<'static, ()>> {
        match (to, self.hooks.give_back) {
            (Use::Load, Some(give_back)) => give_back(work),
            _ => Some(work),
        }
    }

    /// Whether this load builds its own source from the environment, used once: its login
    /// token is revoked when the load is done. A source given to the loader (`.vault(..)`)
    /// or pinned for live settings is left open.
    fn one_shot(&self) -> bool {
        matches!(self.source, SourceChoice::FromEnv)
    }

    /// The setup hook's reading of `env`, the Vault settings read under the app's own names
    /// too (`vault(env(..))`); `with_source` builds the client.
    fn setup_of(&self, env: &EnvSnapshot, with_source: bool) -> crate::setup::VaultSetup {
        self.hooks
            .setup
            .map(|setup| setup(&env.with_aliases(&T::schema().vault_env), with_source))
            .unwrap_or_default()
    }

    /// The env snapshot, then the setup hook's source, switches and injected files.
    fn prepare(&self) -> Prepared {
        let env = self.env.clone().unwrap_or_else(EnvSnapshot::from_process);
        let (env, dotenv, dotenv_problem) = self.with_dotenv(env);
        let setup = self.setup_of(&env, self.one_shot());
        let source = match &self.source {
            SourceChoice::FromEnv => setup.source,
            SourceChoice::Given(source) => Some(Arc::clone(source)),
            SourceChoice::Disabled => None,
        };
        let mounts = crate::mounts::read(T::schema(), &env);
        Prepared {
            env: env.with_files(setup.files),
            dotenv,
            source,
            fallback: self.fallback.or(setup.fallback).unwrap_or_default(),
            overrides: setup.overrides,
            problems: dotenv_problem
                .into_iter()
                .chain(mounts.problems.iter().cloned())
                .chain(setup.problems)
                .chain(self.pinned_problems.iter().cloned())
                .chain(self.flags.iter().flat_map(|f| f.problems.iter().cloned()))
                .collect(),
            mounts,
        }
    }

    /// The config files this load reads: the struct's, or what code chose.
    fn file_sources(&self) -> Vec<FileSource> {
        self.files.clone().unwrap_or_else(struct_files::<T>)
    }

    /// `env` with the `.env` file's variables under it (read anew by every load, so live
    /// settings see it change), what reading it found, and the problem if it failed.
    fn with_dotenv(
        &self,
        env: EnvSnapshot,
    ) -> (
        EnvSnapshot,
        Option<crate::files::FileCheck>,
        Option<Problem>,
    ) {
        let path = match &self.dotenv {
            Some(chosen) => chosen.clone(),
            None => T::schema().dotenv.clone(),
        };
        let Some(path) = path else {
            return (env, None, None);
        };
        let (env, status, problem) = match crate::files::read_dotenv(&path, &env) {
            Ok(Some(vars)) => (env.with_dotenv(&path, vars), FileStatus::Read, None),
            Ok(None) => (env, FileStatus::Missing, None),
            Err(why) => (
                env,
                FileStatus::Failed,
                Some(Problem::new(ProblemKind::File, format!("{path} {why}"))),
            ),
        };
        let check = crate::files::FileCheck { file: path, status };
        (env, Some(check), problem)
    }

    fn plan<'p>(&'p self, prepared: &'p Prepared, explain: bool) -> Plan<'p> {
        let mut plan = Plan::new(
            T::schema(),
            &prepared.env,
            self.profile.as_deref(),
            &prepared.overrides,
            &self.pins,
            crate::plan::Locals {
                mounts: &prepared.mounts,
                flags: self.flags.as_ref(),
                files: self.file_sources(),
            },
            explain,
        );
        let local = prepared.dotenv.iter().chain(&prepared.mounts.checks);
        for (i, check) in local.enumerate() {
            plan.files.checks.insert(i, check.clone());
        }
        plan.problems.extend(prepared.problems.iter().cloned());
        plan
    }
}

/// Plumbing for live settings and the facade, reached through `__private`, not API.
impl<T: VaultConfig> Loader<T> {
    /// Installs the hooks of the layer above (the Vault client's reading of `VAULT_*` and its
    /// blocking bridge); [`vault`](Self::vault) and [`no_vault`](Self::no_vault) still choose
    /// the source.
    pub(crate) fn with_hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Fixes the environment and the Vault source now, so that every later load of this
    /// loader (and of its clones) uses the same snapshot and the same client — one login,
    /// one token to renew. Returns the source, if any. Live settings call this once.
    pub(crate) fn pin_source(&mut self) -> Option<Arc<dyn SecretSource>> {
        let env = self.env.take().unwrap_or_else(EnvSnapshot::from_process);
        if matches!(self.source, SourceChoice::FromEnv) {
            // The client is built once, from the env and the `.env` file as they are now.
            let (with_dotenv, _, _) = self.with_dotenv(env.clone());
            let setup = self.setup_of(&with_dotenv, true);
            self.source = match setup.source {
                Some(source) => SourceChoice::Given(source),
                None => SourceChoice::Disabled,
            };
            // Later loads build no client, so they would not see why it failed.
            let again = self.setup_of(&with_dotenv, false).problems;
            self.pinned_problems = setup
                .problems
                .into_iter()
                .filter(|p| !again.contains(p))
                .collect();
        }
        self.env = Some(env);
        match &self.source {
            SourceChoice::Given(source) => Some(Arc::clone(source)),
            SourceChoice::FromEnv | SourceChoice::Disabled => None,
        }
    }

    /// The env snapshot this loader is pinned to (after [`pin_source`](Self::pin_source)).
    pub(crate) fn pinned_env(&self) -> Option<&EnvSnapshot> {
        self.env.as_ref()
    }

    /// Keeps these first-load values of `static` fields on every later load.
    pub(crate) fn pin_static(&mut self, pins: Pins) {
        self.pins = pins;
    }

    /// The secrets dirs a load reads now, for live settings to watch.
    pub(crate) fn secrets_dirs(&self) -> Vec<std::path::PathBuf> {
        let env = self.env.clone().unwrap_or_else(EnvSnapshot::from_process);
        let (env, _, _) = self.with_dotenv(env);
        crate::mounts::dirs(T::schema(), &env)
            .0
            .into_iter()
            .map(std::path::PathBuf::from)
            .collect()
    }

    /// The config files and the `.env` file a load reads now (`{profile}` replaced), for live
    /// settings to watch.
    pub(crate) fn local_files(&self) -> Vec<std::path::PathBuf> {
        let env = self.env.clone().unwrap_or_else(EnvSnapshot::from_process);
        let (env, dotenv, _) = self.with_dotenv(env);
        let profile =
            crate::profile::choose(self.profile.as_deref(), &env, &T::schema().profile_env)
                .unwrap_or_else(|_| crate::schema::DEFAULT_PROFILE.to_owned());
        dotenv
            .map(|check| check.file)
            .into_iter()
            .chain(
                self.file_sources()
                    .into_iter()
                    .filter_map(|source| match source {
                        FileSource::Path(spec) => {
                            Some(crate::profile::substitute(&spec.path, &profile))
                        }
                        FileSource::Chain(_) => None,
                    }),
            )
            .map(std::path::PathBuf::from)
            .collect()
    }

    /// Loads and validates like [`load`](Self::load) from async code, and returns what a later
    /// load compares against: per-field fingerprints and the values of `static` fields.
    pub(crate) async fn load_tracked(&self) -> Result<Tracked<T>, Error> {
        self.run(Use::Load, crate::tracked::finish::<T>, |_| true)
            .await
    }
}

/// The struct's own `files = [..]`.
fn struct_files<T: VaultConfig>() -> Vec<FileSource> {
    T::schema()
        .files
        .iter()
        .cloned()
        .map(FileSource::Path)
        .collect()
}

/// What a load is for: settings (`load`, `snapshot`), or a look at every layer (`explain`,
/// `check`), which reads every path and waits for its give-back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Load,
    Explain,
}

/// The end of a load whose source was made for it alone. When its settings hold leased
/// credentials (`keep`: the load succeeded), the token that owns them is kept so that they
/// stay valid until their TTL (a replaced token that owns none of them is revoked). Otherwise
/// (a failed load, `explain`, `check`) every lease it read is revoked, then its tokens: a
/// crash-looping pod or an init container leaves nothing behind. Only the lease ids are kept
/// from `results`, so the work can outlive the load.
fn give_back_once(
    source: Arc<dyn SecretSource>,
    results: &[FetchResult],
    keep: bool,
) -> BoxFuture<'static, ()> {
    let leases: Vec<(zeroize::Zeroizing<String>, Option<u64>)> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .filter_map(|d| {
            d.lease_id()
                .map(|id| (zeroize::Zeroizing::new(id.to_owned()), d.owner()))
        })
        .collect();
    Box::pin(async move { give_back(&*source, &leases, keep).await })
}

async fn give_back(
    source: &dyn SecretSource,
    leases: &[(zeroize::Zeroizing<String>, Option<u64>)],
    keep: bool,
) {
    if keep && !leases.is_empty() {
        let owners: Vec<u64> = leases.iter().filter_map(|(_, owner)| *owner).collect();
        source.release_tokens(&owners).await;
        tracing::info!(
            "vault-config: leased credentials were read; the login token is kept so that they stay valid until their TTL"
        );
        return;
    }
    let revoked =
        futures_util::future::join_all(leases.iter().map(|(id, _)| source.revoke_lease(id))).await;
    for (result, (id, _)) in revoked.iter().zip(leases) {
        if let Err(err) = result {
            tracing::info!(lease = %crate::short_lease_id(id), error = %err, "vault-config: could not revoke a lease this load read; it ends with the login token");
        }
    }
    source.close().await;
}
