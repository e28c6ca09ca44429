//! The one duration grammar of vault-config, for `std::time::Duration` fields (from env, Vault
//! and `default = "..."`), `#[config(refresh = "...")]` (checked by the derive at compile
//! time), and the client's variables (`VAULT_CLIENT_TIMEOUT`, `VAULT_REFRESH_INTERVAL`).
//!
//! A bare number is seconds (`30`, `1.5`); otherwise one or more `<number><unit>` parts, spaces
//! allowed between them (`500ms`, `30s`, `1m30s`, `2h 15m`, `1d`), units `ns`, `us` (`µs`),
//! `ms`, `s`, `m`, `h`, `d`. Numbers may have a fraction (`1.5h`); negative numbers, other
//! units and empty text are refused. An absurd but valid size (2^64-1 seconds and beyond)
//! saturates to `Duration::MAX`, which every scheduler bounds before use: it never panics.

use std::time::Duration;

/// What the grammar accepts, for error messages.
pub const EXPECTED: &str = "a duration such as 30 (seconds), 30s, 1m30s, 500ms or 2h";

/// Parses `text` by the grammar above; `None` when it does not follow it.
///
/// ```
/// use std::time::Duration;
/// use vault_config_core::duration::parse;
/// assert_eq!(parse("30"), Some(Duration::from_secs(30)));
/// assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
/// assert_eq!(parse("2h 15m"), Some(Duration::from_secs(8100)));
/// assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
/// assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
/// assert_eq!(parse("18446744073709551615"), Some(Duration::MAX));
/// assert_eq!(parse("30x"), None);
/// assert_eq!(parse("-1s"), None);
/// assert_eq!(parse("1m30"), None);
/// assert_eq!(parse("soon"), None);
/// assert_eq!(parse("1e999"), None);
/// ```
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(secs) = number(text) {
        return Some(saturating_secs(secs));
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let n = number(&rest[..digits])?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return None,
        };
        rest = rest[unit_len..].trim_start();
        total = total.saturating_add(saturating_secs(n * scale));
    }
    Some(total)
}

/// A plain non-negative decimal number (`30`, `1.5`); `None` for anything else.
fn number(text: &str) -> Option<f64> {
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().any(|b| b.is_ascii_digit());
    plain.then(|| text.parse::<f64>().ok()).flatten()
}

fn saturating_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// `duration` in at most two units of the grammar, rounded down, for people: `23h59m`, `4m10s`,
/// `45s`, `2d3h`; parsed back it is at most `duration`.
///
/// ```
/// use std::time::Duration;
/// use vault_config_core::duration::{format, parse};
/// assert_eq!(format(Duration::from_secs(86_340)), "23h59m");
/// assert_eq!(format(Duration::from_secs(250)), "4m10s");
/// assert_eq!(format(Duration::from_secs(3600)), "1h");
/// assert_eq!(format(Duration::from_secs(45)), "45s");
/// assert_eq!(format(Duration::from_secs(183_600)), "2d3h");
/// assert_eq!(format(Duration::ZERO), "0s");
/// assert!(parse(&format(Duration::MAX)).is_some());
/// ```
pub fn format(duration: Duration) -> String {
    let units = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)];
    let mut left = duration.as_secs();
    let mut parts = Vec::new();
    for (name, size) in units {
        if left >= size && parts.len() < 2 {
            parts.push(format!("{}{name}", left / size));
            left %= size;
        } else if !parts.is_empty() {
            // Two adjacent units at most: `1d` then `0h` ends it, never `1d5s`.
            break;
        }
    }
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.concat()
    }
}
