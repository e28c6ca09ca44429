//! What live settings do with leased credentials (`#[config(lease = "..")]`): renew each
//! lease on the schedule of Vault's `LifetimeWatcher` (at two thirds of its TTL), read new
//! credentials before the lease runs out (when a renewal is capped by the max TTL, refused, or
//! not possible), revoke the replaced lease after a grace period, and give every lease back at
//! shutdown.
//!
//! The schedule is the pure functions [`issued`], [`renewed`] and [`renewal_failed`]; the
//! [`Keeper`] applies them to the leases a [`CachingSource`](crate::live) holds.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use vault_config_core::{Renewal, SecretData, SecretSource, SourceErrorKind, VaultPath};

/// How long the old credentials stay valid after new ones are published, at most: then the
/// old lease is revoked (sooner if it expires sooner).
pub const DEFAULT_LEASE_GRACE: Duration = Duration::from_secs(30);

/// A static role's password changes when its `ttl` runs out: read it again this long after.
const STATIC_SETTLE: Duration = Duration::from_millis(500);

/// The longest wait between attempts to renew or rotate while Vault does not answer.
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// What to do next with one lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Renew it at this time.
    Renew(Instant),
    /// Read new credentials at this time.
    Rotate(Instant),
    /// Nothing until shutdown: no TTL (0 s, or none given).
    Keep,
}

impl Step {
    fn at(self) -> Option<Instant> {
        match self {
            Step::Renew(t) | Step::Rotate(t) => Some(t),
            Step::Keep => None,
        }
    }
}

/// `now + d`, never overflowing (every duration from a server is bounded first).
fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(crate::api::bounded(d))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}

/// The schedule of credentials just read: `(expiry, next step)`.
///
/// - a renewable lease: renew at 2/3 of its TTL;
/// - a lease that cannot be renewed: read new credentials at 2/3 of its TTL;
/// - a static role (no lease, a `ttl` until its rotation): read again just after the rotation;
/// - no TTL (a lease of 0 s): kept as is until shutdown.
pub(crate) fn issued(now: Instant, data: &SecretData) -> (Option<Instant>, Step) {
    let Some(ttl) = data.lease() else {
        return (None, Step::Keep);
    };
    let expires = after(now, ttl);
    let step = match (data.lease_id(), data.renewable()) {
        (None, _) => Step::Rotate(after(now, ttl + STATIC_SETTLE)),
        (Some(_), true) => Step::Renew(after(now, ttl.mul_f64(2.0 / 3.0))),
        (Some(_), false) => Step::Rotate(after(now, ttl.mul_f64(2.0 / 3.0))),
    };
    (Some(expires), step)
}

/// The schedule after a renewal that asked for `asked` and got `granted`: renew again at 2/3
/// of the new TTL, or, when the server granted less than asked (the max TTL caps it) or says
/// no further renewal is possible, read new credentials halfway through what is left.
pub(crate) fn renewed(now: Instant, asked: Duration, granted: Renewal) -> (Instant, Step) {
    let expires = after(now, granted.ttl);
    let step = if granted.ttl.is_zero() {
        Step::Rotate(now)
    } else if granted.ttl < asked || !granted.renewable {
        Step::Rotate(after(now, granted.ttl / 2))
    } else {
        Step::Renew(after(now, granted.ttl.mul_f64(2.0 / 3.0)))
    };
    (expires, step)
}

/// The schedule after a renewal failed: refused (the lease is gone, or renewing is denied)
/// means new credentials now; Vault not answering means try again, sooner as the expiry
/// nears, and new credentials once the lease has run out.
pub(crate) fn renewal_failed(
    now: Instant,
    kind: SourceErrorKind,
    expires: Option<Instant>,
    failures: u32,
) -> Step {
    if kind != SourceErrorKind::Unavailable {
        return Step::Rotate(now);
    }
    match expires {
        Some(at) if at > now => {
            let left = at - now;
            Step::Renew(
                now + backoff(failures)
                    .min(left / 3)
                    .max(Duration::from_millis(50)),
            )
        }
        // Run out: new credentials now (their own failures back off in `rotation_failed`).
        _ => Step::Rotate(now),
    }
}

