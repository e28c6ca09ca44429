//! Live settings for long-running services: the latest validated settings behind a lock-free
//! `current()`, refreshed in the background (re-reading only KV v2 paths whose version moved),
//! token renewal, leased credentials renewed and rotated before they expire, last-known-good
//! on any failure, change notifications naming fields (never values), `static` fields kept,
//! and a health report.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::watch;
use tracing::instrument::WithSubscriber;
use vault_config_core::__private::live::{self as plumbing, Fingerprints};
use vault_config_core::{
    BoxFuture, Error as LoadError, FetchResult, Loader, PathKind, Problem, SecretData,
    SecretSource, SourceStatus, VaultConfig, VaultPath,
};

use crate::lease_keeper::{self, Keeper};
pub use crate::lease_keeper::{DEFAULT_LEASE_GRACE, LeaseHealth};

/// The refresh interval when neither the builder, `VAULT_REFRESH_INTERVAL` nor
/// `#[config(refresh = "..")]` sets one: 5 minutes, Vault Agent's default for static secrets.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);

/// What a refresh changed: field names only, never values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// Counts applied changes, starting at 0 for the first load.
    pub version: u64,
    /// Fields whose value changed in this refresh.
    pub fields: Vec<String>,
    /// `static` fields whose source now holds another value, kept until a restart.
    pub static_fields: Vec<String>,
}

/// The health of live settings, as JSON for a health endpoint (`vault_enabled`,
/// `vault_connected`, the last refresh and its error, the token's TTL).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LiveHealth {
    /// Whether a Vault source is configured.
    pub vault_enabled: bool,
    /// Whether the last contact with Vault worked and the token is valid.
    pub vault_connected: bool,
    /// Unix seconds of the last successful refresh (or of the first load).
    pub last_refresh: Option<u64>,
    /// Why the last refresh failed, in one line (the count and the first problem, see
    /// `Error::summary`; the whole report goes to the `tracing` warning); cleared by the next
    /// success.
    pub last_error: Option<String>,
    /// Seconds left on the token, when it expires.
    pub token_ttl_remaining: Option<u64>,
    /// Successful refreshes since start.
    pub refreshes: u64,
    /// Failed refreshes since start.
    pub failed_refreshes: u64,
    /// `static` fields changed in their source and not applied.
    pub static_changes: Vec<String>,
    /// Each field of leased credentials: its TTL left, its generation, a pending rotation.
    pub leases: Vec<LeaseHealth>,
}

impl LiveHealth {
    /// Whether a health endpoint should say "ready": Vault is not used, or the last contact
    /// with it worked, or the settings in use were refreshed at most `threshold` ago. The one
    /// rule for `/health` handlers: 503 once Vault has been away longer than the threshold,
    /// while a short outage (the settings stay last-known-good) does not take the service out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vault_config_vault::LiveHealth;
    /// let mut health = LiveHealth::default();
    /// health.vault_enabled = true;
    /// assert!(!health.healthy_within(Duration::from_secs(60)), "never refreshed, not connected");
    /// health.last_refresh = Some(std::time::SystemTime::now()
    ///     .duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    /// assert!(health.healthy_within(Duration::from_secs(60)));
    /// ```
    pub fn healthy_within(&self, threshold: Duration) -> bool {
        !self.vault_enabled
            || self.vault_connected
            || self
                .last_refresh
                .is_some_and(|at| unix_now().saturating_sub(at) <= threshold.as_secs())
    }
}

/// Settings that stay current while the service runs. Cheap to clone; the background task
/// stops when the last clone is dropped or on [`shutdown`](Live::shutdown).
///
/// Started from async code ([`LiveBuilder::start_async`], `watch_async()`), the task runs on
/// the caller's Tokio runtime; started from synchronous code, on a thread of its own. A task
/// on the caller's runtime ends with that runtime: shut the settings down first, or the login
/// token is not revoked.
pub struct Live<T> {
    handle: Arc<Handle<T>>,
}

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Live {
            handle: Arc::clone(&self.handle),
        }
    }
}

impl<T> fmt::Debug for Live<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("version", &self.handle.shared.changes.borrow().version)
            .field(
                "health",
                &*self
                    .handle
                    .shared
                    .health
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            )
            .finish_non_exhaustive()
    }
}

