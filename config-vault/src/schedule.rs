//! The one schedule of everything live settings keep alive — the login token, each lease,
//! the refresh — as pure functions of the time, a TTL and a random draw, so that the engine
//! and its simulation get the same answers: act at about two thirds of a TTL with jitter
//! (Vault's `LifetimeWatcher`), back off on failure, never schedule past ten years.

use std::time::Duration;

use tokio::time::Instant;

/// The longest wait ever scheduled: ten years. A TTL, lease or interval beyond it (up to
/// 2^64-1 seconds from a server, env or code) counts as this, so `now + wait` never
/// overflows; for a service, ten years is "never".
pub(crate) const LONGEST_WAIT: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The longest wait between attempts while something fails (Vault away, a refresh
/// rejected): 10 s.
pub(crate) const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Up to this share of each wait before a refresh is cut at random, so that instances started
/// together (a deployment, a fleet) spread their refreshes instead of asking the server at
/// once. A refresh never comes later than its interval.
const REFRESH_JITTER: f64 = 0.1;

/// A duration as it may be scheduled: clamped to [`LONGEST_WAIT`].
pub(crate) fn bounded(d: Duration) -> Duration {
    d.min(LONGEST_WAIT)
}

/// `now + d`, never overflowing.
pub(crate) fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(bounded(d))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}

/// A draw in `[0, 1]`, whatever was given (NaN counts as 0).
fn unit(draw: f64) -> f64 {
    if draw.is_nan() {
        0.0
    } else {
        draw.clamp(0.0, 1.0)
    }
}

/// When to renew something granted for `ttl`: two thirds of it plus a third of a grace drawn
/// from 10–20 % of it (Go's `api.LifetimeWatcher`), so about 70–73 % of the TTL; `draw` in
/// `[0, 1]` picks the grace.
pub(crate) fn renew_after(ttl: Duration, draw: f64) -> Duration {
    let ttl = bounded(ttl);
    ttl.mul_f64(2.0 / 3.0) + grace(ttl, draw) / 3
}

/// The margin kept before something granted for `ttl` runs out, for its replacement: 10–20 %
/// of the TTL (`draw` in `[0, 1]`).
pub(crate) fn grace(ttl: Duration, draw: f64) -> Duration {
    bounded(ttl).mul_f64(0.1 + 0.1 * unit(draw))
}

/// The wait after `failures` failures in a row: 0.5 s, 1 s, 2 s, … up to [`LONGEST_RETRY`].
pub(crate) fn backoff(failures: u32) -> Duration {
    Duration::from_millis(500)
        .saturating_mul(1u32 << failures.min(8))
        .min(LONGEST_RETRY)
}

/// The wait before the next refresh: the interval, or sooner when a cached secret's lease
/// (KV v1 `lease_duration`) runs out first (at 85 % of it, as Agent), less a random share of
/// up to [`REFRESH_JITTER`] (`draw` in `[0, 1]`); at least 10 ms.
pub(crate) fn refresh_after(
    interval: Duration,
    shortest_lease: Option<Duration>,
    draw: f64,
) -> Duration {
    let hint = shortest_lease.map(|l| l.mul_f64(0.85));
    let wait = bounded(hint.map_or(interval, |h| h.min(interval)));
    wait.mul_f64(1.0 - REFRESH_JITTER * unit(draw))
        .max(Duration::from_millis(10))
}

/// [`refresh_after`] with a random draw.
pub(crate) fn next_refresh(interval: Duration, shortest_lease: Option<Duration>) -> Duration {
    refresh_after(interval, shortest_lease, fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_at_about_two_thirds_with_jitter_and_absurd_ttls_are_bounded() {
        let ttl = Duration::from_secs(300);
        assert_eq!(renew_after(ttl, 0.0), Duration::from_secs(210));
        assert_eq!(renew_after(ttl, 1.0), Duration::from_secs(220));
        assert_eq!(renew_after(ttl, f64::NAN), Duration::from_secs(210));
        assert_eq!(grace(ttl, 0.5), Duration::from_secs(45));
        assert!(renew_after(Duration::MAX, 1.0) < LONGEST_WAIT);
        let t0 = Instant::now();
        assert!(after(t0, Duration::MAX) > t0 + Duration::from_secs(3600));
        assert_eq!(backoff(0), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(u32::MAX), LONGEST_RETRY);
    }

    #[test]
    fn a_refresh_comes_within_the_jitter_before_its_interval_never_after() {
        let minute = Duration::from_secs(60);
        assert_eq!(refresh_after(minute, None, 0.0), minute);
        assert_eq!(refresh_after(minute, None, 1.0), Duration::from_secs(54));
        assert_eq!(refresh_after(minute, None, 0.5), Duration::from_secs(57));
        // A lease sooner than the interval: 85 % of it, then the jitter.
        let lease = Some(Duration::from_secs(20));
        assert_eq!(refresh_after(minute, lease, 0.0), Duration::from_secs(17));
        // Out-of-range draws and absurd intervals are clamped, never a panic.
        assert_eq!(refresh_after(minute, None, f64::NAN), minute);
        assert_eq!(refresh_after(minute, None, -3.0), minute);
        assert_eq!(refresh_after(Duration::MAX, None, 0.0), LONGEST_WAIT);
        assert_eq!(
            refresh_after(Duration::ZERO, None, 0.3),
            Duration::from_millis(10)
        );
        // Drawn at random, the waits spread over the whole window.
        let waits: Vec<Duration> = (0..1000).map(|_| next_refresh(minute, None)).collect();
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
