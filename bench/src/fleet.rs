//! Scenario 6: a fleet. Many service instances (each a live handle with its own client, login
//! and token) start at once against the one OpenBao over TLS, then refresh for a while. Run in a
//! child process, so that its metrics recorder and its CPU are its own.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vault_config::VaultConfig;
use vault_config::live::Live;

use crate::memory::Memory;
use crate::report::{Stats, stats};
use crate::{Paths8, Server};

/// Scenario 6's results.
#[derive(Debug, Serialize, Deserialize)]
pub struct Fleet {
    pub instances: usize,
    pub paths: usize,
    pub refresh_secs: u64,
    pub run_secs: u64,
    /// From the common start to each instance's settings loaded.
    pub startup: Stats,
    pub startup_failed: usize,
    /// From the common start to the last instance started, in seconds.
    pub startup_wall_s: f64,
    /// Requests by operation (`vault_config_requests_total`), during start-up and during the
    /// refresh phase.
    pub startup_requests: BTreeMap<String, u64>,
    pub refresh_requests: BTreeMap<String, u64>,
    pub refreshes: u64,
    pub failed_refreshes: u64,
    /// Refreshes that began in each second of the refresh phase, all instances together.
    pub refreshes_per_second: Vec<u64>,
    /// The server's CPU time (user + system) in each phase, in seconds; `None` when its
    /// process could not be read.
    pub server_cpu_startup_s: Option<f64>,
    pub server_cpu_refresh_s: Option<f64>,
    /// Token accessors and AppRole login leases alive: before the fleet, at the end of the
    /// refresh phase, and after every instance shut down.
    pub tokens: [usize; 3],
    pub leases: [usize; 3],
    /// The process's memory before the fleet, once every instance started, at the end of the
    /// refresh phase, and after every instance shut down.
    #[serde(default)]
    pub memory: [Memory; 4],
    /// Heap bytes per bare client (`VaultClient::from_env`), before and after its one TLS
    /// connection is opened (a `health()`), measured on as many clients after the fleet: the
    /// part of an instance that is its client and its connection.
    #[serde(default)]
    pub client_heap: [f64; 2],
}

impl Fleet {
    /// Per instance, in bytes, (heap, resident) added since before the fleet: all started, at
    /// the end of the refresh phase, and after shutdown. `None` when the resident set was not
    /// read.
    pub fn memory_per_instance(&self) -> Option<[(f64, f64); 3]> {
        let [before, started, steady, after] = self.memory;
        (before.rss > 0)
            .then(|| [started, steady, after].map(|m| m.per_instance(before, self.instances)))
    }
}

