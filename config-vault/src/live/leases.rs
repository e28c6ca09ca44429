//! Leased credentials in live settings (`#[config(lease = "..")]`): one state machine per
//! leased path, driven by the engine.
//!
//! - **Renewal** on the one [schedule](super::schedule): at about two thirds of the TTL; when a
//!   renewal is capped by the max TTL, refused or not possible, new credentials are read.
//! - **Two-phase rotation:** new credentials are *pending* until the settings that hold them
//!   are validated and published ([`Keeper::settle`]); then the old lease is retired (revoked
//!   after a grace, never past its own end). A refresh that is rejected revokes its pending
//!   lease and keeps the published one, still renewed.
//! - **Ownership:** a lease records the login token that created it (its generation); the
//!   token's expiry or revocation ends the lease with it, so a lease's life is the shorter of
//!   its own and its owner's, and a lease whose owner was replaced by a new login is rotated
//!   at once, under the new token. The owner is released (revoked) only once none of its
//!   leases is in use.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;
use vault_config_core::{
    PathKind, Renewal, SecretData, SourceError, SourceErrorKind, SourceStatus, VaultPath,
    short_lease_id, short_serial,
};

use crate::schedule::{after, backoff, renew_after};

/// How long the old credentials stay valid after new ones are published, at most: then the
/// old lease is revoked (sooner if it ends sooner).
pub const DEFAULT_LEASE_GRACE: Duration = Duration::from_secs(30);

/// A static role's password changes when its `ttl` runs out: read it again this long after.
const STATIC_SETTLE: Duration = Duration::from_millis(500);

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

/// One lease as read: its id, schedule and owner.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    id: Option<String>,
    renewable: bool,
    /// The TTL first granted: what each renewal asks for.
    ttl: Option<Duration>,
    expires: Option<Instant>,
    /// The generation of the login token that created it.
    owner: Option<u64>,
    step: Step,
}

/// The lease of credentials just read, and its schedule (`draw` in `[0, 1]` for the jitter):
///
/// - a renewable lease: renew at about 2/3 of its TTL;
/// - a lease that cannot be renewed: read new credentials then;
/// - a static role (no lease, a `ttl` until its rotation): read again just after the rotation;
/// - no TTL (a lease of 0 s): kept as is until shutdown.
pub(crate) fn issued(now: Instant, data: &SecretData, draw: f64) -> Lease {
    let ttl = data.lease();
    let step = match (ttl, data.lease_id(), data.renewable()) {
        (None, _, _) => Step::Keep,
        (Some(ttl), None, _) => Step::Rotate(after(now, ttl.saturating_add(STATIC_SETTLE))),
        (Some(ttl), Some(_), true) => Step::Renew(after(now, renew_after(ttl, draw))),
        (Some(ttl), Some(_), false) => Step::Rotate(after(now, renew_after(ttl, draw))),
    };
    Lease {
        id: data.lease_id().map(str::to_owned),
        renewable: data.renewable(),
        ttl,
        expires: ttl.map(|t| after(now, t)),
        owner: data.owner(),
        step,
    }
}

/// A certificate just issued, valid for `ttl` (to its `notAfter`): issued again at about 2/3
/// of that (the one [schedule](crate::schedule::renew_after), with its jitter), or
/// `renew_before` its end when the field says so and that leaves some time; it has no lease
/// to renew or give back.
pub(crate) fn certificate(
    now: Instant,
    data: &SecretData,
    renew_before: Option<Duration>,
    draw: f64,
) -> Lease {
    let ttl = data.lease();
    let step = match (ttl, renew_before) {
        (None, _) => Step::Keep,
        (Some(ttl), Some(before)) if before < ttl => Step::Rotate(after(now, ttl - before)),
        (Some(ttl), _) => Step::Rotate(after(now, renew_after(ttl, draw))),
    };
    Lease {
        id: None,
        renewable: false,
        ttl,
        expires: ttl.map(|t| after(now, t)),
        owner: None,
        step,
    }
}

