//! A soak of live settings against the real OpenBao and PostgreSQL of `scripts/dev-vault`,
//! compressed in time: a refresh every 50 ms, a KV version written every second, four leased
//! fields, each on a database role of 1 s TTL and 3 s max TTL (each rotated about every 2 s), and a
//! login token of 2 s TTL and 6 s max TTL (a new login about every 4 s).
//!
//! Every `SOAK_SAMPLE_SECONDS` (default 5) it samples the process's resident memory, open file
//! descriptors and threads, and on the server the tokens of its AppRole role and the leases of
//! its database role that are alive; with the refreshes, lease rotations and logins so far.
//! Bounds checked at every sample: at most 3 tokens and 3 leases per field alive. After
//! `shutdown()`: no token and no lease. The samples go to `target/reliability/soak.json`;
//! `scripts/reliability_report.py` fits their slopes for RELIABILITY.md.
//!
//! `SOAK_SECONDS` sets the length (default 20, the short run `scripts/test` makes);
//! `scripts/reliability` runs 600 s and asks (`SOAK_MIN=1`) for at least 10,000 refreshes,
//! 1,000 rotations and 100 logins.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::live::Live;
use vault_config::source::SecretSource;
use vault_config::vault::VaultClient;
use vault_config::{SecretString, VaultConfig};

use crate::fixtures::dev_vault::{self, DevVault};

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code, reason = "only its lease matters here")]
struct Creds {
    username: String,
    password: SecretString,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "SOAK_")]
#[allow(dead_code, reason = "the leased fields are held, not read")]
struct Soak {
    #[config(vault(path = "soak", key = "generation"))]
    generation: u64,
    #[config(lease = "database/creds/soak-a")]
    a: Creds,
    #[config(lease = "database/creds/soak-b")]
    b: Creds,
    #[config(lease = "database/creds/soak-c")]
    c: Creds,
    #[config(lease = "database/creds/soak-d")]
    d: Creds,
}

