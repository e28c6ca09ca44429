//! The live task: one loop that drives everything with a lifetime — the login token (through
//! the source's `maintain`), each lease (through the [`Keeper`](super::leases::Keeper)) and
//! the refresh — from one clock, in one order per wake-up:
//!
//! 1. keep the token alive (renew, or log in again), then learn which token is current;
//! 2. renew the leases due, revoke the retired ones whose time came, then release (revoke)
//!    replaced tokens that no lease needs any more;
//! 3. refresh when the interval is up, a watched file changed, or a lease must be rotated
//!    (its max TTL nears, renewal was refused, or its owner token was replaced): the refresh
//!    alone reads new credentials, and they are committed only once published;
//! 4. report health.
//!
//! Shutdown gives every lease back, then the tokens, in parallel under one deadline.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};
use vault_config_core::__private::live::{self as plumbing, Fingerprints, Tracked};
use vault_config_core::{Error as LoadError, Loader, SourceStatus, VaultConfig, VaultPath};

use super::cache::CachingSource;
use super::files::FileWatch;
use super::{Change, LiveHealth, Shared, unix_now};
use crate::schedule::{bounded, next_refresh};

/// How long shutdown may take to give leases and tokens back, all of them together: a
/// stalled Vault does not hold a service's exit for longer.
pub(super) const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// The state of one live task between wake-ups.
struct Engine<T> {
    loader: Loader<T>,
    source: Option<Arc<CachingSource>>,
    shared: Arc<Shared<T>>,
    interval: Duration,
    settings: &'static str,
    fingerprints: Fingerprints,
    leased: Vec<(String, VaultPath)>,
    version: u64,
    next_refresh: Instant,
    next_maintain: Instant,
}

/// The background task: first load, then keep everything alive until stopped, then give it
/// back.
pub(super) async fn run<T: VaultConfig + Send + Sync>(
    mut loader: Loader<T>,
    source: Option<Arc<CachingSource>>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    started: impl FnOnce(Result<Arc<Shared<T>>, LoadError>),
) {
    crate::metrics::describe();
    // Watched before the first load, so that no change after it is missed.
    let files = FileWatch::start(
        plumbing::local_files(&loader),
        plumbing::secrets_dirs(&loader),
    );
    let first = match plumbing::load_tracked(&loader).await {
        Ok(first) => first,
        Err(err) => {
            // Nothing is published: what the load read is given back.
            if let Some(source) = &source {
                give_back(source).await;
            }
            started(Err(err));
            return;
        }
    };
    plumbing::pin_static(&mut loader, first.pins.clone());
    let mut engine = Engine::new(loader, source, interval, first);
    if let Some(source) = &engine.source {
        // Published: the first load's leases are the ones in use.
        source.keeper().settle(Some(&engine.leased), Instant::now());
    }
    engine.report().await;
    started(Ok(Arc::clone(&engine.shared)));
    loop {
        let wake = engine.next_wake();
        let file_changed = tokio::select! {
            _ = tokio::time::sleep_until(wake) => false,
            _ = files.changed() => true,
            _ = stop.wait_for(|s| *s) => break,
        };
        if file_changed {
            files.settle().await;
            engine.next_refresh = Instant::now();
        }
        engine.tick().await;
    }
    if let Some(source) = &engine.source {
        give_back(source).await;
    }
}

impl<T: VaultConfig + Send + Sync> Engine<T> {
    fn new(
        loader: Loader<T>,
        source: Option<Arc<CachingSource>>,
        interval: Duration,
        first: Tracked<T>,
    ) -> Self {
        let (changes, _) = watch::channel(Change::default());
        let shared = Arc::new(Shared {
            current: ArcSwap::from_pointee(first.value),
            changes,
            health: std::sync::Mutex::new(LiveHealth {
                vault_enabled: source.is_some(),
                last_refresh: Some(unix_now()),
                ..LiveHealth::default()
            }),
            health_as_of: std::sync::Mutex::new(Instant::now()),
        });
        let settings = T::schema().type_name;
        metrics::gauge!(crate::metrics::LAST_REFRESH, "settings" => settings)
            .set(unix_now() as f64);
        let now = Instant::now();
        Engine {
            next_refresh: now
                + next_refresh(
                    interval,
                    source.as_deref().and_then(CachingSource::shortest_lease),
                ),
            next_maintain: now,
            loader,
            source,
            shared,
            interval,
            settings,
            fingerprints: first.fingerprints,
            leased: first.leased,
            version: 0,
        }
    }

