//! What the loads of live settings read through: [`CachingSource`] re-reads a KV path only
//! when its version moved and a leased path only when the [`Keeper`] says its rotation is due;
//! [`Published`] answers `explain` from what is published, without reading a leased path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use vault_config_core::{
    BoxFuture, FetchResult, PathKind, Renewal, SecretData, SecretSource, SourceError,
    SourceErrorKind, SourceStatus, VaultPath,
};

use super::leases::Keeper;

/// A source that keeps the last data of each KV path and re-reads it only when its version
/// moved (or is unknown, as for KV v1); leased paths are the keeper's: read only when their
/// rotation is due, and answered with the published credentials otherwise.
pub(super) struct CachingSource {
    pub(super) inner: Arc<dyn SecretSource>,
    cache: Mutex<HashMap<VaultPath, SecretData>>,
    leases: Mutex<Keeper>,
}

impl CachingSource {
    pub(super) fn new(inner: Arc<dyn SecretSource>, lease_grace: Option<Duration>) -> Self {
        CachingSource {
            inner,
            cache: Mutex::new(HashMap::new()),
            leases: Mutex::new(Keeper::new(lease_grace)),
        }
    }

    /// The keeper, locked (never across a request).
    pub(super) fn keeper(&self) -> MutexGuard<'_, Keeper> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shortest KV v1 refresh hint (leased credentials keep their own schedule).
    pub(super) fn shortest_lease(&self) -> Option<Duration> {
        self.cache
            .lock()
            .ok()?
            .values()
            .filter_map(SecretData::lease)
            .min()
    }

    async fn fetch_changed(&self, paths: &[VaultPath]) -> Vec<FetchResult> {
        let now = Instant::now();
        let cached: Vec<Option<SecretData>> = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let keeper = self.keeper();
            paths
                .iter()
                .map(|p| match p.kind {
                    k if k.is_made() && keeper.due(p, now) => None,
                    k if k.is_made() => keeper.published(p),
                    _ => cache.get(p).cloned(),
                })
                .collect()
        };
        let versioned = cached
            .iter()
            .any(|c| c.as_ref().is_some_and(|d| d.version().is_some()));
        let current = if versioned {
            self.inner.versions(paths).await
        } else {
            vec![None; paths.len()]
        };
        let monotonic = self.inner.monotonic_reads();
        let stale: Vec<usize> = (0..paths.len())
            .filter(|&i| {
                // A source may answer fewer versions than paths: those are read.
                let reported = current.get(i).copied().flatten();
                needs_read(&paths[i], cached[i].as_ref(), reported, monotonic)
            })
            .collect();
        let to_read: Vec<VaultPath> = stale.iter().map(|&i| paths[i].clone()).collect();
        let fresh = if to_read.is_empty() {
            Vec::new()
        } else {
            self.inner.fetch(&to_read).await
        };
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut keeper = self.keeper();
        let not_read = || SourceError::unavailable("not read");
        let mut results: Vec<FetchResult> = cached
            .iter()
            .map(|c| c.clone().ok_or_else(not_read))
            .collect();
        for (i, result) in stale.into_iter().zip(fresh) {
            let path = &paths[i];
            if path.kind.is_made() {
                results[i] = keeper.answer(path, result, now, fastrand::f64());
                continue;
            }
            match (&result, path.kind) {
                (Ok(data), _) => {
                    let known = cached[i].as_ref().and_then(SecretData::version);
                    if !monotonic && older(data.version(), known) {
                        // A lagging standby's answer: keep what is published.
                        note_stale(path);
                        continue;
                    }
                    cache.insert(path.clone(), data.clone());
                }
                // Gone: whatever is written there next is new, whatever its version.
                (Err(err), _)
                    if matches!(
                        err.kind(),
                        SourceErrorKind::NotFound | SourceErrorKind::Deleted
                    ) =>
                {
                    cache.remove(path);
                }
                (Err(_), _) => {}
            }
            results[i] = result;
        }
        // The plaintexts of ciphertexts no longer in any file are not kept.
        cache.retain(|p, _| p.kind != PathKind::Decrypt || paths.contains(p));
        results
    }
}