/// Runs the fleet in a child process of this binary and reads its report.
pub fn measure(instances: usize, secs: u64, refresh_secs: u64) -> Fleet {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .args([
            "fleet-child",
            &instances.to_string(),
            &secs.to_string(),
            &refresh_secs.to_string(),
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("fleet child");
    assert!(out.status.success(), "the fleet child failed");
    serde_json::from_slice(&out.stdout).expect("fleet child output")
}

/// The server's user + system CPU seconds so far (`$DEV_VAULT_STATE/pid`, else
/// `.dev-vault/pid`; `/proc/<pid>/stat`).
fn server_cpu() -> Option<f64> {
    let state = std::env::var("DEV_VAULT_STATE").unwrap_or_else(|_| ".dev-vault".into());
    let pid = std::fs::read_to_string(std::path::Path::new(&state).join("pid")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Some(ticks / hz)
}

/// `LIST` of `path` with the root token: how many keys.
async fn count(http: &reqwest::Client, server: &Server, path: &str) -> usize {
    let reply = http
        .request(
            reqwest::Method::from_bytes(b"LIST").expect("LIST"),
            format!("{}/v1/{path}", server.http),
        )
        .header("X-Vault-Token", &server.root)
        .send()
        .await
        .expect("list");
    if reply.status() == reqwest::StatusCode::NOT_FOUND {
        return 0;
    }
    let body: serde_json::Value = reply.json().await.expect("list body");
    body["data"]["keys"].as_array().map_or(0, Vec::len)
}

/// Tokens alive on the server now (every accessor), from synchronous code.
pub fn tokens_alive(server: &Server) -> usize {
    crate::runtime()
        .block_on(async { count(&reqwest::Client::new(), server, "auth/token/accessors").await })
}

async fn alive(http: &reqwest::Client, server: &Server) -> (usize, usize) {
    (
        count(http, server, "auth/token/accessors").await,
        count(http, server, "sys/leases/lookup/auth/approle/login/").await,
    )
}

/// Requests by operation since the last snapshot (the recorder's counters reset on each).
fn requests(snapshotter: &metrics_util::debugging::Snapshotter) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        if key.name() != "vault_config_requests_total" {
            continue;
        }
        let metrics_util::debugging::DebugValue::Counter(n) = value else {
            continue;
        };
        let op = key
            .labels()
            .find(|l| l.key() == "operation")
            .map_or_else(|| "?".to_owned(), |l| l.value().to_owned());
        *out.entry(op).or_default() += n;
    }
    out
}

/// Heap bytes per client of `n` bare clients, built, then with their TLS connection open (a
/// `health()` with the root token, which is static: nothing to log in, nothing to revoke).
async fn clients_heap(server: &Server, n: usize) -> [f64; 2] {
    let env: vault_config::EnvSnapshot = [
        ("VAULT_ADDR", server.tls.as_str()),
        ("VAULT_CACERT", server.cacert.as_str()),
        ("VAULT_TOKEN", server.root.as_str()),
    ]
    .into_iter()
    .collect();
    let before = Memory::now();
    let clients: Vec<_> = (0..n)
        .map(|_| vault_config::vault::VaultClient::from_env(&env).expect("client"))
        .collect();
    let (built, _) = Memory::now().per_instance(before, n);
    for health in futures_util::future::join_all(clients.iter().map(|c| c.health())).await {
        assert!(
            health.authenticated,
            "a bare client's health: {:?}",
            health.error
        );
    }
    let (connected, _) = Memory::now().per_instance(before, n);
    drop(clients);
    [built, connected]
}

/// The child: `fleet-child <instances> <seconds> <refresh seconds>`; prints a [`Fleet`].
pub fn child(args: &[String]) {
    let arg = |i: usize| -> u64 { args[i].parse().expect("fleet-child N SECS REFRESH") };
    let (instances, secs, refresh_secs) = (arg(0) as usize, arg(1), arg(2));
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("metrics recorder");
    let server = Server::from_env();
    let rt = crate::runtime();
    let fleet = rt.block_on(async {
        let http = reqwest::Client::new();
        let (tokens_before, leases_before) = alive(&http, &server).await;
        let env = vec![
            ("VAULT_ADDR".to_owned(), server.tls.clone()),
            ("VAULT_CACERT".to_owned(), server.cacert.clone()),
            ("VAULT_ROLE_ID".to_owned(), server.role_id.clone()),
            ("VAULT_SECRET_ID".to_owned(), server.secret_id.clone()),
        ];
        let refresh = Duration::from_secs(refresh_secs);
        let cpu_start = server_cpu();
        let memory_before = Memory::now();
        let start = Instant::now();
        let started = futures_util::future::join_all((0..instances).map(|_| {
            let env = env.clone();
            async move {
                let live = Live::builder(Paths8::loader().env_vars(env))
                    .refresh_every(refresh)
                    .start_async()
                    .await;
                (start.elapsed(), live)
            }
        }))
        .await;
        let startup_wall_s = start.elapsed().as_secs_f64();
        let cpu_started = server_cpu();
        let startup_requests = requests(&snapshotter);
        let mut times = Vec::new();
        let mut lives: Vec<Live<Paths8>> = Vec::new();
        for (took, live) in started {
            match live {
                Ok(live) => {
                    times.push(took);
                    lives.push(live);
                }
                Err(report) => eprintln!("fleet: an instance failed to start:\n{report}"),
            }
        }
        let memory_started = Memory::now();
        let startup_failed = instances - lives.len();
        assert!(!times.is_empty(), "no instance of the fleet started");

        // The refresh phase: watch each instance's refresh count; halfway, one secret moves.
        let phase = Instant::now();
        let mut seen: Vec<u64> = lives.iter().map(|l| l.health().refreshes).collect();
        let mut per_second = vec![0u64; secs as usize + 1];
        let mut changed = false;
        while phase.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let second = phase.elapsed().as_secs() as usize;
            for (live, seen) in lives.iter().zip(&mut seen) {
                let now = live.health().refreshes;
                per_second[second.min(secs as usize)] += now - *seen;
                *seen = now;
            }
            if !changed && phase.elapsed() >= Duration::from_secs(secs / 2) {
                changed = true;
                let status = http
                    .post(format!("{}/v1/secret/data/bench/p8/s3", server.http))
                    .header("X-Vault-Token", &server.root)
                    .body(
                        serde_json::json!({ "data": { "k0": "v3-0", "k1": "moved", "k2": "v2", "k3": "v3" } })
                            .to_string(),
                    )
                    .send()
                    .await
                    .expect("write")
                    .status();
                assert!(status.is_success(), "moving a secret: {status}");
            }
        }
        let cpu_refreshed = server_cpu();
        let memory_steady = Memory::now();
        let refresh_requests = requests(&snapshotter);
        let (refreshes, failed_refreshes) = lives.iter().fold((0, 0), |(ok, failed), l| {
            let h = l.health();
            (ok + h.refreshes, failed + h.failed_refreshes)
        });
        let (tokens_end, leases_end) = alive(&http, &server).await;
        futures_util::future::join_all(lives.into_iter().map(Live::shutdown_async)).await;
        let (tokens_after, leases_after) = alive(&http, &server).await;
        let memory_after = Memory::now();
        let client_heap = clients_heap(&server, instances).await;
        let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        Fleet {
            instances,
            paths: 8,
            refresh_secs,
            run_secs: secs,
            startup: stats(&times),
            startup_failed,
            startup_wall_s,
            startup_requests,
            refresh_requests,
            refreshes,
            failed_refreshes,
            refreshes_per_second: per_second,
            server_cpu_startup_s: diff(cpu_start, cpu_started),
            server_cpu_refresh_s: diff(cpu_started, cpu_refreshed),
            tokens: [tokens_before, tokens_end, tokens_after],
            leases: [leases_before, leases_end, leases_after],
            memory: [memory_before, memory_started, memory_steady, memory_after],
            client_heap,
        }
    });
    println!("{}", serde_json::to_string(&fleet).expect("json"));
}