struct Handle<T> {
    shared: Arc<Shared<T>>,
    /// The loader pinned to the live client, for `explain`.
    loader: Loader<T>,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
    /// Whether the task runs on the caller's runtime (started from async code).
    on_caller_runtime: bool,
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        // Signal only: joining here could block inside an async context.
        let _ = self.stop.send(true);
    }
}

struct Shared<T> {
    current: ArcSwap<T>,
    changes: watch::Sender<Change>,
    health: Mutex<LiveHealth>,
}

/// A short-lived view of the latest settings, from [`Live::read`].
pub struct Current<T>(arc_swap::Guard<Arc<T>>);

impl<T> std::ops::Deref for Current<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Extends every settings struct with `watch()`: `use vault_config::LiveConfig;`.
pub trait LiveConfig: VaultConfig + Send + Sync {
    /// Loads (failing fast like `load()`), then keeps the settings current in the background.
    fn watch() -> Result<Live<Self>, LoadError> {
        Live::builder(Self::loader()).start()
    }

    /// [`watch`](Self::watch) from async code.
    fn watch_async() -> impl std::future::Future<Output = Result<Live<Self>, LoadError>> + Send {
        Live::builder(Self::loader()).start_async()
    }
}

impl<T: VaultConfig + Send + Sync> LiveConfig for T {}

/// Chooses how live settings refresh.
#[must_use = "a builder does nothing until `.start()`"]
pub struct LiveBuilder<T> {
    loader: Loader<T>,
    refresh: Option<Duration>,
    lease_grace: Option<Duration>,
}

impl<T: VaultConfig + Send + Sync> Live<T> {
    /// Live settings from `loader` (its env snapshot, Vault source and profile).
    pub fn builder(loader: Loader<T>) -> LiveBuilder<T> {
        LiveBuilder {
            loader,
            refresh: None,
            lease_grace: None,
        }
    }

    /// The latest validated settings: lock-free, never waits for I/O, never half-updated.
    pub fn current(&self) -> Arc<T> {
        self.handle.shared.current.load_full()
    }

    /// The latest settings without touching a reference count: the fastest read, for hot
    /// paths. Hold the guard briefly (a held guard keeps that version alive).
    pub fn read(&self) -> Current<T> {
        Current(self.handle.shared.current.load())
    }

    /// A receiver of change notifications (field names only).
    pub fn subscribe(&self) -> watch::Receiver<Change> {
        self.handle.shared.changes.subscribe()
    }

    /// Vault connectivity, the last refresh and its error, and the token's remaining TTL.
    ///
    /// A background task that ended without being stopped (it panicked, or the runtime it
    /// ran on shut down) shows here as disconnected with an error: the settings are no
    /// longer refreshed.
    pub fn health(&self) -> LiveHealth {
        let mut health = self
            .handle
            .shared
            .health
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        let ended = *self.handle.done.borrow() || self.handle.done.has_changed().is_err();
        if ended && !*self.handle.stop.borrow() {
            health.vault_connected = false;
            health.last_error = Some(TASK_DIED.to_owned());
        }
        health
    }

    /// Where every field's value comes from now, asked with the live client (no new login),
    /// from synchronous code. From async code, use [`explain_async`](Self::explain_async).
    pub fn explain(&self) -> vault_config_core::Explanation {
        self.handle.loader.clone().explain()
    }

    /// [`explain`](Self::explain) from async code.
    pub async fn explain_async(&self) -> vault_config_core::Explanation {
        self.handle.loader.clone().explain_async().await
    }