    /// The next time something is due: a refresh, the token's maintenance, a lease's step.
    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        let mut wake = self.next_refresh;
        if let Some(source) = &self.source {
            wake = wake.min(self.next_maintain);
            if let Some(lease) = source.keeper().next_wake(now) {
                wake = wake.min(lease);
            }
        }
        wake
    }

    /// One wake-up: token, leases, refresh, tokens released, health.
    async fn tick(&mut self) {
        let now = Instant::now();
        if let Some(source) = self.source.clone() {
            if now >= self.next_maintain {
                let again = source.inner.maintain().await;
                self.next_maintain = now + bounded(again.unwrap_or(self.interval));
            }
            self.observe(&source).await;
            maintain_leases(&source).await;
            release_tokens(&source).await;
            if source.keeper().rotation_due(Instant::now()) {
                self.next_refresh = now;
            }
        }
        if now >= self.next_refresh {
            self.refresh().await;
        }
        self.report().await;
    }

    /// Tells the keeper which token is current (a new login makes the leases of the old one
    /// due); the status, for health.
    async fn observe(&self, source: &CachingSource) -> SourceStatus {
        let status = source.inner.status().await;
        source.keeper().observe_tokens(&status, Instant::now());
        status
    }

    /// Re-reads every layer; publishes the settings when they changed and are valid, and only
    /// then commits the leases the refresh read. A rejected refresh keeps the last good
    /// settings and revokes what it read.
    async fn refresh(&mut self) {
        let settings = self.settings;
        let published = match plumbing::load_tracked(&self.loader).await {
            Ok(tracked) => {
                self.publish(tracked);
                true
            }
            Err(err) => {
                // The whole report to the log; one line to health.
                tracing::warn!(problems = err.problems().len(), error = %err, "vault-config: refresh failed; keeping the last good settings");
                metrics::counter!(crate::metrics::REFRESHES, "settings" => settings, "outcome" => "failed")
                    .increment(1);
                let mut h = self.shared.health.lock().unwrap_or_else(|e| e.into_inner());
                h.failed_refreshes += 1;
                h.last_error = Some(err.summary());
                false
            }
        };
        if let Some(source) = &self.source {
            source
                .keeper()
                .settle(published.then_some(&self.leased[..]), Instant::now());
        }
        self.next_refresh = Instant::now()
            + next_refresh(
                self.interval,
                self.source
                    .as_deref()
                    .and_then(CachingSource::shortest_lease),
            );
    }

    /// A valid refresh: the changed fields are swapped in whole and announced.
    fn publish(&mut self, tracked: Tracked<T>) {
        let settings = self.settings;
        let changed = self.fingerprints.changed(&tracked.fingerprints);
        self.fingerprints = tracked.fingerprints;
        for (field, _) in &tracked.leased {
            if changed.contains(field) {
                metrics::counter!(crate::metrics::LEASE_ROTATIONS, "settings" => settings, "field" => field.clone())
                    .increment(1);
            }
        }
        self.leased = tracked.leased;
        let new_static = {
            let mut h = self.shared.health.lock().unwrap_or_else(|e| e.into_inner());
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
            metrics::counter!(crate::metrics::STATIC_CHANGES, "settings" => settings).increment(1);
            tracing::warn!(fields = ?tracked.static_changes, "vault-config: static fields changed in their source; restart to apply");
        }
        if !changed.is_empty() || (new_static && !tracked.static_changes.is_empty()) {
            if !changed.is_empty() {
                self.shared.current.store(Arc::new(tracked.value));
            }
            self.version += 1;
            tracing::info!(fields = ?changed, "vault-config: settings refreshed");
            self.shared.changes.send_replace(Change {
                version: self.version,
                fields: changed,
                static_fields: tracked.static_changes,
            });
        }
    }

    /// At the end of a wake-up: health and the gauges are brought up to date.
    async fn report(&mut self) {
        let settings = self.settings;
        let status = match self.source.clone() {
            Some(source) => self.observe(&source).await,
            None => SourceStatus::default(),
        };
        let connected = self.source.is_some() && status.connected;
        metrics::gauge!(crate::metrics::CONNECTED, "settings" => settings)
            .set(f64::from(u8::from(connected)));
        if let Some(ttl) = status.token_ttl_remaining {
            metrics::gauge!(crate::metrics::TOKEN_TTL, "settings" => settings).set(ttl as f64);
        }
        let leases = self.source.as_ref().map_or_else(Vec::new, |s| {
            s.keeper().health(&self.leased, Instant::now())
        });
        for lease in &leases {
            if let Some(ttl) = lease.ttl_remaining {
                metrics::gauge!(crate::metrics::LEASE_TTL, "settings" => settings, "field" => lease.field.clone())
                    .set(ttl as f64);
            }
            if let Some(end) = lease.not_after {
                metrics::gauge!(crate::metrics::CERTIFICATE_EXPIRY, "settings" => settings, "field" => lease.field.clone())
                    .set(end as f64);
            }
        }
        let mut h = self.shared.health.lock().unwrap_or_else(|e| e.into_inner());
        h.vault_connected = connected;
        h.token_ttl_remaining = status.token_ttl_remaining;
        h.leases = leases;
        *self
            .shared
            .health_as_of
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

/// Renews the leases due and revokes the retired ones whose time came, all in parallel; the
/// keeper is locked only between requests.
async fn maintain_leases(source: &CachingSource) {
    let now = Instant::now();
    let (renewals, retired) = {
        let mut keeper = source.keeper();
        (keeper.renewals_due(now), keeper.retired_due(now))
    };
    let renew =
        futures_util::future::join_all(renewals.into_iter().map(|(path, id, asked)| async move {
            let result = source.inner.renew_lease(&id, asked).await;
            (path, id, asked, result)
        }));
    let revoke =
        futures_util::future::join_all(retired.iter().map(|id| source.inner.revoke_lease(id)));
    let (renewed, revoked) = futures_util::future::join(renew, revoke).await;
    let now = Instant::now();
    {
        let mut keeper = source.keeper();
        for (path, id, asked, result) in renewed {
            let outcome = if result.is_ok() { "ok" } else { "failed" };
            metrics::counter!(crate::metrics::LEASE_RENEWALS, "outcome" => outcome).increment(1);
            keeper.renewal(&path, &id, asked, result, now, fastrand::f64());
        }
    }
    for (id, result) in retired.iter().zip(revoked) {
        let lease = vault_config_core::short_lease_id(id);
        match result {
            Ok(()) => tracing::debug!(lease = %lease, "vault-config: a replaced lease was revoked"),
            // It ends at its TTL, or with the token that owns it.
            Err(err) => {
                tracing::info!(lease = %lease, error = %err, "vault-config: a replaced lease could not be revoked; it ends at its TTL or with its token")
            }
        }
    }
}

/// Releases (revokes) the replaced login tokens that no lease needs any more: after a new
/// login, once the leases they created are replaced and revoked.
async fn release_tokens(source: &CachingSource) {
    let release = {
        let keeper = source.keeper();
        keeper.tokens_to_release().then(|| keeper.owners_in_use())
    };
    if let Some(in_use) = release {
        source.inner.release_tokens(&in_use).await;
        let status = source.inner.status().await;
        source.keeper().observe_tokens(&status, Instant::now());
    }
}

/// Gives every lease back (held, pending or retired), then the tokens (which takes any lease
/// left with them), in parallel and all within [`SHUTDOWN_DEADLINE`].
pub(super) async fn give_back(source: &CachingSource) {
    let deadline = Instant::now() + SHUTDOWN_DEADLINE;
    let ids = source.keeper().take_all();
    let work = async {
        let results =
            futures_util::future::join_all(ids.iter().map(|id| source.inner.revoke_lease(id)))
                .await;
        let revoked = results.iter().filter(|r| r.is_ok()).count();
        if !ids.is_empty() {
            tracing::info!(
                revoked,
                not_revoked = ids.len() - revoked,
                "vault-config: leases given back"
            );
        }
        source.inner.close().await;
    };
    if timeout_at(deadline, work).await.is_err() {
        tracing::warn!(
            deadline_s = SHUTDOWN_DEADLINE.as_secs(),
            "vault-config: giving leases and tokens back did not finish in time; they end at their TTL"
        );
    }
}