/// 0.5 s, 1 s, 2 s, … up to [`LONGEST_RETRY`].
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(1u32 << failures.min(8))
        .min(LONGEST_RETRY)
}

/// One lease live settings hold.
#[derive(Clone, Debug)]
pub(crate) struct Held {
    lease_id: Option<String>,
    renewable: bool,
    /// The TTL first granted: what each renewal asks for.
    ttl: Option<Duration>,
    expires: Option<Instant>,
    step: Step,
    generation: u64,
    failures: u32,
    last_error: Option<String>,
}

/// A lease to revoke once its grace period is over.
#[derive(Debug)]
struct Retired {
    lease_id: String,
    at: Instant,
}

/// The leases of one set of live settings.
#[derive(Debug, Default)]
pub(crate) struct Keeper {
    held: HashMap<VaultPath, Held>,
    retired: Vec<Retired>,
    grace: Option<Duration>,
}

/// One leased field in the health report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LeaseHealth {
    /// The field, e.g. `db`.
    pub field: String,
    /// The path the credentials are read from, e.g. `database/creds/app`.
    pub path: String,
    /// The lease, shortened (the path and the last 4 characters); `None` for a static role.
    pub lease: Option<String>,
    /// How many times credentials were read: 1 after the first load, +1 per rotation.
    pub generation: u64,
    /// Seconds until the credentials in use expire; `None` when they do not.
    pub ttl_remaining: Option<u64>,
    /// Whether the lease can be renewed.
    pub renewable: bool,
    /// New credentials are due (and were not yet read, e.g. Vault is away).
    pub rotation_pending: bool,
    /// Why the last renewal or rotation failed; cleared by the next success.
    pub last_error: Option<String>,
}

impl Keeper {
    pub(crate) fn new(grace: Option<Duration>) -> Self {
        Keeper {
            grace,
            ..Keeper::default()
        }
    }

    /// Whether `path` must be read: never read, or its rotation is due.
    pub(crate) fn due(&self, path: &VaultPath, now: Instant) -> bool {
        match self.held.get(path) {
            None => true,
            Some(h) => matches!(h.step, Step::Rotate(t) if t <= now),
        }
    }

    /// New credentials were read for `path`: the old lease, if any, is retired.
    pub(crate) fn replaced(&mut self, path: &VaultPath, data: &SecretData, now: Instant) {
        let (expires, step) = issued(now, data);
        let old = self.held.remove(path);
        let generation = old.as_ref().map_or(0, |o| o.generation) + 1;
        if let Some(old) = old {
            self.retire(old, now);
        }
        self.held.insert(
            path.clone(),
            Held {
                lease_id: data.lease_id().map(str::to_owned),
                renewable: data.renewable(),
                ttl: data.lease(),
                expires,
                step,
                generation,
                failures: 0,
                last_error: None,
            },
        );
    }

    /// A lease no longer in use is revoked once the grace period is over; one that expires
    /// first ends by itself (Vault revokes it then).
    fn retire(&mut self, held: Held, now: Instant) {
        let Some(lease_id) = held.lease_id else {
            return;
        };
        let at = after(now, self.grace.unwrap_or(DEFAULT_LEASE_GRACE));
        if held.expires.is_none_or(|e| at < e) {
            self.retired.push(Retired { lease_id, at });
        }
    }

    /// Reading new credentials for `path` failed: keep the ones in use, try again later.
    pub(crate) fn rotation_failed(&mut self, path: &VaultPath, why: &str, now: Instant) {
        if let Some(h) = self.held.get_mut(path) {
            h.step = Step::Rotate(now + backoff(h.failures));
            h.failures = h.failures.saturating_add(1);
            h.last_error = Some(why.to_owned());
        }
    }