/// The leased fields, each on a role of its own.
const FIELDS: [&str; 4] = ["a", "b", "c", "d"];

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `/proc/self/status` field `name` (`VmRSS` in KiB, `Threads`).
fn proc_status(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// The leases of the soak's database roles alive on the server (listed, and not expired
/// before the server swept them).
fn leases_alive(v: &DevVault) -> u64 {
    let mut alive = 0;
    for field in FIELDS {
        let prefix = format!("database/creds/soak-{field}");
        let (_, list) = v.call("LIST", &format!("sys/leases/lookup/{prefix}"), None);
        for id in list["data"]["keys"].as_array().into_iter().flatten() {
            let lease_id = format!("{prefix}/{}", id.as_str().unwrap_or_default());
            let (_, info) = v.call(
                "PUT",
                "sys/leases/lookup",
                Some(&json!({ "lease_id": lease_id })),
            );
            if dev_vault::not_expired(&info) {
                alive += 1;
            }
        }
    }
    alive
}

#[derive(serde::Serialize)]
struct Sample {
    seconds: f64,
    rss_kib: u64,
    fds: u64,
    threads: u64,
    tokens: u64,
    leases: u64,
    refreshes: u64,
    rotations: u64,
    logins: u64,
}

#[test]
fn rfc3339_times_read_as_unix_seconds() {
    assert_eq!(dev_vault::unix_seconds("1970-01-01T00:00:00Z"), Some(0.0));
    assert_eq!(
        dev_vault::unix_seconds("2026-12-03T16:20:01.5Z"),
        Some(1_796_314_801.5)
    );
    assert_eq!(
        dev_vault::unix_seconds("2000-02-29T00:00:00Z"),
        Some(951_782_400.0)
    );
    assert_eq!(dev_vault::unix_seconds("garbage"), None);
}

#[test]
fn live_settings_stay_flat_over_a_long_run() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(v) = DevVault::get() else { return };
    let seconds = env_secs("SOAK_SECONDS", 20);
    let every = Duration::from_secs(env_secs("SOAK_SAMPLE_SECONDS", 5).max(1));
    let create = [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
    ];
    for field in FIELDS {
        let (status, body) = v.call(
            "POST",
            &format!("database/roles/soak-{field}"),
            Some(&json!({ "db_name": "pg", "default_ttl": "1s", "max_ttl": "3s", "creation_statements": create })),
        );
        assert!((200..300).contains(&status), "{body}");
    }
    let role = crate::fixtures::unique("soak");
    let (role_id, secret_id) =
        v.approle(&role, json!({ "token_ttl": "2s", "token_max_ttl": "6s" }));
    v.write("secret/soak", json!({ "generation": 0 }));

    let client = VaultClient::builder()
        .address(&v.addr)
        .approle(role_id, secret_id)
        .build()
        .unwrap();
    let loader = Soak::loader()
        .env_vars::<_, String, String>([])
        .vault(client.clone());
    let live = Live::builder(loader)
        .refresh_every(Duration::from_millis(50))
        .lease_grace(Duration::from_millis(500))
        .start()
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, addr, root) = (Arc::clone(&stop), v.addr.clone(), v.root.clone());
        std::thread::spawn(move || {
            let mut generation = 0u64;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(1));
                generation += 1;
                dev_vault::request(
                    &addr,
                    &root,
                    None,
                    "POST",
                    "secret/data/soak",
                    Some(&json!({ "data": { "generation": generation } })),
                );
            }
            generation
        })
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let mut samples = Vec::new();
    let sample = |samples: &mut Vec<Sample>| {
        let health = live.health();
        let status = rt.block_on(client.status());
        let s = Sample {
            seconds: started.elapsed().as_secs_f64(),
            rss_kib: proc_status("VmRSS"),
            fds: open_fds(),
            threads: proc_status("Threads"),
            tokens: v.tokens_of_role(&role) as u64,
            leases: leases_alive(&v),
            refreshes: health.refreshes,
            rotations: health.leases.iter().map(|l| l.generation - 1).sum(),
            logins: status.token_generation.unwrap_or(0),
        };
        assert!(s.tokens <= 3, "{} tokens alive", s.tokens);
        assert!(
            s.leases <= 3 * FIELDS.len() as u64,
            "{} leases alive for {} fields",
            s.leases,
            FIELDS.len()
        );
        samples.push(s);
    };
    while started.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(
            every.min(Duration::from_secs(seconds).saturating_sub(started.elapsed())),
        );
        sample(&mut samples);
    }
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    // The last version arrives within a few refreshes.
    crate::fixtures::wait_until(Duration::from_secs(10), || {
        live.current().generation >= written
    });
    assert_eq!(live.current().generation, written, "the last KV version");
    let last = samples.last().expect("a sample");
    let (refreshes, rotations, logins) = (last.refreshes, last.rotations, last.logins);
    let failed = live.health().failed_refreshes;
    live.shutdown();
    drop(client);
    // Given back: the library waits for its revocations at shutdown.
    let (tokens, leases) = (v.tokens_of_role(&role) as u64, leases_alive(&v));

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/reliability");
    std::fs::create_dir_all(&out).unwrap();
    let report = json!({
        "seconds": seconds,
        "refreshes": refreshes,
        "failed_refreshes": failed,
        "rotations": rotations,
        "logins": logins,
        "tokens_after_shutdown": tokens,
        "leases_after_shutdown": leases,
        "samples": samples,
    });
    std::fs::write(out.join("soak.json"), report.to_string()).unwrap();

    assert_eq!((tokens, leases), (0, 0), "left alive after shutdown");
    assert!(refreshes > 0 && rotations > 0 && logins > 1, "{report}");
    if std::env::var("SOAK_MIN").is_ok() {
        assert!(
            refreshes >= 10_000 && rotations >= 1_000 && logins >= 100,
            "{refreshes} refreshes, {rotations} rotations, {logins} logins"
        );
    }
}