    /// Stops the background task and waits for it: a token obtained by login is revoked, a
    /// static token never is. From async code, use [`shutdown_async`](Self::shutdown_async):
    /// inside a current-thread runtime that also runs the task, this call cannot wait (the
    /// task needs the thread it would block), so it only signals the task, which then stops
    /// when the runtime next runs it.
    pub fn shutdown(self) {
        let _ = self.handle.stop.send(true);
        let mut done = self.handle.done.clone();
        let wait = move || {
            pollster::block_on(async move {
                let _ = done.wait_for(|d| *d).await;
            })
        };
        match tokio::runtime::Handle::try_current() {
            // Outside any runtime, or the task is on a thread of its own (or on vault-config's
            // runtime): waiting here holds up nothing the task needs.
            Err(_) => wait(),
            Ok(_) if !self.handle.on_caller_runtime && !crate::blocking::on_bridge() => wait(),
            Ok(rt) if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait);
            }
            Ok(_) => tracing::debug!(
                "vault-config: shutdown() inside a current-thread runtime signals the task without waiting; use shutdown_async() to wait"
            ),
        }
    }

    /// [`shutdown`](Self::shutdown) from async code.
    pub async fn shutdown_async(self) {
        let _ = self.handle.stop.send(true);
        let mut done = self.handle.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

impl<T: VaultConfig + Send + Sync> LiveBuilder<T> {
    /// Re-read the sources this often (over `VAULT_REFRESH_INTERVAL` and the struct's
    /// `refresh`).
    pub fn refresh_every(mut self, interval: Duration) -> Self {
        self.refresh = Some(interval);
        self
    }

    /// How long replaced leased credentials stay valid after the new ones are published,
    /// for work still using them (queries in flight on the old pool): then their lease is
    /// revoked. Default [`DEFAULT_LEASE_GRACE`]; never past the old lease's own expiry.
    pub fn lease_grace(mut self, grace: Duration) -> Self {
        self.lease_grace = Some(grace);
        self
    }

    /// Loads (failing fast), then starts the background task on a thread of its own (with a
    /// small runtime of its own); from synchronous code.
    ///
    /// A thread of its own, not vault-config's shared runtime: the refresh of one set of live
    /// settings (decoding a large or hostile answer, say) never delays another's timers. With
    /// every sync-started task on the shared runtime, the fault matrix's refresh phase (27
    /// live settings at once) missed its time budget in 4 of 6 runs (3 of 3 with one worker,
    /// 1 of 3 with two).
    pub fn start(self) -> Result<Live<T>, LoadError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (task, parts) = self.task(move |r| {
            let _ = tx.send(r);
        })?;
        // The task logs to the caller's subscriber, scoped (`set_default`) or global.
        let task = task.with_current_subscriber();
        std::thread::Builder::new()
            .name("vault-config-live".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(task),
                    // Dropping the task drops `started`: the caller sees the failure below.
                    Err(e) => tracing::error!(error = %e, "vault-config: could not start the live runtime"),
                }
            })
            .map_err(|e| internal::<T>(&format!("could not start the live thread: {e}")))?;
        let started = rx
            .recv()
            .unwrap_or_else(|_| Err(internal::<T>("the live task stopped before the first load")));
        finish(started, parts, false)
    }

    /// Loads (failing fast), then starts the background task on the caller's Tokio runtime
    /// (on vault-config's own when called outside Tokio); from async code.
    pub async fn start_async(self) -> Result<Live<T>, LoadError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (task, parts) = self.task(move |r| {
            let _ = tx.send(r);
        })?;
        let on_caller_runtime = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task.with_current_subscriber());
                true
            }
            Err(_) => {
                crate::blocking::spawn(task).map_err(|why| internal::<T>(&why))?;
                false
            }
        };
        let started = rx
            .await
            .unwrap_or_else(|_| Err(internal::<T>("the live task stopped before the first load")));
        finish(started, parts, on_caller_runtime)
    }

    /// The background task, ready to spawn: it reports the first load through `started`,
    /// and says it is done (also after a panic) through the done signal of the parts.
    fn task(
        self,
        started: impl FnOnce(Result<Arc<Shared<T>>, LoadError>) + Send + 'static,
    ) -> Result<
        (
            impl std::future::Future<Output = ()> + Send + 'static,
            Parts<T>,
        ),
        LoadError,
    > {
        let LiveBuilder {
            mut loader,
            refresh,
            lease_grace,
        } = self;
        let source = plumbing::pin_source(&mut loader);
        let interval = refresh_interval::<T>(refresh, &loader)?;
        let cache = source.map(|s| Arc::new(CachingSource::new(s, lease_grace)));
        if let Some(cache) = &cache {
            loader = loader.vault(Arc::clone(cache));
        }
        let pinned = loader.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let task = async move {
            let ran = std::panic::AssertUnwindSafe(run(loader, cache, interval, stop_rx, started))
                .catch_unwind()
                .await;
            if ran.is_err() {
                tracing::error!("vault-config: {TASK_DIED}");
            }
            let _ = done_tx.send(true);
        };
        Ok((task, (stop_tx, done_rx, pinned)))
    }
}