    /// After a refresh: a rotation still due (the refresh failed before reading, or the field
    /// is now filled by a layer before Vault) waits a backoff, so that it is never retried in
    /// a busy loop; a lease no field uses any more (`leased` lists those in use) is retired.
    pub(crate) fn settle(&mut self, leased: Option<&[(String, VaultPath)]>, now: Instant) {
        if let Some(leased) = leased {
            let unused: Vec<VaultPath> = self
                .held
                .keys()
                .filter(|p| !leased.iter().any(|(_, used)| used == *p))
                .cloned()
                .collect();
            for path in unused {
                if let Some(old) = self.held.remove(&path) {
                    self.retire(old, now);
                }
            }
        }
        for h in self.held.values_mut() {
            if matches!(h.step, Step::Rotate(t) if t <= now) {
                h.step = Step::Rotate(now + backoff(h.failures));
                h.failures = h.failures.saturating_add(1);
            }
        }
    }

    /// When something is next due: a renewal, a rotation, a revocation.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.held
            .values()
            .filter_map(|h| h.step.at())
            .chain(self.retired.iter().map(|r| r.at))
            .min()
    }

    /// Whether a rotation is due now.
    pub(crate) fn rotation_due(&self, now: Instant) -> bool {
        self.held.keys().any(|p| self.due(p, now))
    }

    /// The renewals due now: `(path, lease id, increment)`.
    fn renewals_due(&self, now: Instant) -> Vec<(VaultPath, String, Duration)> {
        self.held
            .iter()
            .filter_map(|(path, h)| match (h.step, &h.lease_id, h.ttl) {
                (Step::Renew(t), Some(id), Some(ttl)) if t <= now => {
                    Some((path.clone(), id.clone(), ttl))
                }
                _ => None,
            })
            .collect()
    }

    fn retired_due(&mut self, now: Instant) -> Vec<String> {
        let (due, later): (Vec<Retired>, Vec<Retired>) = std::mem::take(&mut self.retired)
            .into_iter()
            .partition(|r| r.at <= now);
        self.retired = later;
        due.into_iter().map(|r| r.lease_id).collect()
    }

    /// Every lease id held or retired, for shutdown.
    fn all_ids(&mut self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .held
            .values()
            .filter_map(|h| h.lease_id.clone())
            .collect();
        ids.extend(
            std::mem::take(&mut self.retired)
                .into_iter()
                .map(|r| r.lease_id),
        );
        ids
    }

    /// The health of each leased field.
    pub(crate) fn health(&self, fields: &[(String, VaultPath)], now: Instant) -> Vec<LeaseHealth> {
        fields
            .iter()
            .filter_map(|(field, path)| {
                let h = self.held.get(path)?;
                Some(LeaseHealth {
                    field: field.clone(),
                    path: path.to_string(),
                    lease: h.lease_id.as_deref().map(vault_config_core::short_lease_id),
                    generation: h.generation,
                    ttl_remaining: h
                        .expires
                        .map(|e| e.saturating_duration_since(now).as_secs()),
                    renewable: h.renewable,
                    rotation_pending: matches!(h.step, Step::Rotate(t) if t <= now),
                    last_error: h.last_error.clone(),
                })
            })
            .collect()
    }
}

