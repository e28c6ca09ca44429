//! Live settings for long-running services: the latest validated settings behind a lock-free
//! `current()`, refreshed in the background (re-reading only KV v2 paths whose version moved),
//! token renewal, leased credentials renewed and rotated before they expire, last-known-good
//! on any failure, change notifications naming fields (never values), `static` fields kept,
//! and a health report.
//!
//! The parts: this module is the handle users hold; `engine` is the one task that drives
//! everything with a lifetime; `schedule` its pure timing rules; `leases` the state machine
//! of each leased path; `cache` what the task's loads read through; `files` the watch on
//! config files.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::watch;
use tracing::instrument::WithSubscriber;
use vault_config_core::__private::live as plumbing;
use vault_config_core::{Error as LoadError, Loader, Problem, VaultConfig};

mod cache;
mod engine;
mod files;
mod leases;

use cache::{CachingSource, Published};
pub use leases::{DEFAULT_LEASE_GRACE, LeaseHealth};

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
    /// When the TTLs in `health` were measured: [`Live::health`] counts them down from there.
    health_as_of: Mutex<tokio::time::Instant>,
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
        let shared = &self.handle.shared;
        let mut health = shared.health.lock().map(|h| h.clone()).unwrap_or_default();
        // The task measures TTLs when it wakes; what they are now is that, less the time since.
        let as_of = *shared
            .health_as_of
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let since = tokio::time::Instant::now()
            .saturating_duration_since(as_of)
            .as_secs();
        let count_down = |ttl: &mut Option<u64>| *ttl = ttl.map(|t| t.saturating_sub(since));
        count_down(&mut health.token_ttl_remaining);
        for lease in &mut health.leases {
            count_down(&mut lease.ttl_remaining);
        }
        let ended = *self.handle.done.borrow() || self.handle.done.has_changed().is_err();
        if ended && !*self.handle.stop.borrow() {
            health.vault_connected = false;
            health.last_error = Some(TASK_DIED.to_owned());
        }
        health
    }

    /// Where every field's value comes from now, asked with the live client (no new login),
    /// from synchronous code. Leased credentials are shown as published: `explain` never reads
    /// a leased path (only the background refresh does, which publishes what it reads). From
    /// async code, use [`explain_async`](Self::explain_async).
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
        // `explain` reads what is published; only the task's refreshes read new credentials.
        let mut pinned = loader.clone();
        if let Some(cache) = &cache {
            loader = loader.vault(Arc::clone(cache));
            pinned = pinned.vault(Published(Arc::clone(cache)));
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let task = async move {
            let ran = std::panic::AssertUnwindSafe(engine::run(
                loader, cache, interval, stop_rx, started,
            ))
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
/// [bounded](crate::schedule::bounded) whichever it is.
fn refresh_interval<T: VaultConfig>(
    chosen: Option<Duration>,
    loader: &Loader<T>,
) -> Result<Duration, LoadError> {
    chosen
        .map_or_else(|| configured_interval(loader), Ok)
        .map(crate::schedule::bounded)
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

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
