//! Which failures are retried, and how long to wait between attempts.

use std::time::Duration;

/// When and how often a failed request is retried.
///
/// - **Transient**, retried: connection errors, timeouts, HTTP 412 (Enterprise consistency),
///   429 (standby or rate limit) and every 5xx except 501 (not initialized).
/// - **Fatal**, returned at once: every other 4xx (403 denied, 404 missing, 400 bad request),
///   and 501.
/// - **Backoff**: exponential from `initial`, doubling per attempt, capped at `max`; each wait
///   is drawn uniformly from the upper half of that value (jitter, so a fleet restarting
///   together does not retry in lockstep). A `Retry-After` header, when longer, is honoured up
///   to `max`.
///
/// ```
/// use std::time::Duration;
/// use vault_config_vault::RetryPolicy;
/// let policy = RetryPolicy::default();
/// assert!(RetryPolicy::is_transient_status(503) && !RetryPolicy::is_transient_status(501));
/// let wait = policy.backoff(1, None);
/// assert!(wait >= Duration::from_millis(125) && wait <= Duration::from_millis(250));
/// assert_eq!(policy.backoff(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
/// assert!(policy.backoff(30, None) <= policy.max);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (`VAULT_MAX_RETRIES`, default 2 as in Vault's Go client).
    pub max_retries: u32,
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy with these limits.
    pub fn new(max_retries: u32, initial: Duration, max: Duration) -> Self {
        RetryPolicy {
            max_retries,
            initial,
            max: max.max(initial),
        }
    }

    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether an HTTP status is worth retrying.
    pub fn is_transient_status(status: u16) -> bool {
        status == 412 || status == 429 || (status >= 500 && status != 501)
    }

    /// The wait before retry number `retry` (1-based).
    pub fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max);
        let half = exp / 2;
        let jittered = half + half.mul_f64(fastrand::f64());
        match retry_after {
            Some(after) if after > jittered => after.min(self.max),
            _ => jittered,
        }
    }
}