/// The schedule after a renewal that asked for `asked` and got `granted`: renew again at
/// about 2/3 of the new TTL, or, when the server granted less than asked (the max TTL caps
/// it) or says no further renewal is possible, read new credentials halfway through what is
/// left.
pub(crate) fn renewed(
    now: Instant,
    asked: Duration,
    granted: Renewal,
    draw: f64,
) -> (Instant, Step) {
    let expires = after(now, granted.ttl);
    let step = if granted.ttl.is_zero() {
        Step::Rotate(now)
    } else if granted.ttl < asked || !granted.renewable {
        Step::Rotate(after(now, granted.ttl / 2))
    } else {
        Step::Renew(after(now, renew_after(granted.ttl, draw)))
    };
    (expires, step)
}

/// The schedule after a renewal failed: refused (the lease is gone, or renewing is denied)
/// means new credentials now; Vault not answering means try again, sooner as the end nears,
/// and new credentials once the lease has run out.
pub(crate) fn renewal_failed(
    now: Instant,
    kind: SourceErrorKind,
    ends: Option<Instant>,
    failures: u32,
) -> Step {
    if kind != SourceErrorKind::Unavailable {
        return Step::Rotate(now);
    }
    match ends {
        Some(at) if at > now => {
            let left = at - now;
            Step::Renew(
                now + backoff(failures)
                    .min(left / 3)
                    .max(Duration::from_millis(50)),
            )
        }
        _ => Step::Rotate(now),
    }
}

/// One leased path: the credentials published, those read and not yet published, and how
/// replacing them goes.
#[derive(Debug, Default)]
struct Slot {
    published: Option<(Lease, SecretData)>,
    pending: Option<(Lease, SecretData)>,
    /// How many credentials were published: 1 after the first load, +1 per rotation.
    generation: u64,
    /// Failed attempts to replace the credentials in a row: the rotation's backoff.
    rotate_failures: u32,
    /// Failed renewals in a row: the renewal's backoff (kept apart, so that a renewal that
    /// works does not cut the backoff of a rotation that keeps failing).
    renew_failures: u32,
    /// No new attempt to rotate before this (after a failed one).
    retry_at: Option<Instant>,
    last_error: Option<String>,
}

/// A lease to revoke at `at`: replaced (after its grace) or never published (at once).
#[derive(Debug)]
struct Retired {
    id: String,
    owner: Option<u64>,
    at: Instant,
}

/// What the source said of its tokens, last time asked.
#[derive(Debug, Default)]
struct Tokens {
    /// The generation of the token in use; `None` when the source does not tell.
    current: Option<u64>,
    /// Replaced tokens still alive, and when each ends (`None`: never).
    alive: HashMap<u64, Option<Instant>>,
}

/// The leases of one set of live settings.
#[derive(Debug)]
pub(crate) struct Keeper {
    slots: BTreeMap<VaultPath, Slot>,
    retired: Vec<Retired>,
    grace: Duration,
    tokens: Tokens,
}

/// One leased field in the health report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LeaseHealth {
    /// The field, e.g. `db`.
    pub field: String,
    /// The path the credentials are read from, e.g. `database/creds/app`.
    pub path: String,
    /// The lease of the credentials in use, shortened (the path and the last 4 characters);
    /// `None` for a static role.
    pub lease: Option<String>,
    /// How many credentials were published: 1 after the first load, +1 per rotation.
    pub generation: u64,
    /// Seconds until the credentials in use stop working: the end of their lease, or of the
    /// login token that created it when that comes first; `None` when they do not end.
    pub ttl_remaining: Option<u64>,
    /// Whether the lease can be renewed.
    pub renewable: bool,
    /// New credentials are due and not yet published (e.g. Vault is away, or the token that
    /// created the lease was replaced).
    pub rotation_pending: bool,
    /// Why the last renewal or rotation failed; cleared by the next success.
    pub last_error: Option<String>,
    /// A certificate's serial, shortened to its last two octets (`…3f:a2`); `None` for
    /// credentials.
    pub serial: Option<String>,
    /// A certificate's end (`notAfter`), Unix seconds; `None` for credentials.
    pub not_after: Option<u64>,
}

