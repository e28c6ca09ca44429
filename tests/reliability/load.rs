//! Concurrency and load against the real Vault-API server (`scripts/dev-vault`):
//!
//! - many `load_async()` at once, through one shared client and through one client (and one
//!   AppRole login) each: every load gets the right values;
//! - reader threads on live settings while the server's secret rotates and a fault-injecting
//!   proxy breaks every other refresh (errors, resets, missing secret, malformed body): no
//!   reader ever sees a pair from two rotations, refreshes keep succeeding between faults, and
//!   shutdown finishes (no deadlock).
//!
//! Sizes are small by default; `scripts/reliability` raises them with `RELIABILITY_ROUNDS`,
//! `RELIABILITY_CONCURRENCY` and `RELIABILITY_SECONDS`. Figures (latencies, resident memory
//! per round) go to `target/reliability/load-*.json` for RELIABILITY.md; they are reported,
//! not asserted.

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dev_vault::DevVault;
use fault_proxy::{Action, Canned, FaultProxy, Rule};
use serde_json::json;
use vault_config::live::Live;
use vault_config::vault::{RetryPolicy, VaultClient};
use vault_config::{ExposeSecret, SecretString, VaultConfig};

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident and peak resident memory of this process, in KiB (Linux).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn write_figures(name: &str, value: &serde_json::Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/reliability");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("load-{name}.json")),
        serde_json::to_string_pretty(value).unwrap(),
    )
    .unwrap();
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "load-test"), env_prefix = "LT_")]
struct Loaded {
    #[config(secret)]
    db_password: SecretString,
    #[config(vault(key = "pool"))]
    pool: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_loads_against_the_real_server() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(dv) = DevVault::get() else { return };
    dv.write(
        "secret/load-test",
        json!({ "db_password": "load-test-password", "pool": 16 }),
    );
    let rounds = knob("RELIABILITY_ROUNDS", 3);
    let n = knob("RELIABILITY_CONCURRENCY", 100) as usize;
    let shared = VaultClient::builder()
        .address(dv.addr.clone())
        .token(dv.root.clone())
        .build()
        .unwrap();
    let mut figures = Vec::new();
    for round in 0..rounds {
        for mode in ["shared client", "client per load (AppRole login each)"] {
            let started = Instant::now();
            let loads = (0..n).map(|_| {
                let loader = if mode == "shared client" {
                    Loaded::loader()
                        .env_vars::<_, String, String>([])
                        .vault(shared.clone())
                } else {
                    Loaded::loader().env_vars(dv.approle_env())
                };
                async move {
                    let t = Instant::now();
                    (loader.load_async().await, t.elapsed())
                }
            });
            let results = futures_join_all(loads).await;
            let wall = started.elapsed();
            let mut latencies: Vec<u64> = Vec::with_capacity(n);
            for (result, took) in results {
                let loaded = result.unwrap_or_else(|e| panic!("a concurrent load failed: {e}"));
                assert_eq!(loaded.db_password.expose_secret(), "load-test-password");
                assert_eq!(loaded.pool, 16);
                latencies.push(took.as_millis() as u64);
            }
            latencies.sort_unstable();
            let (rss, peak) = memory_kib();
            figures.push(json!({
                "round": round + 1, "mode": mode, "loads": n, "wall_ms": wall.as_millis() as u64,
                "p50_ms": percentile(&latencies, 0.5), "p99_ms": percentile(&latencies, 0.99),
                "max_ms": latencies.last().copied().unwrap_or(0),
                "rss_kib": rss, "peak_rss_kib": peak,
            }));
        }
    }
    write_figures("concurrent-loads", &json!(figures));
}

/// `join_all` without another dependency: spawn each and await in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("a load task panicked"));
    }
    out
}

fn same_rotation(p: &Pair) -> Result<(), String> {
    let user = p.user.rsplit('-').next();
    let pass = p.pass.expose_secret().rsplit('-').next();
    if user == pass {
        Ok(())
    } else {
        Err("user and pass are from different rotations".into())
    }
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "storm"), env_prefix = "ST_", validate = same_rotation)]
struct Pair {
    #[config(vault(key = "user"))]
    user: String,
    #[config(secret)]
    pass: SecretString,
}