/// Renews what is due and revokes retired leases whose grace is over; the keeper is locked
/// only between requests.
pub(crate) async fn maintain(keeper: &std::sync::Mutex<Keeper>, source: &dyn SecretSource) {
    let now = Instant::now();
    let (renewals, retired) = {
        let mut k = keeper.lock().unwrap_or_else(|e| e.into_inner());
        (k.renewals_due(now), k.retired_due(now))
    };
    for (path, id, asked) in renewals {
        let result = source.renew_lease(&id, asked).await;
        let now = Instant::now();
        let outcome = if result.is_ok() { "ok" } else { "failed" };
        metrics::counter!(crate::metrics::LEASE_RENEWALS, "outcome" => outcome).increment(1);
        let mut k = keeper.lock().unwrap_or_else(|e| e.into_inner());
        let Some(h) = k.held.get_mut(&path) else {
            continue;
        };
        // Replaced while the renewal was in flight: the answer is about an old lease.
        if h.lease_id.as_deref() != Some(id.as_str()) {
            continue;
        }
        match result {
            Ok(granted) => {
                let (expires, step) = renewed(now, asked, granted);
                h.expires = Some(expires);
                h.step = step;
                h.renewable = granted.renewable;
                h.failures = 0;
                h.last_error = None;
                if matches!(step, Step::Rotate(_)) {
                    tracing::info!(path = %path, ttl_s = granted.ttl.as_secs(), "vault-config: the lease reached its max TTL; new credentials will be read before it ends");
                }
            }
            Err(err) => {
                tracing::warn!(path = %path, error = %err, "vault-config: renewing the lease failed");
                h.step = renewal_failed(now, err.kind(), h.expires, h.failures);
                h.failures = match h.step {
                    Step::Rotate(_) => 0,
                    _ => h.failures.saturating_add(1),
                };
                h.last_error = Some(err.message().to_owned());
            }
        }
    }
    for id in retired {
        match source.revoke_lease(&id).await {
            Ok(()) => {
                tracing::debug!(lease = %vault_config_core::short_lease_id(&id), "vault-config: the replaced lease was revoked")
            }
            // It ends at its TTL, or with the token that owns it.
            Err(err) => {
                tracing::info!(lease = %vault_config_core::short_lease_id(&id), error = %err, "vault-config: the replaced lease could not be revoked; it ends at its TTL")
            }
        }
    }
}