impl Keeper {
    pub(crate) fn new(grace: Option<Duration>) -> Self {
        Keeper {
            slots: BTreeMap::new(),
            retired: Vec::new(),
            grace: grace.unwrap_or(DEFAULT_LEASE_GRACE),
            tokens: Tokens::default(),
        }
    }

    /// Takes in what the source says of its tokens now.
    pub(crate) fn observe_tokens(&mut self, status: &SourceStatus, now: Instant) {
        self.tokens = Tokens {
            current: status.token_generation,
            alive: status
                .superseded_tokens
                .iter()
                .map(|t| (t.generation, t.expires_in.map(|d| after(now, d))))
                .collect(),
        };
    }

    /// Whether the token that created `lease` was replaced by a newer login.
    fn owner_replaced(&self, lease: &Lease) -> bool {
        matches!((lease.owner, self.tokens.current), (Some(o), Some(c)) if o != c)
    }

    /// When `lease` stops working: its own end, or its owner's when that was replaced and
    /// comes first (at once when the owner is gone).
    fn ends(&self, lease: &Lease, now: Instant) -> Option<Instant> {
        if !self.owner_replaced(lease) {
            return lease.expires;
        }
        let owner_ends = match lease.owner.and_then(|o| self.tokens.alive.get(&o)) {
            Some(ends) => *ends,
            None => Some(now),
        };
        match (lease.expires, owner_ends) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the published credentials of `slot` should be replaced (whatever the backoff).
    fn wants_rotation(&self, slot: &Slot, now: Instant) -> bool {
        let Some((lease, _)) = &slot.published else {
            return true;
        };
        matches!(lease.step, Step::Rotate(t) if t <= now)
            || self.owner_replaced(lease)
            || self.ends(lease, now).is_some_and(|e| e <= now)
    }

    /// Whether `path` must be read now: never read, or its rotation is due and not backing off.
    pub(crate) fn due(&self, path: &VaultPath, now: Instant) -> bool {
        match self.slots.get(path) {
            None => true,
            Some(slot) => {
                slot.retry_at.is_none_or(|at| at <= now) && self.wants_rotation(slot, now)
            }
        }
    }

    /// Whether a rotation is due now.
    pub(crate) fn rotation_due(&self, now: Instant) -> bool {
        self.slots.keys().any(|p| self.due(p, now))
    }

    /// The credentials published for `path`.
    pub(crate) fn published(&self, path: &VaultPath) -> Option<SecretData> {
        self.slots
            .get(path)?
            .published
            .as_ref()
            .map(|(_, data)| data.clone())
    }

    /// What a refresh's read of `path` answers: new credentials are taken in (pending);
    /// when reading them failed, the ones in use answer while they have not ended (nor their
    /// owner), so that the rest of the refresh still goes out, and the failure shows in health.
    pub(crate) fn answer(
        &mut self,
        path: &VaultPath,
        result: Result<SecretData, SourceError>,
        now: Instant,
        draw: f64,
    ) -> Result<SecretData, SourceError> {
        match &result {
            Ok(data) => self.read(path, data, now, draw),
            Err(err) => {
                self.read_failed(path, err, now);
                let slot = self.slots.get(path);
                if let Some((lease, data)) = slot.and_then(|s| s.published.as_ref()) {
                    if self.ends(lease, now).is_none_or(|end| end > now) {
                        return Ok(data.clone());
                    }
                }
            }
        }
        result
    }

    /// New credentials were read for `path`: pending until [`settle`](Self::settle). A
    /// pending lease not yet settled (never published) is revoked at once.
    pub(crate) fn read(&mut self, path: &VaultPath, data: &SecretData, now: Instant, draw: f64) {
        let lease = match (path.kind, &path.issue) {
            (PathKind::Issue, terms) => {
                certificate(now, data, terms.as_ref().and_then(|t| t.renew_before), draw)
            }
            _ => issued(now, data, draw),
        };
        let slot = self.slots.entry(path.clone()).or_default();
        if let Some((old, _)) = slot.pending.replace((lease, data.clone())) {
            if let Some(id) = old.id {
                self.retired.push(Retired {
                    id,
                    owner: old.owner,
                    at: now,
                });
            }
        }
    }

    /// Reading new credentials for `path` failed: keep the ones in use, try again later.
    pub(crate) fn read_failed(&mut self, path: &VaultPath, err: &SourceError, now: Instant) {
        if let Some(slot) = self.slots.get_mut(path) {
            slot.last_error = Some(err.message().to_owned());
            Self::back_off(slot, now);
        }
    }

    fn back_off(slot: &mut Slot, now: Instant) {
        slot.retry_at = Some(now + backoff(slot.rotate_failures));
        slot.rotate_failures = slot.rotate_failures.saturating_add(1);
    }

    /// After a refresh. `published` lists the leased fields of the settings it published
    /// (`None`: it was rejected, nothing was published). Published: pending credentials
    /// become the ones in use and the leases they replace are retired; a lease no field uses
    /// any more is retired. Rejected: pending leases are revoked at once, the published ones
    /// stay (and stay renewed). A rotation still due waits a backoff, never a busy loop.
    pub(crate) fn settle(&mut self, published: Option<&[(String, VaultPath)]>, now: Instant) {
        let paths: Vec<VaultPath> = self.slots.keys().cloned().collect();
        for path in paths {
            let in_use = published.map(|used| used.iter().any(|(_, p)| *p == path));
            let Some(mut slot) = self.slots.remove(&path) else {
                continue;
            };
            let pending = slot.pending.take();
            match (in_use, pending) {
                (Some(true), Some(new)) => {
                    if let Some((old, _)) = slot.published.replace(new) {
                        self.retire(old, now);
                    }
                    slot.generation += 1;
                    slot.rotate_failures = 0;
                    slot.renew_failures = 0;
                    slot.retry_at = None;
                    slot.last_error = None;
                }
                (Some(false), pending) => {
                    if let Some((lease, _)) = pending {
                        self.revoke_now(lease, now);
                    }
                    if let Some((lease, _)) = slot.published.take() {
                        self.retire(lease, now);
                    }
                    continue;
                }
                (None, Some((lease, _))) => {
                    self.revoke_now(lease, now);
                    slot.last_error = Some(
                        "new credentials were read but the refresh was rejected; the ones in use are kept"
                            .to_owned(),
                    );
                }
                (_, None) => {}
            }
            if self.due_ignoring_backoff(&slot, now) {
                Self::back_off(&mut slot, now);
            }
            self.slots.insert(path, slot);
        }
    }

    fn due_ignoring_backoff(&self, slot: &Slot, now: Instant) -> bool {
        slot.published.is_some() && self.wants_rotation(slot, now)
    }

    /// A lease no longer in use is revoked once the grace period is over, or when it would
    /// end anyway, whichever comes first; one already ended is forgotten.
    fn retire(&mut self, lease: Lease, now: Instant) {
        let ends = self.ends(&lease, now);
        let Some(id) = lease.id else {
            return;
        };
        if ends.is_some_and(|e| e <= now) {
            return;
        }
        let at = after(now, self.grace);
        self.retired.push(Retired {
            id,
            owner: lease.owner,
            at: ends.map_or(at, |e| at.min(e)),
        });
    }

    /// A lease never published: revoked now.
    fn revoke_now(&mut self, lease: Lease, now: Instant) {
        if let Some(id) = lease.id {
            self.retired.push(Retired {
                id,
                owner: lease.owner,
                at: now,
            });
        }
    }

    /// When something is next due: a renewal, a rotation (after its backoff), a revocation.
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        let slots = self.slots.values().filter_map(|slot| {
            let renew = match slot.published.as_ref().map(|(l, _)| l.step) {
                Some(Step::Renew(t)) => Some(t),
                _ => None,
            };
            let rotate = if self.wants_rotation(slot, now) {
                Some(slot.retry_at.map_or(now, |r| r.max(now)))
            } else {
                match slot.published.as_ref().map(|(l, _)| l.step) {
                    Some(Step::Rotate(t)) => Some(t),
                    _ => None,
                }
            };
            [renew, rotate].into_iter().flatten().min()
        });
        slots.chain(self.retired.iter().map(|r| r.at)).min()
    }