/// What health says of a background task that ended without being stopped.
const TASK_DIED: &str = "the live settings task stopped unexpectedly (it panicked, or its runtime shut down): settings are no longer refreshed";

/// What `start` keeps of `spawn`: the stop signal, the done signal, the pinned loader.
type Parts<T> = (watch::Sender<bool>, watch::Receiver<bool>, Loader<T>);

fn finish<T>(
    started: Result<Arc<Shared<T>>, LoadError>,
    (stop, done, loader): Parts<T>,
    on_caller_runtime: bool,
) -> Result<Live<T>, LoadError> {
    let shared = started?;
    Ok(Live {
        handle: Arc::new(Handle {
            shared,
            loader,
            stop,
            done,
            on_caller_runtime,
        }),
    })
}

fn internal<T: VaultConfig>(message: &str) -> LoadError {
    LoadError::from_problems(
        T::schema().type_name,
        "-",
        vec![Problem::config(None, message)],
    )
}

/// Builder, then `VAULT_REFRESH_INTERVAL`, then `#[config(refresh = "..")]`, then 5 minutes;
/// [bounded](crate::api::bounded) whichever it is.
fn refresh_interval<T: VaultConfig>(
    chosen: Option<Duration>,
    loader: &Loader<T>,
) -> Result<Duration, LoadError> {
    chosen
        .map_or_else(|| configured_interval(loader), Ok)
        .map(crate::api::bounded)
}