/// Gives every lease back at shutdown; `(revoked, not revoked)`. A lease that cannot be
/// revoked (the policy does not allow `sys/leases/revoke`) ends with the login token, which
/// the source revokes next, or at its TTL.
pub(crate) async fn give_back(
    keeper: &std::sync::Mutex<Keeper>,
    source: &dyn SecretSource,
) -> (usize, usize) {
    let ids = keeper.lock().unwrap_or_else(|e| e.into_inner()).all_ids();
    let mut revoked = 0;
    let mut kept = 0;
    for id in ids {
        match source.revoke_lease(&id).await {
            Ok(()) => revoked += 1,
            Err(err) => {
                kept += 1;
                tracing::info!(lease = %vault_config_core::short_lease_id(&id), error = %err, "vault-config: could not revoke the lease; it ends with the login token or at its TTL");
            }
        }
    }
    (revoked, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased(ttl: u64, renewable: bool) -> SecretData {
        SecretData::default()
            .with_lease(Some(Duration::from_secs(ttl)))
            .with_lease_id("database/creds/app/abcdefghijklmnop", renewable)
    }

    #[test]
    fn a_renewable_lease_is_renewed_at_two_thirds_and_rotated_when_capped() {
        let t0 = Instant::now();
        let (expires, step) = issued(t0, &leased(3, true));
        assert_eq!(expires, Some(t0 + Duration::from_secs(3)));
        assert_eq!(step, Step::Renew(t0 + Duration::from_secs(2)));
        // Renewed in full: again at 2/3.
        let full = Renewal::new(Duration::from_secs(3), true);
        assert_eq!(
            renewed(t0, Duration::from_secs(3), full).1,
            Step::Renew(t0 + Duration::from_secs(2))
        );
        // Capped by the max TTL (2 s of the 3 asked): rotate halfway through what is left.
        let capped = Renewal::new(Duration::from_secs(2), true);
        assert_eq!(
            renewed(t0, Duration::from_secs(3), capped),
            (
                t0 + Duration::from_secs(2),
                Step::Rotate(t0 + Duration::from_secs(1))
            )
        );
        // Nothing left: now.
        assert_eq!(
            renewed(
                t0,
                Duration::from_secs(3),
                Renewal::new(Duration::ZERO, true)
            )
            .1,
            Step::Rotate(t0)
        );
    }

    #[test]
    fn leases_that_cannot_be_renewed_and_static_roles_are_read_again() {
        let t0 = Instant::now();
        assert_eq!(
            issued(t0, &leased(3, false)).1,
            Step::Rotate(t0 + Duration::from_secs(2))
        );
        let static_role = SecretData::default().with_lease(Some(Duration::from_secs(4)));
        assert_eq!(
            issued(t0, &static_role).1,
            Step::Rotate(t0 + Duration::from_secs(4) + STATIC_SETTLE)
        );
    }

    #[test]
    fn zero_and_absurd_ttls_have_a_clear_schedule_and_no_panic() {
        let t0 = Instant::now();
        // A lease of 0 s: `with_lease` keeps no TTL; kept until shutdown.
        assert_eq!(issued(t0, &leased(0, true)), (None, Step::Keep));
        // 2^64-1 s: clamped, so the schedule is far away but representable.
        let (expires, step) = issued(t0, &leased(u64::MAX, true));
        assert!(expires.is_some_and(|e| e > t0 + Duration::from_secs(3600)));
        assert!(matches!(step, Step::Renew(t) if t > t0));
        let huge = Renewal::new(Duration::MAX, true);
        assert!(matches!(renewed(t0, Duration::MAX, huge).1, Step::Renew(_)));
    }

    #[test]
    fn a_refused_renewal_rotates_now_and_an_outage_retries_before_expiry() {
        let t0 = Instant::now();
        let expiry = Some(t0 + Duration::from_secs(3));
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Denied, expiry, 0),
            Step::Rotate(t0)
        );
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Malformed, expiry, 0),
            Step::Rotate(t0)
        );
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, expiry, 0),
            Step::Renew(t0 + Duration::from_millis(500))
        );
        // Near the expiry, sooner than the backoff.
        let close = Some(t0 + Duration::from_millis(600));
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, close, 5),
            Step::Renew(t0 + Duration::from_millis(200))
        );
        // Expired: new credentials now.
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, Some(t0), 7),
            Step::Rotate(t0)
        );
        assert_eq!(backoff(100), LONGEST_RETRY);
    }

    #[test]
    fn a_replaced_lease_is_retired_for_its_grace_or_left_to_expire() {
        let t0 = Instant::now();
        let path = VaultPath::lease("database", "creds/app");
        let mut keeper = Keeper::new(Some(Duration::from_secs(1)));
        assert!(keeper.due(&path, t0));
        keeper.replaced(&path, &leased(60, true), t0);
        assert!(!keeper.due(&path, t0));
        keeper.replaced(&path, &leased(60, true), t0);
        assert_eq!(
            keeper.retired.len(),
            1,
            "the first lease is revoked after its grace"
        );
        assert_eq!(keeper.next_wake(), Some(t0 + Duration::from_secs(1)));
        // A grace longer than what is left: it ends by itself.
        let mut keeper = Keeper::new(Some(Duration::from_secs(120)));
        keeper.replaced(&path, &leased(60, true), t0);
        keeper.replaced(&path, &leased(60, true), t0);
        assert!(keeper.retired.is_empty());
        let health = keeper.health(&[("db".into(), path.clone())], t0);
        assert_eq!(health[0].generation, 2);
        assert_eq!(health[0].lease.as_deref(), Some("database/creds/app/…mnop"));
    }

    #[test]
    fn a_rotation_a_refresh_did_not_do_waits_and_an_unused_lease_is_retired() {
        let t0 = Instant::now();
        let path = VaultPath::lease("database", "creds/app");
        let mut keeper = Keeper::new(None);
        keeper.replaced(&path, &leased(120, false), t0);
        let later = t0 + Duration::from_secs(81);
        assert!(keeper.rotation_due(later));
        keeper.settle(Some(&[("db".into(), path.clone())]), later);
        assert!(!keeper.rotation_due(later), "deferred, not retried at once");
        assert_eq!(keeper.next_wake(), Some(later + Duration::from_millis(500)));
        // The field now comes from env: its lease is given back after the grace.
        keeper.settle(Some(&[]), later);
        assert!(keeper.held.is_empty());
        assert_eq!(keeper.retired.len(), 1);
    }
}