/// Whether `path` is read again, given what is cached of it and the version the source
/// reports: a path never read, a KV path whose version moved; never a made path (the keeper
/// says when) nor a decrypt path (the same ciphertexts decrypt to the same plaintexts; a
/// changed ciphertext makes another path).
fn needs_read(
    path: &VaultPath,
    cached: Option<&SecretData>,
    reported: Option<u64>,
    monotonic: bool,
) -> bool {
    match (cached, path.kind) {
        (None, _) => true,
        (Some(_), PathKind::Decrypt) => false,
        (Some(_), k) if k.is_made() => false,
        (Some(data), _) => !unchanged(path, data.version(), reported, monotonic),
    }
}

/// Whether a cached KV path needs no read: its version is known and the source reports the
/// same one, or (from a source without [monotonic reads](SecretSource::monotonic_reads)) an
/// older one, which only a lagging standby reports. KV v1 (no version) is always read.
fn unchanged(path: &VaultPath, known: Option<u64>, current: Option<u64>, monotonic: bool) -> bool {
    if known.is_some() && current == known {
        return true;
    }
    let stale = !monotonic && older(current, known);
    if stale {
        note_stale(path);
    }
    stale
}

/// Whether `version` is older than `known` (both known).
fn older(version: Option<u64>, known: Option<u64>) -> bool {
    matches!((version, known), (Some(v), Some(k)) if v < k)
}

/// Counts and logs an answer older than what is published.
fn note_stale(path: &VaultPath) {
    tracing::debug!(path = %path, "vault: a server answered an older KV version; kept the published one");
    metrics::counter!(crate::metrics::STALE_READS).increment(1);
}

/// Forwards everything but `fetch` to the client it wraps.
#[deny(clippy::missing_trait_methods)]
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

    fn monotonic_reads(&self) -> bool {
        self.inner.monotonic_reads()
    }

    fn status(&self) -> BoxFuture<'_, SourceStatus> {
        self.inner.status()
    }

    fn renew_lease<'a>(
        &'a self,
        lease_id: &'a str,
        increment: Duration,
    ) -> BoxFuture<'a, Result<Renewal, SourceError>> {
        self.inner.renew_lease(lease_id, increment)
    }

    fn revoke_lease<'a>(&'a self, lease_id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        self.inner.revoke_lease(lease_id)
    }

    fn release_tokens<'a>(&'a self, in_use: &'a [u64]) -> BoxFuture<'a, ()> {
        self.inner.release_tokens(in_use)
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        self.inner.close()
    }
}

/// What `Live::explain` reads through: leased paths answer with the published credentials
/// (explain never reads new ones, which would start a rotation nobody publishes), other
/// paths are read from Vault as they are now. It keeps nothing alive and gives nothing back:
/// the engine does.
pub(super) struct Published(pub(super) Arc<CachingSource>);

impl SecretSource for Published {
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
        Box::pin(async move {
            let read: Vec<VaultPath> = paths
                .iter()
                .filter(|p| !p.kind.is_made())
                .cloned()
                .collect();
            let mut fresh = if read.is_empty() {
                Vec::new()
            } else {
                self.0.inner.fetch(&read).await
            }
            .into_iter();
            let keeper = self.0.keeper();
            paths
                .iter()
                .map(|p| match p.kind {
                    k if k.is_made() => keeper.published(p).ok_or_else(|| {
                        SourceError::unavailable(format!("{p}: no credentials published yet"))
                    }),
                    _ => fresh
                        .next()
                        .unwrap_or_else(|| Err(SourceError::unavailable("not read"))),
                })
                .collect()
        })
    }

    fn versions<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<Option<u64>>> {
        self.0.inner.versions(paths)
    }

    fn status(&self) -> BoxFuture<'_, SourceStatus> {
        self.0.inner.status()
    }
}