fn configured_interval<T: VaultConfig>(loader: &Loader<T>) -> Result<Duration, LoadError> {
    let from_env = plumbing::pinned_env(loader)
        .map(crate::env::refresh_interval)
        .transpose()
        .map_err(|e| LoadError::from_problems(T::schema().type_name, "-", vec![e.to_problem()]))?
        .flatten();
    Ok(from_env.unwrap_or_else(|| {
        T::schema()
            .refresh_ms
            .map_or(DEFAULT_REFRESH, Duration::from_millis)
    }))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The background task: first load, then maintain the token and refresh until stopped.
async fn run<T: VaultConfig + Send + Sync>(
    loader: Loader<T>,
    cache: Option<Arc<CachingSource>>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    started: impl FnOnce(Result<Arc<Shared<T>>, LoadError>),
) {
    let mut loader = loader;
    crate::metrics::describe();
    let settings = T::schema().type_name;
    // A change of a config file or the `.env` file triggers a refresh at once; watched before
    // the first load, so that no change after it is missed.
    let files_changed = Arc::new(tokio::sync::Notify::new());
    let _watcher = watch_files(plumbing::local_files(&loader), Arc::clone(&files_changed));
    let first = match plumbing::load_tracked(&loader).await {
        Ok(first) => first,
        Err(err) => {
            started(Err(err));
            return;
        }
    };
    plumbing::pin_static(&mut loader, first.pins.clone());
    let mut fingerprints: Fingerprints = first.fingerprints;
    let mut leased_fields = first.leased;
    let (changes, _) = watch::channel(Change::default());
    let shared = Arc::new(Shared {
        current: ArcSwap::from_pointee(first.value),
        changes,
        health: Mutex::new(LiveHealth {
            vault_enabled: cache.is_some(),
            last_refresh: Some(unix_now()),
            ..LiveHealth::default()
        }),
    });
    update_status(&shared, cache.as_deref(), settings, &leased_fields).await;
    metrics::gauge!(crate::metrics::LAST_REFRESH, "settings" => settings).set(unix_now() as f64);
    started(Ok(Arc::clone(&shared)));

    let source = cache.as_deref();
    let mut next_refresh = tokio::time::Instant::now()
        + next_interval(interval, source.and_then(CachingSource::shortest_lease));
    let mut next_maintain = tokio::time::Instant::now();
    let mut version = 0;
    loop {
        let lease_wake = source.and_then(CachingSource::next_lease_wake);
        let wake = next_refresh
            .min(next_maintain)
            .min(lease_wake.unwrap_or(next_refresh));
        let file_changed = tokio::select! {
            _ = tokio::time::sleep_until(wake) => false,
            _ = files_changed.notified() => true,
            _ = stop.wait_for(|s| *s) => break,
        };
        if file_changed {
            // Editors write a file in several steps: let them finish, then read it once.
            tokio::time::sleep(FILE_SETTLE).await;
            next_refresh = tokio::time::Instant::now();
        }
        let now = tokio::time::Instant::now();
        if now >= next_maintain {
            let again = match source {
                Some(s) => s.maintain().await,
                None => None,
            };
            // Any source's answer, ours or a custom one, is bounded before it is scheduled.
            next_maintain = now + crate::api::bounded(again.unwrap_or(interval));
        }
        if let Some(s) = source {
            if lease_wake.is_some_and(|w| w <= now) {
                lease_keeper::maintain(&s.leases, &*s.inner).await;
            }
            // New credentials are read by a refresh, now.
            if s.rotation_due() {
                next_refresh = now;
            }
        }
        if now >= next_refresh {
            let refreshed = match plumbing::load_tracked(&loader).await {
                Ok(tracked) => {
                    let changed = fingerprints.changed(&tracked.fingerprints);
                    fingerprints = tracked.fingerprints;
                    for (field, _) in &tracked.leased {
                        if changed.contains(field) {
                            metrics::counter!(crate::metrics::LEASE_ROTATIONS, "settings" => settings, "field" => field.clone())
                                .increment(1);
                        }
                    }
                    leased_fields = tracked.leased;
                    let new_static = {
                        let mut h = shared.health.lock().unwrap_or_else(|e| e.into_inner());
                        h.refreshes += 1;
                        h.last_refresh = Some(unix_now());
                        h.last_error = None;
                        let new_static = h.static_changes != tracked.static_changes;
                        h.static_changes = tracked.static_changes.clone();
                        new_static
                    };
                    metrics::counter!(crate::metrics::REFRESHES, "settings" => settings, "outcome" => "ok")
                        .increment(1);
                    metrics::gauge!(crate::metrics::LAST_REFRESH, "settings" => settings)
                        .set(unix_now() as f64);
                    if !tracked.static_changes.is_empty() && new_static {
                        metrics::counter!(crate::metrics::STATIC_CHANGES, "settings" => settings)
                            .increment(1);
                        tracing::warn!(fields = ?tracked.static_changes, "vault-config: static fields changed in their source; restart to apply");
                    }
                    if !changed.is_empty() || (new_static && !tracked.static_changes.is_empty()) {
                        if !changed.is_empty() {
                            shared.current.store(Arc::new(tracked.value));
                        }
                        version += 1;
                        tracing::info!(fields = ?changed, "vault-config: settings refreshed");
                        shared.changes.send_replace(Change {
                            version,
                            fields: changed,
                            static_fields: tracked.static_changes,
                        });
                    }
                    true
                }
                Err(err) => {
                    // The whole report to the log; one line to health.
                    tracing::warn!(problems = err.problems().len(), error = %err, "vault-config: refresh failed; keeping the last good settings");
                    metrics::counter!(crate::metrics::REFRESHES, "settings" => settings, "outcome" => "failed")
                        .increment(1);
                    let mut h = shared.health.lock().unwrap_or_else(|e| e.into_inner());
                    h.failed_refreshes += 1;
                    h.last_error = Some(err.summary());
                    false
                }
            };
            if let Some(s) = source {
                s.keeper().settle(
                    refreshed.then_some(&leased_fields[..]),
                    tokio::time::Instant::now(),
                );
            }
            next_refresh =
                now + next_interval(interval, source.and_then(CachingSource::shortest_lease));
        }
        update_status(&shared, source, settings, &leased_fields).await;
    }
    if let Some(source) = source {
        source.close().await;
    }
}

/// How long a refresh waits after a watched file changed, for the writer to finish.
const FILE_SETTLE: Duration = Duration::from_millis(100);

/// Watches the directories of `files` (so that a file replaced by rename, as editors and
/// Kubernetes ConfigMaps do, is seen too) and wakes `changed` when one of them changes. `None`
/// when there is nothing to watch or the platform refuses: then files are re-read on the
/// refresh interval only.
fn watch_files(
    files: Vec<std::path::PathBuf>,
    changed: Arc<tokio::sync::Notify>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    if files.is_empty() {
        return None;
    }
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let watched: Vec<std::path::PathBuf> = files.iter().map(|f| absolute(f)).collect();
    let names = watched.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if event.paths.iter().any(|p| names.iter().any(|n| n == p)) {
                changed.notify_one();
            }
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "vault-config: config files are not watched"))
    .ok()?;
    let mut dirs: Vec<&std::path::Path> = watched.iter().filter_map(|f| f.parent()).collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
            tracing::debug!(dir = %dir.display(), error = %e, "vault-config: cannot watch a config file directory");
        }
    }
    Some(watcher)
}