    /// The renewals due now: `(path, lease id, increment)`.
    pub(crate) fn renewals_due(&self, now: Instant) -> Vec<(VaultPath, String, Duration)> {
        self.slots
            .iter()
            .filter_map(|(path, slot)| {
                let (lease, _) = slot.published.as_ref()?;
                match (lease.step, &lease.id, lease.ttl) {
                    (Step::Renew(t), Some(id), Some(ttl)) if t <= now => {
                        Some((path.clone(), id.clone(), ttl))
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// The answer to renewing `id` (asked for `asked`), unless it was replaced meanwhile.
    pub(crate) fn renewal(
        &mut self,
        path: &VaultPath,
        id: &str,
        asked: Duration,
        result: Result<Renewal, SourceError>,
        now: Instant,
        draw: f64,
    ) {
        let ends = self
            .slots
            .get(path)
            .and_then(|s| s.published.as_ref())
            .and_then(|(lease, _)| self.ends(lease, now));
        let Some(slot) = self.slots.get_mut(path) else {
            return;
        };
        let Some((lease, _)) = slot
            .published
            .as_mut()
            .filter(|(l, _)| l.id.as_deref() == Some(id))
        else {
            return;
        };
        match result {
            Ok(granted) => {
                let (expires, step) = renewed(now, asked, granted, draw);
                lease.expires = Some(expires);
                lease.step = step;
                lease.renewable = granted.renewable;
                slot.renew_failures = 0;
                slot.last_error = None;
                if matches!(step, Step::Rotate(_)) {
                    tracing::info!(path = %path, ttl_s = granted.ttl.as_secs(), "vault-config: the lease reached its max TTL; new credentials will be read before it ends");
                }
            }
            Err(err) => {
                tracing::warn!(path = %path, error = %err, "vault-config: renewing the lease failed");
                lease.step = renewal_failed(now, err.kind(), ends, slot.renew_failures);
                slot.renew_failures = match lease.step {
                    Step::Rotate(_) => 0,
                    _ => slot.renew_failures.saturating_add(1),
                };
                slot.last_error = Some(err.message().to_owned());
            }
        }
    }

    /// The retired leases whose time has come.
    pub(crate) fn retired_due(&mut self, now: Instant) -> Vec<String> {
        let (due, later): (Vec<Retired>, Vec<Retired>) = std::mem::take(&mut self.retired)
            .into_iter()
            .partition(|r| r.at <= now);
        self.retired = later;
        due.into_iter().map(|r| r.id).collect()
    }

    /// The owners (token generations) of every lease held: published, pending or retired
    /// and not yet revoked. A replaced token outside this list can be released.
    pub(crate) fn owners_in_use(&self) -> Vec<u64> {
        let mut owners: Vec<u64> = self
            .slots
            .values()
            .flat_map(|s| s.published.iter().chain(&s.pending))
            .filter_map(|(lease, _)| lease.owner)
            .chain(self.retired.iter().filter_map(|r| r.owner))
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    /// Whether a replaced token is alive that no lease needs any more.
    pub(crate) fn tokens_to_release(&self) -> bool {
        let in_use = self.owners_in_use();
        self.tokens.alive.keys().any(|g| !in_use.contains(g))
    }

    /// Every lease id held (published, pending or retired), for shutdown; the keeper is
    /// empty after.
    pub(crate) fn take_all(&mut self) -> Vec<String> {
        let slots = std::mem::take(&mut self.slots);
        slots
            .into_values()
            .flat_map(|s| s.published.into_iter().chain(s.pending))
            .filter_map(|(lease, _)| lease.id)
            .chain(std::mem::take(&mut self.retired).into_iter().map(|r| r.id))
            .collect()
    }

    /// The health of each leased field.
    pub(crate) fn health(&self, fields: &[(String, VaultPath)], now: Instant) -> Vec<LeaseHealth> {
        fields
            .iter()
            .filter_map(|(field, path)| {
                let slot = self.slots.get(path)?;
                let (lease, data) = slot.published.as_ref()?;
                let certificate = path.kind == PathKind::Issue;
                Some(LeaseHealth {
                    field: field.clone(),
                    path: path.to_string(),
                    lease: lease.id.as_deref().map(short_lease_id),
                    generation: slot.generation,
                    ttl_remaining: self
                        .ends(lease, now)
                        .map(|e| e.saturating_duration_since(now).as_secs()),
                    renewable: lease.renewable,
                    rotation_pending: self.wants_rotation(slot, now) || slot.pending.is_some(),
                    last_error: slot.last_error.clone(),
                    serial: data
                        .get("serial_number")
                        .and_then(|v| v.as_str())
                        .filter(|_| certificate)
                        .map(short_serial),
                    not_after: data
                        .get("expiration")
                        .and_then(serde_json::Value::as_u64)
                        .filter(|_| certificate),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_config_core::TokenLife;

    fn leased(ttl: u64, renewable: bool) -> SecretData {
        SecretData::default()
            .with_lease(Some(Duration::from_secs(ttl)))
            .with_lease_id("database/creds/app/abcdefghijklmnop", renewable)
    }

    fn owned(ttl: u64, id: &str, owner: u64) -> SecretData {
        SecretData::default()
            .with_lease(Some(Duration::from_secs(ttl)))
            .with_lease_id(format!("database/creds/app/{id}"), true)
            .with_owner(Some(owner))
    }

    fn path() -> VaultPath {
        VaultPath::lease("database", "creds/app")
    }

    fn used() -> Vec<(String, VaultPath)> {
        vec![("db".into(), path())]
    }

    #[test]
    fn a_certificate_is_issued_again_at_two_thirds_or_renew_before_its_end() {
        let now = Instant::now();
        let data = SecretData::default().with_lease(Some(Duration::from_secs(90)));
        let at = |lease: Lease| match lease.step {
            Step::Rotate(t) => t - now,
            other => panic!("{other:?}"),
        };
        // 2/3 of 90 s plus up to a third of the 10-20 % grace: 62-66 s.
        let due = at(certificate(now, &data, None, 0.5));
        assert!(
            due >= Duration::from_secs(62) && due <= Duration::from_secs(66),
            "{due:?}"
        );
        let due = at(certificate(now, &data, Some(Duration::from_secs(10)), 0.5));
        assert_eq!(due, Duration::from_secs(80));
        // A renew_before longer than the certificate: the usual schedule, never "now".
        let due = at(certificate(now, &data, Some(Duration::from_secs(600)), 0.0));
        assert!(due >= Duration::from_secs(60), "{due:?}");
        let lease = certificate(now, &data, None, 1.0);
        assert!(lease.id.is_none() && lease.owner.is_none());
        assert_eq!(lease.expires, Some(now + Duration::from_secs(90)));
        // An absurd end saturates, never panics.
        let forever = SecretData::default().with_lease(Some(Duration::MAX));
        assert!(matches!(
            certificate(now, &forever, None, 1.0).step,
            Step::Rotate(_)
        ));
    }

    #[test]
    fn a_renewable_lease_is_renewed_at_two_thirds_and_rotated_when_capped() {
        let t0 = Instant::now();
        let lease = issued(t0, &leased(300, true), 0.0);
        assert_eq!(lease.expires, Some(t0 + Duration::from_secs(300)));
        assert_eq!(lease.step, Step::Renew(t0 + Duration::from_secs(210)));
        let full = Renewal::new(Duration::from_secs(300), true);
        assert_eq!(
            renewed(t0, Duration::from_secs(300), full, 1.0).1,
            Step::Renew(t0 + Duration::from_secs(220))
        );
        // Capped by the max TTL (2 s of the 3 asked): rotate halfway through what is left.
        let capped = Renewal::new(Duration::from_secs(2), true);
        assert_eq!(
            renewed(t0, Duration::from_secs(3), capped, 0.0),
            (
                t0 + Duration::from_secs(2),
                Step::Rotate(t0 + Duration::from_secs(1))
            )
        );
        let nothing = Renewal::new(Duration::ZERO, true);
        assert_eq!(
            renewed(t0, Duration::from_secs(3), nothing, 0.0).1,
            Step::Rotate(t0)
        );
    }

    #[test]
    fn leases_that_cannot_be_renewed_and_static_roles_are_read_again() {
        let t0 = Instant::now();
        assert_eq!(
            issued(t0, &leased(300, false), 0.0).step,
            Step::Rotate(t0 + Duration::from_secs(210))
        );
        let static_role = SecretData::default().with_lease(Some(Duration::from_secs(4)));
        assert_eq!(
            issued(t0, &static_role, 0.0).step,
            Step::Rotate(t0 + Duration::from_secs(4) + STATIC_SETTLE)
        );
    }

    #[test]
    fn zero_and_absurd_ttls_have_a_clear_schedule_and_no_panic() {
        let t0 = Instant::now();
        let zero = issued(t0, &leased(0, true), 0.5);
        assert_eq!((zero.expires, zero.step), (None, Step::Keep));
        let huge = issued(t0, &leased(u64::MAX, true), 0.5);
        assert!(
            huge.expires
                .is_some_and(|e| e > t0 + Duration::from_secs(3600))
        );
        assert!(matches!(huge.step, Step::Renew(t) if t > t0));
        // A static role (no id) with the largest TTL a custom source can give.
        let forever = SecretData::default().with_lease(Some(Duration::MAX));
        assert!(matches!(issued(t0, &forever, 0.5).step, Step::Rotate(t) if t > t0));
        let granted = Renewal::new(Duration::MAX, true);
        assert!(matches!(
            renewed(t0, Duration::MAX, granted, 0.5).1,
            Step::Renew(_)
        ));
    }

    #[test]
    fn a_refused_renewal_rotates_now_and_an_outage_retries_before_the_end() {
        let t0 = Instant::now();
        let ends = Some(t0 + Duration::from_secs(3));
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Denied, ends, 0),
            Step::Rotate(t0)
        );
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Malformed, ends, 0),
            Step::Rotate(t0)
        );
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, ends, 0),
            Step::Renew(t0 + Duration::from_millis(500))
        );
        let close = Some(t0 + Duration::from_millis(600));
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, close, 5),
            Step::Renew(t0 + Duration::from_millis(200))
        );
        assert_eq!(
            renewal_failed(t0, SourceErrorKind::Unavailable, Some(t0), 7),
            Step::Rotate(t0)
        );
    }

    #[test]
    fn new_credentials_are_pending_until_published_and_a_rejected_refresh_revokes_them() {
        let t0 = Instant::now();
        let mut keeper = Keeper::new(Some(Duration::from_secs(1)));
        assert!(keeper.due(&path(), t0));
        keeper.read(&path(), &owned(60, "first-lease-0001", 1), t0, 0.0);
        assert!(
            keeper.published(&path()).is_none(),
            "not published before settle"
        );
        keeper.settle(Some(&used()), t0);
        assert_eq!(keeper.health(&used(), t0)[0].generation, 1);
        // A rotation read, then the refresh rejected: the new lease goes at once, the
        // published one stays, and the rotation backs off.
        let t1 = t0 + Duration::from_secs(50);
        keeper.read(&path(), &owned(60, "second-lease-002", 1), t1, 0.0);
        keeper.settle(None, t1);
        assert_eq!(
            keeper.retired_due(t1),
            vec!["database/creds/app/second-lease-002".to_owned()]
        );
        let health = &keeper.health(&used(), t1)[0];
        assert_eq!(
            (health.generation, health.lease.as_deref()),
            (1, Some("database/creds/app/…0001"))
        );
        assert!(health.last_error.is_some());
        // Published: the old lease is revoked after the grace.
        keeper.read(&path(), &owned(60, "third-lease-0003", 1), t1, 0.0);
        keeper.settle(Some(&used()), t1);
        assert_eq!(keeper.health(&used(), t1)[0].generation, 2);
        assert!(keeper.retired_due(t1).is_empty());
        assert_eq!(
            keeper.retired_due(t1 + Duration::from_secs(1)),
            vec!["database/creds/app/first-lease-0001".to_owned()]
        );
    }

    #[test]
    fn a_replaced_owner_makes_its_leases_due_caps_their_life_and_is_released_after() {
        let t0 = Instant::now();
        let mut keeper = Keeper::new(Some(Duration::from_secs(30)));
        keeper.observe_tokens(&status(1, &[]), t0);
        keeper.read(&path(), &owned(3600, "owned-by-one-001", 1), t0, 0.0);
        keeper.settle(Some(&used()), t0);
        assert!(!keeper.rotation_due(t0));
        // A new login; the old token has 5 s left: the lease is due now and health says 5 s.
        keeper.observe_tokens(&status(2, &[(1, 5)]), t0);
        assert!(keeper.rotation_due(t0));
        let health = &keeper.health(&used(), t0)[0];
        assert_eq!(
            (health.ttl_remaining, health.rotation_pending),
            (Some(5), true)
        );
        assert_eq!(keeper.owners_in_use(), vec![1]);
        assert!(!keeper.tokens_to_release());
        // Rotated under the new token: the old lease is revoked when its owner ends (before
        // the grace), then the owner is no longer in use.
        keeper.read(&path(), &owned(3600, "owned-by-two-002", 2), t0, 0.0);
        keeper.settle(Some(&used()), t0);
        assert!(!keeper.rotation_due(t0));
        assert!(keeper.retired_due(t0 + Duration::from_secs(4)).is_empty());
        assert_eq!(keeper.retired_due(t0 + Duration::from_secs(5)).len(), 1);
        assert_eq!(keeper.owners_in_use(), vec![2]);
        assert!(keeper.tokens_to_release());
        // A gone owner (not listed): the lease ends now.
        keeper.observe_tokens(&status(3, &[]), t0);
        assert_eq!(keeper.health(&used(), t0)[0].ttl_remaining, Some(0));
    }

    #[test]
    fn a_rotation_a_refresh_did_not_do_waits_and_an_unused_lease_is_retired() {
        let t0 = Instant::now();
        let mut keeper = Keeper::new(None);
        keeper.read(&path(), &leased(120, false), t0, 0.0);
        keeper.settle(Some(&used()), t0);
        let later = t0 + Duration::from_secs(85);
        assert!(keeper.rotation_due(later));
        keeper.settle(Some(&used()), later);
        assert!(!keeper.rotation_due(later), "deferred, not retried at once");
        assert_eq!(
            keeper.next_wake(later),
            Some(later + Duration::from_millis(500))
        );
        // The field now comes from env: its lease is given back after the grace.
        keeper.settle(Some(&[]), later);
        assert!(keeper.slots.is_empty());
        assert_eq!(keeper.retired.len(), 1);
        assert_eq!(keeper.take_all().len(), 1);
    }

    #[test]
    fn a_renewal_that_works_does_not_cut_the_backoff_of_a_rotation_that_fails() {
        let t0 = Instant::now();
        let mut keeper = Keeper::new(None);
        keeper.observe_tokens(&status(1, &[]), t0);
        keeper.read(&path(), &owned(3, "owned-by-one-001", 1), t0, 0.0);
        keeper.settle(Some(&used()), t0);
        // A new login: the lease must move, and every refresh that would move it is rejected.
        keeper.observe_tokens(&status(2, &[(1, 3600)]), t0);
        let mut at = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            assert!(keeper.due(&path(), at));
            keeper.settle(None, at);
            let next = keeper.slots[&path()].retry_at.unwrap();
            waits.push((next - at).as_millis());
            // Meanwhile the published lease is renewed, and that works.
            let renewed = Ok(Renewal::new(Duration::from_secs(3), true));
            let id = "database/creds/app/owned-by-one-001";
            keeper.renewal(&path(), id, Duration::from_secs(3), renewed, at, 0.0);
            at = next;
        }
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 10000]);
    }

    fn status(current: u64, superseded: &[(u64, u64)]) -> SourceStatus {
        let mut status = SourceStatus::connected();
        status.token_generation = Some(current);
        status.superseded_tokens = superseded
            .iter()
            .map(|(g, s)| TokenLife::new(*g, Some(Duration::from_secs(*s))))
            .collect();
        status
    }
}