#[test]
fn readers_during_a_refresh_storm_with_faults() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(dv) = DevVault::get() else { return };
    let seconds = knob("RELIABILITY_SECONDS", 3);
    let rotate = |n: u64| {
        dv.write(
            "secret/storm",
            json!({ "user": format!("user-{n}"), "pass": format!("pass-{n}") }),
        );
    };
    rotate(0);
    let proxy = FaultProxy::start(&dv.addr);
    // Every other read is broken one way or another. A refresh checks the KV v2 metadata and
    // re-reads when the version moved (every rotation, 20 ms), so the faults hit re-reads;
    // faults on the metadata check would only turn it into a re-read.
    let faults = vec![
        Action::Forward,
        Action::Reply(Canned::json(500, json!({ "errors": ["internal error"] }))),
        Action::Forward,
        Action::ResetMidBody,
        Action::Forward,
        Action::Reply(Canned::raw(404, "application/json", "")),
        Action::Forward,
        Action::Reply(Canned::raw(200, "application/json", "{\"data\": {")),
        Action::Forward,
        Action::Truncate,
    ];
    proxy.rule(Rule::on("secret/data/", Action::Cycle(Arc::new(faults))).after(1));
    let client = VaultClient::builder()
        .address(proxy.url())
        .token(dv.root.clone())
        .timeout(Duration::from_millis(500))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let live = Live::builder(
        Pair::loader()
            .env_vars::<_, String, String>([])
            .vault(client),
    )
    .refresh_every(Duration::from_millis(5))
    .start()
    .unwrap();
    let (rss_before, _) = memory_kib();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let torn = Arc::new(AtomicU64::new(0));
    let mut seen_rotations = std::collections::BTreeSet::new();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (live, stop, reads, torn) = (
                live.clone(),
                Arc::clone(&stop),
                Arc::clone(&reads),
                Arc::clone(&torn),
            );
            std::thread::spawn(move || {
                let mut rotations = std::collections::BTreeSet::new();
                while !stop.load(Ordering::Relaxed) {
                    let current = live.current();
                    if same_rotation(&current).is_err() {
                        torn.fetch_add(1, Ordering::Relaxed);
                    }
                    rotations.insert(current.user.clone());
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                rotations
            })
        })
        .collect();
    let started = Instant::now();
    let mut n = 0;
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(seconds) {
        n += 1;
        rotate(n);
        std::thread::sleep(Duration::from_millis(20));
        if n % 25 == 0 {
            samples.push(
                json!({ "at_ms": started.elapsed().as_millis() as u64, "rss_kib": memory_kib().0 }),
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        seen_rotations.extend(r.join().expect("a reader panicked"));
    }
    let health = live.health();
    let (rss_after, peak) = memory_kib();

    // Shutdown must finish: a deadlock would hang here, so it runs on a watched thread.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        live.shutdown();
        let _ = done_tx.send(());
    });
    let shutdown = done_rx.recv_timeout(Duration::from_secs(10));

    let figures = json!({
        "seconds": seconds, "readers": 8, "reads": reads.load(Ordering::Relaxed),
        "rotations_written": n, "rotations_seen_by_readers": seen_rotations.len(),
        "refreshes": health.refreshes, "failed_refreshes": health.failed_refreshes,
        "torn_reads": torn.load(Ordering::Relaxed),
        "rss_kib_before": rss_before, "rss_kib_after": rss_after, "peak_rss_kib": peak,
        "rss_samples": samples,
    });
    write_figures("refresh-storm", &figures);
    assert!(shutdown.is_ok(), "shutdown did not finish: {figures}");
    assert_eq!(torn.load(Ordering::Relaxed), 0, "torn reads: {figures}");
    assert!(
        health.failed_refreshes > 0 && health.refreshes > 0,
        "the storm should see both: {figures}"
    );
    assert!(
        seen_rotations.len() > 1,
        "readers should see rotations: {figures}"
    );
}