/// Up to this share of each wait before a refresh is cut at random, so that instances started
/// together (a deployment, a fleet) spread their refreshes instead of asking the server at once.
/// A refresh never comes later than its interval.
const REFRESH_JITTER: f64 = 0.1;

/// The wait before the next refresh: the interval, or sooner when a cached secret's lease
/// (KV v1 `lease_duration`, clamped when decoded) runs out first (at 85 % of it, as Agent),
/// less a random share of up to [`REFRESH_JITTER`].
pub(crate) fn next_interval(interval: Duration, shortest_lease: Option<Duration>) -> Duration {
    jittered(interval, shortest_lease, fastrand::f64())
}

/// [`next_interval`] with the random draw (in `[0, 1]`) given.
fn jittered(interval: Duration, shortest_lease: Option<Duration>, draw: f64) -> Duration {
    let hint = shortest_lease.map(|l| l.mul_f64(0.85));
    let wait = crate::api::bounded(hint.map_or(interval, |h| h.min(interval)));
    let draw = if draw.is_nan() {
        0.0
    } else {
        draw.clamp(0.0, 1.0)
    };
    wait.mul_f64(1.0 - REFRESH_JITTER * draw)
        .max(Duration::from_millis(10))
}

async fn update_status<T>(
    shared: &Shared<T>,
    source: Option<&CachingSource>,
    settings: &'static str,
    leased_fields: &[(String, VaultPath)],
) {
    let status = match source {
        Some(s) => s.status().await,
        None => SourceStatus::default(),
    };
    let connected = source.is_some() && status.connected;
    metrics::gauge!(crate::metrics::CONNECTED, "settings" => settings)
        .set(f64::from(u8::from(connected)));
    if let Some(ttl) = status.token_ttl_remaining {
        metrics::gauge!(crate::metrics::TOKEN_TTL, "settings" => settings).set(ttl as f64);
    }
    let leases = source.map_or_else(Vec::new, |s| {
        s.leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .health(leased_fields, tokio::time::Instant::now())
    });
    for lease in &leases {
        if let Some(ttl) = lease.ttl_remaining {
            metrics::gauge!(crate::metrics::LEASE_TTL, "settings" => settings, "field" => lease.field.clone())
                .set(ttl as f64);
        }
    }
    let mut h = shared.health.lock().unwrap_or_else(|e| e.into_inner());
    h.vault_connected = connected;
    h.token_ttl_remaining = status.token_ttl_remaining;
    h.leases = leases;
}

/// A source that keeps the last data of each path and re-reads a path only when its version
/// moved (or is unknown, as for KV v1), and a leased path only when its credentials are due
/// for replacement.
struct CachingSource {
    inner: Arc<dyn SecretSource>,
    cache: Mutex<HashMap<VaultPath, SecretData>>,
    leases: Mutex<Keeper>,
}

impl CachingSource {
    fn new(inner: Arc<dyn SecretSource>, lease_grace: Option<Duration>) -> Self {
        CachingSource {
            inner,
            cache: Mutex::new(HashMap::new()),
            leases: Mutex::new(Keeper::new(lease_grace)),
        }
    }

    fn keeper(&self) -> std::sync::MutexGuard<'_, Keeper> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_lease_wake(&self) -> Option<tokio::time::Instant> {
        self.keeper().next_wake()
    }

    fn rotation_due(&self) -> bool {
        self.keeper().rotation_due(tokio::time::Instant::now())
    }

    /// The shortest KV v1 refresh hint (leased credentials keep their own schedule).
    fn shortest_lease(&self) -> Option<Duration> {
        self.cache
            .lock()
            .ok()?
            .iter()
            .filter(|(path, _)| path.kind != PathKind::Lease)
            .filter_map(|(_, data)| data.lease())
            .min()
    }

    async fn fetch_changed(&self, paths: &[VaultPath]) -> Vec<FetchResult> {
        let cached: Vec<Option<SecretData>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            paths.iter().map(|p| cache.get(p).cloned()).collect()
        };
        let versioned = cached
            .iter()
            .any(|c| c.as_ref().is_some_and(|d| d.version().is_some()));
        let current = if versioned {
            self.inner.versions(paths).await
        } else {
            vec![None; paths.len()]
        };
        let now = tokio::time::Instant::now();
        let stale: Vec<usize> = {
            let keeper = self.keeper();
            (0..paths.len())
                .filter(|&i| {
                    if paths[i].kind == PathKind::Lease {
                        return cached[i].is_none() || keeper.due(&paths[i], now);
                    }
                    let known = cached[i].as_ref().and_then(SecretData::version);
                    known.is_none() || current.get(i).copied().flatten() != known
                })
                .collect()
        };
        let to_read: Vec<VaultPath> = stale.iter().map(|&i| paths[i].clone()).collect();
        let fresh = if to_read.is_empty() {
            Vec::new()
        } else {
            self.inner.fetch(&to_read).await
        };
        let mut results: Vec<FetchResult> = cached
            .into_iter()
            .map(|c| c.ok_or_else(|| vault_config_core::SourceError::unavailable("not read")))
            .collect();
        let now = tokio::time::Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut keeper = self.keeper();
        for (i, result) in stale.into_iter().zip(fresh) {
            let path = &paths[i];
            match &result {
                Ok(data) => {
                    if path.kind == PathKind::Lease {
                        keeper.replaced(path, data, now);
                    }
                    cache.insert(path.clone(), data.clone());
                }
                Err(err) if path.kind == PathKind::Lease => {
                    keeper.rotation_failed(path, err.message(), now);
                }
                Err(_) => {}
            }
            results[i] = result;
        }
        results
    }
}

impl SecretSource for CachingSource {
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
        Box::pin(self.fetch_changed(paths))
    }

    fn maintain(&self) -> BoxFuture<'_, Option<Duration>> {
        self.inner.maintain()
    }

    fn versions<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<Option<u64>>> {
        self.inner.versions(paths)
    }

    fn status(&self) -> BoxFuture<'_, SourceStatus> {
        self.inner.status()
    }

    /// Gives the leases back, then the login token (which takes any lease left with it).
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let (revoked, kept) = lease_keeper::give_back(&self.leases, &*self.inner).await;
            if revoked + kept > 0 {
                tracing::info!(
                    revoked,
                    not_revoked = kept,
                    "vault-config: leases given back"
                );
            }
            self.inner.close().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_comes_within_the_jitter_before_its_interval_never_after() {
        let minute = Duration::from_secs(60);
        assert_eq!(jittered(minute, None, 0.0), minute);
        assert_eq!(jittered(minute, None, 1.0), Duration::from_secs(54));
        assert_eq!(jittered(minute, None, 0.5), Duration::from_secs(57));
        // A lease sooner than the interval: 85 % of it, then the jitter.
        let lease = Some(Duration::from_secs(20));
        assert_eq!(jittered(minute, lease, 0.0), Duration::from_secs(17));
        // Out-of-range draws and absurd intervals are clamped, never a panic.
        assert_eq!(jittered(minute, None, f64::NAN), minute);
        assert_eq!(jittered(minute, None, -3.0), minute);
        let forever = jittered(Duration::MAX, None, 0.0);
        assert_eq!(forever, crate::api::LONGEST_WAIT);
        assert_eq!(
            jittered(Duration::ZERO, None, 0.3),
            Duration::from_millis(10)
        );
        // Drawn at random, the waits spread over the whole window.
        let waits: Vec<Duration> = (0..1000).map(|_| next_interval(minute, None)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w <= minute && *w >= Duration::from_secs(54))
        );
        let early = waits
            .iter()
            .filter(|w| **w < Duration::from_secs(57))
            .count();
        assert!(
            (300..=700).contains(&early),
            "{early} of 1000 in the first half"
        );
    }
}
