//! Statistics and the BENCHMARKS.md / benchmarks.json writers.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// Median and 95th percentile of a sample.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct Stats {
    pub runs: usize,
    pub median_us: f64,
    pub p95_us: f64,
}

pub fn stats(samples: &[Duration]) -> Stats {
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((q * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1];
    Stats {
        runs: us.len(),
        median_us: at(0.5),
        p95_us: at(0.95),
    }
}

pub fn ms(us: f64) -> String {
    format!("{:.1} ms", us / 1000.0)
}

/// How scenario 1 reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Transport {
    /// OpenBao's TLS listener: TLS 1.3, HTTP/2 when the client offers it.
    Tls,
    /// Its plain-HTTP listener: HTTP/1.1.
    Http,
}

impl Transport {
    /// The round trips of the best possible one-shot load of `p` paths, as in [`floor_formula`].
    pub fn round_trips(self, p: usize) -> usize {
        match self {
            Transport::Tls => 4,
            // Over HTTP/1.1 the batch runs on at most HTTP1_MAX_IN_FLIGHT connections: one
            // wave of reads per that many paths.
            Transport::Http => {
                3 + usize::from(p > 1) + p.div_ceil(vault_config::vault::HTTP1_MAX_IN_FLIGHT) - 1
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transport::Tls => "TLS",
            Transport::Http => "plain HTTP",
        }
    }
}

/// The floor of scenario 1, in words.
fn floor_formula(t: Transport) -> &'static str {
    match t {
        Transport::Tls => {
            "Floor = 4 × RTT + S(P): TCP handshake + TLS 1.3 handshake + login + one parallel batch of the P reads (multiplexed on the one HTTP/2 connection), the mount's KV version stated (`VAULT_KV_VERSION=2`, as each contender states it by calling its KV v2 API). A load that is not told it detects it first (`sys/internal/ui/mounts`, never a guessed read): one round trip more, shown in the column “version detected”, measured against the floor + 1 RTT. The revocation of the login token, which a one-shot load gives back, runs after `load()` returns (on the library's runtime; a process that exits waits for it at exit, see scenario 5), so it is no longer part of what a load waits for. S(P) is the server's own time for the login and a batch of P parallel reads, each measured without the proxy on a warm connection, medians."
        }
        Transport::Http => {
            "Floor = (3 + [P > 1] + ⌈P / 32⌉ − 1) × RTT + S(P): TCP handshake + login + one parallel batch, and for P > 1 one more TCP handshake, since HTTP/1.1 runs parallel reads on parallel connections, which the batch opens; at most 32 of them (`HTTP1_MAX_IN_FLIGHT`, so that a load never opens hundreds of connections to the server), so each 32 paths more is one round trip more. KV version stated as in 1a. S(P) as above, on P warm connections."
        }
    }
}

/// A contender's result: its timings, or why it could not run.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Contender {
    pub name: String,
    pub stats: Option<Stats>,
    pub error: Option<String>,
}

impl Contender {
    /// Times `runs` runs of `run` (after one warm-up); a panic is recorded as the failure.
    #[cfg(feature = "contenders")]
    pub fn timed(name: &str, runs: usize, mut run: impl FnMut()) -> Contender {
        let timed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::time_runs(runs, &mut run)
        }));
        Contender::from(
            name,
            timed.map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "panicked".to_owned())
            }),
        )
    }

    pub fn from(name: &str, samples: Result<Vec<Duration>, String>) -> Contender {
        let (stats, error) = match samples {
            Ok(s) => (Some(stats(&s)), None),
            Err(e) => (None, Some(e)),
        };
        Contender {
            name: name.to_owned(),
            stats,
            error,
        }
    }
}

/// The server's own time for a load's necessary requests (see `contenders::server_time`).
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize)]
pub struct ServerTime {
    pub login_us: f64,
    pub batch_us: f64,
    pub revoke_us: f64,
}

impl ServerTime {
    /// What a load waits for: the login and the batch (the revocation follows the load).
    pub fn total_us(&self) -> f64 {
        self.login_us + self.batch_us
    }
}

/// One row of scenario 1.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ColdRow {
    pub transport: Transport,
    pub paths: usize,
    pub secrets: usize,
    pub round_trips: usize,
    pub server: ServerTime,
    pub floor_us: f64,
    pub ours: Stats,
    /// The same loads without `VAULT_KV_VERSION`: each detects the mount's version first.
    #[serde(default)]
    pub ours_detected: Option<Stats>,
    /// Tokens alive on the server after our loads of this row (and their give-backs) less
    /// before them: what a long-running process that loads leaves behind.
    #[serde(default)]
    pub tokens_left: Option<i64>,
    pub contenders: Vec<Contender>,
}

impl ColdRow {
    /// The loads that detect the KV version against the floor plus that one round trip.
    fn detected_vs_floor(&self, rtt_us: f64) -> Option<f64> {
        Some(self.ours_detected?.median_us / (self.floor_us + rtt_us))
    }

    fn contender(&self, prefix: &str) -> Option<&Contender> {
        self.contenders.iter().find(|c| c.name.starts_with(prefix))
    }
}

/// Everything measured in one run.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Report {
    pub command: String,
    pub machine: Vec<(String, String)>,
    pub rtt_us: f64,
    pub delay_ms: u64,
    pub cold: Vec<ColdRow>,
    pub env_ours: Stats,
    pub env_figment: Stats,
    pub reads: Vec<(String, f64)>,
    pub compile: Option<(Stats, Stats)>,
    pub cold_start: crate::coldstart::ColdStart,
    pub fleet: crate::fleet::Fleet,
    /// Scenario 7 (`None` with `--skip-compile`).
    #[serde(default)]
    pub graph: Option<crate::graph::Graph>,
}

/// An error message as one short table cell.
fn one_line(e: &str) -> String {
    let line = e.lines().next().unwrap_or("").replace('|', "/");
    line.chars().take(120).collect()
}

/// Scenario 6's target: resident memory per live instance (8 paths, 32 secrets, its own client
/// and TLS connection).
const MEMORY_TARGET_KIB: usize = 256;

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Benchmarks\n\nGenerated by `{}`; every figure below comes from that one run on this machine.\n",
        r.command
    );
    let _ = writeln!(o, "| machine | |\n|---|---|");
    for (k, v) in &r.machine {
        let _ = writeln!(o, "| {k} | {v} |");
    }
    let _ = writeln!(
        o,
        "\n## 1. Cold load with AppRole, N = 4·P secrets over P paths\n\nThe real OpenBao server from `scripts/dev-vault` (KV v2) behind a delay proxy adding {} ms each way, and one more round trip for each new connection (TCP's handshake, which loopback does not pay); measured round trip (RTT) on a kept-alive connection: {}. \
Each contender creates its client, logs in and reads everything, per run. vault-config reads all paths in one parallel batch and revokes its login token after the load returns; each of its loads starts once the last one's revocation is done, as the next process's load would; the other contenders read path by path on one kept-alive connection and leave their token alive. \
The sequential contenders run {} times at P ≤ 8, fewer at larger P (at least 5); vault-config {} times.\n",
        r.delay_ms,
        ms(r.rtt_us),
        r.cold
            .first()
            .and_then(|c| c.contenders.first())
            .and_then(|c| c.stats)
            .map_or(0, |s| s.runs),
        r.cold.first().map_or(0, |c| c.ours.runs),
    );
    for (i, transport) in [Transport::Tls, Transport::Http].into_iter().enumerate() {
        let rows: Vec<&ColdRow> = r.cold.iter().filter(|c| c.transport == transport).collect();
        let Some(first) = rows.first() else { continue };
        let _ = writeln!(
            o,
            "### 1{} {}\n\n{}\n",
            ['a', 'b'][i],
            transport.name(),
            floor_formula(transport)
        );
        let names: Vec<&str> = first.contenders.iter().map(|c| c.name.as_str()).collect();
        let _ = write!(
            o,
            "| P | N | S(P) = login + batch | floor | vault-config median (p95) | vs floor | version detected median (p95) | vs floor + RTT | tokens left |"
        );
        for n in &names {
            let _ = write!(o, " {n} median (p95) |");
        }
        for n in &names {
            let _ = write!(o, " {n} / ours |");
        }
        let _ = writeln!(o, "\n|{}", "---|".repeat(9 + 2 * names.len()));
        for c in rows {
            let _ = write!(
                o,
                "| {} | {} | {} = {} + {} | {} = {} × RTT + S | {} ({}) | {:.2}× | {} | {} | {} |",
                c.paths,
                c.secrets,
                ms(c.server.total_us()),
                ms(c.server.login_us),
                ms(c.server.batch_us),
                ms(c.floor_us),
                c.round_trips,
                ms(c.ours.median_us),
                ms(c.ours.p95_us),
                c.ours.median_us / c.floor_us,
                c.ours_detected.map_or("-".to_owned(), |d| format!(
                    "{} ({})",
                    ms(d.median_us),
                    ms(d.p95_us)
                )),
                c.detected_vs_floor(r.rtt_us)
                    .map_or("-".to_owned(), |x| format!("{x:.2}×")),
                c.tokens_left.map_or("-".to_owned(), |n| n.to_string()),
            );
            for k in &c.contenders {
                let _ = match (&k.stats, &k.error) {
                    (Some(st), _) => write!(o, " {} ({}) |", ms(st.median_us), ms(st.p95_us)),
                    (None, e) => write!(o, " failed: {} |", one_line(e.as_deref().unwrap_or("?"))),
                };
            }
            for k in &c.contenders {
                let _ = match k.stats {
                    Some(st) => write!(o, " {:.1}× |", st.median_us / c.ours.median_us),
                    None => write!(o, " - |"),
                };
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(o);
    }
    let env_ratio = r.env_ours.median_us / r.env_figment.median_us;
    let _ = writeln!(
        o,
        "\n## 2. Env-only load of a 50-field struct (no Vault)\n\n| contender | median | p95 | runs |\n|---|---|---|---|\n| vault-config `Env50::loader().load()` | {:.1} µs | {:.1} µs | {} |\n| figment `Figment::new().merge(Env::prefixed(\"APP_\")).extract()` | {:.1} µs | {:.1} µs | {} |\n\nRatio vault-config / figment: **{env_ratio:.2}×**. Both read the process environment on every load.",
        r.env_ours.median_us,
        r.env_ours.p95_us,
        r.env_ours.runs,
        r.env_figment.median_us,
        r.env_figment.p95_us,
        r.env_figment.runs
    );
    let _ = writeln!(
        o,
        "\n## 3. Live settings read path\n\n| reader | reads per second |\n|---|---|"
    );
    for (name, rate) in &r.reads {
        let _ = writeln!(o, "| {name} | {:.1} M/s |", rate / 1e6);
    }
    let _ = writeln!(
        o,
        "\n## 4. Compile cost of the derive (200 fields, debug build of the one crate, dependencies warm)\n\nTwo binary crates that both depend on and load `vault-config` (so both link its dependencies, as any crate of a service using it does), one struct of 200 `u32` fields each: with `#[derive(VaultConfig, Deserialize)]`, and with `#[derive(Deserialize)]` only. The difference is the derive's own cost: its expansion, and the type checking and code of what it generates.\n"
    );
    let compile_ratio = r.compile.map(|(d, s)| d.median_us / s.median_us);
    match r.compile {
        Some((d, s)) => {
            let _ = writeln!(
                o,
                "| struct | median | p95 | builds |\n|---|---|---|---|\n| `#[derive(VaultConfig)]` | {} | {} | {} |\n| `#[derive(Deserialize)]` only | {} | {} | {} |\n\nRatio: **{:.2}×**.",
                ms(d.median_us),
                ms(d.p95_us),
                d.runs,
                ms(s.median_us),
                ms(s.p95_us),
                s.runs,
                compile_ratio.unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(o, "Not run (`--skip-compile`).");
        }
    }
    let _ = writeln!(o, "\n## Targets\n\n| target | measured | |\n|---|---|---|");
    for c in &r.cold {
        let scenario = match c.transport {
            Transport::Tls => "1a (TLS)",
            Transport::Http => "1b (plain HTTP)",
        };
        let x = c.ours.median_us / c.floor_us;
        let _ = writeln!(
            o,
            "| scenario {scenario}, P = {}: within 1.1× of the floor | {x:.2}× | {} |",
            c.paths,
            verdict(x <= 1.1)
        );
        if let Some(x) = c.detected_vs_floor(r.rtt_us) {
            let _ = writeln!(
                o,
                "| scenario {scenario}, P = {}, version detected: within 1.1× of the floor + 1 RTT | {x:.2}× | {} |",
                c.paths,
                verdict(x <= 1.1)
            );
        }
        // Faster than every contender that ran: the slowest ratio of theirs to ours.
        let fastest = c
            .contenders
            .iter()
            .filter_map(|k| Some((k.name.as_str(), k.stats?.median_us / c.ours.median_us)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((name, ratio)) = fastest {
            let _ = writeln!(
                o,
                "| scenario {scenario}, P = {}: faster than every contender (the closest: {name}) | {ratio:.2}× | {} |",
                c.paths,
                verdict(ratio > 1.0)
            );
        }
        let _ = writeln!(
            o,
            "| scenario {scenario}, P = {}: no token left behind by the loads | {} | {} |",
            c.paths,
            c.tokens_left
                .map_or("not counted".to_owned(), |n| n.to_string()),
            verdict(c.tokens_left == Some(0))
        );
    }
    if let Some(c) = r
        .cold
        .iter()
        .find(|c| c.transport == Transport::Tls && c.paths == 32)
    {
        for prefix in ["hvac", "vaultrs", "vault-client-rs"] {
            let Some(k) = c.contender(prefix) else {
                continue;
            };
            match k.stats {
                Some(st) => {
                    let x = st.median_us / c.ours.median_us;
                    let _ = writeln!(
                        o,
                        "| scenario 1a (TLS), P = 32: ≥ 6× faster than {} path by path | {x:.1}× | {} |",
                        k.name,
                        verdict(x >= 6.0)
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "| scenario 1a (TLS), P = 32: ≥ 6× faster than {} path by path | {} did not run | MISSED |",
                        k.name, k.name
                    );
                }
            }
        }
    }
    let _ = writeln!(
        o,
        "| scenario 2: within 1.5× of plain figment | {env_ratio:.2}× | {} |",
        verdict(env_ratio <= 1.5)
    );
    for reader in ["Live::current", "Live::read (guard)"] {
        for threads in ["1 thread", "2 threads"] {
            let rate = |prefix: &str| {
                r.reads
                    .iter()
                    .find(|(n, _)| *n == format!("{prefix}, {threads}"))
                    .map(|(_, v)| *v)
            };
            if let (Some(live), Some(lock)) = (rate(reader), rate("Arc<RwLock>")) {
                let x = live / lock;
                let _ = writeln!(
                    o,
                    "| scenario 3, `{reader}`, {threads}: at least as fast as RwLock | {x:.2}× | {} |",
                    verdict(x >= 1.0)
                );
            }
        }
    }
    if let Some(x) = compile_ratio {
        let _ = writeln!(
            o,
            "| scenario 4: at most 2× the serde-only build | {x:.2}× | {} |",
            verdict(x <= 2.0)
        );
    }
    if let Some([(_, started), (_, steady), (kept, _)]) = r.fleet.memory_per_instance() {
        for (when, x) in [("at start-up", started), ("in steady state", steady)] {
            let _ = writeln!(
                o,
                "| scenario 6: resident memory per live instance {when} ≤ {} KiB | {:.0} KiB | {} |",
                MEMORY_TARGET_KIB,
                x / 1024.0,
                verdict(x <= MEMORY_TARGET_KIB as f64 * 1024.0)
            );
        }
        let _ = writeln!(
            o,
            "| scenario 6: heap kept per instance after shutdown ≤ 1 KiB | {:.2} KiB | {} |",
            kept / 1024.0,
            verdict(kept <= 1024.0)
        );
    }
    if let Some(g) = &r.graph {
        let _ = writeln!(
            o,
            "| scenario 7: the quickstart compiles at most 5 packages more than the library | {} more | {} |",
            g.quickstart as i64 - g.library as i64,
            verdict(g.quickstart <= g.library + 5)
        );
    }
    cold_start_section(&mut o, &r.cold_start);
    fleet_section(&mut o, &r.fleet);
    graph_section(&mut o, r.graph.as_ref());
    let _ = writeln!(o, "\n## Notes on the targets\n");
    let tls32 = Transport::Tls.round_trips(32);
    let _ = writeln!(
        o,
        "- Scenario 1: a path-by-path client over TLS pays at least 3 + P round trips (TCP, TLS, login, one read per path) plus P times the server's time for one read, and leaves its token alive. vault-config's floor is {tls32} round trips plus S(P), so from round trips alone the best possible ratio at P = 32 is 35 / {tls32} = {:.1}×; the rest of the margin is what each sequential read costs the server and the client. When the mount's KV version is not known (no `VAULT_KV_VERSION`, not detected earlier in the process), vault-config detects it before it reads the paths: one round trip more on a cold load, and never a guessed KV v2 read, which on a KV v1 mount is a denial in the server's audit log or, for a broad token, the read of an unrelated secret at `<mount>/data/<path>`.",
        35.0 / tls32 as f64
    );
    let _ = writeln!(
        o,
        "- Scenario 1, the login token: vault-config gives back the token each one-shot load logged in with, which the other contenders do not. The revocation runs after `load()` returns, on the library's own runtime, so the load waits only for the login and the batch; the tokens-left column is the count of tokens alive on the server after a row's loads (and their revocations) less before: 0 is the goal. A process that exits right after its load waits for the revocation at exit (scenario 5)."
    );
    let _ = writeln!(
        o,
        "- Scenarios 1a and 1b: the \"vault-config\" column states the KV version (`VAULT_KV_VERSION=2`), as vaultrs' `kv2::read`, vault-client-rs' KV v2 calls and hvac's `kv.v2` state it in their code; the \"version detected\" column is the same load left to find it out, one round trip more."
    );
    let _ = writeln!(
        o,
        "- Scenario 3: `Live::current()` returns an `Arc` clone, one atomic increment on a shared counter, the same work as the baseline's `read().clone()`, so single-threaded they are equal within noise; with two threads the baseline's lock contends. `Live::read()` returns a guard without touching the counter: use it on hot paths."
    );
    o
}

fn graph_section(o: &mut String, g: Option<&crate::graph::Graph>) {
    let _ = writeln!(o, "\n## 7. The library's build\n");
    let Some(g) = g else {
        let _ = writeln!(o, "Not run (`--skip-compile`).");
        return;
    };
    let _ = writeln!(
        o,
        "Unique packages of `cargo tree -p <package> -e normal,build` (build scripts and proc-macros included), and one debug build of the library into an empty target directory (`cargo build -p vault-config`, the crate registry already downloaded).\n\n| | |\n|---|---|\n| `vault-config`, default features | {} packages |\n| `vault-config`, `default-features = false` (no `watch-files`) | {} packages |\n| the quickstart (`vault-config-examples`) | {} packages |\n| cold debug build of `vault-config` | {:.0} s |\n| compiled in two versions | {} |\n\nWhat each heavy dependency buys, and the packages the library's graph holds only through it:\n\n| dependency | packages only through it | what it buys |\n|---|---|---|",
        g.library,
        g.library_minimal,
        g.quickstart,
        g.cold_build_s,
        if g.duplicates.is_empty() {
            "none".to_owned()
        } else {
            g.duplicates.join(", ")
        }
    );
    for (name, n) in &g.only_through {
        let why = crate::graph::HEAVY
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, why)| why);
        let _ = writeln!(o, "| `{name}` | {n} | {why} |");
    }
}

fn cold_start_section(o: &mut String, c: &crate::coldstart::ColdStart) {
    let _ = writeln!(
        o,
        "\n## 5. Cold start: exec to settings loaded\n\nWhat an init container pays: a process starts, loads 32 secrets on 8 paths over TLS (AppRole, through the delay proxy as in scenario 1) and exits; timed from spawn to exit by the parent, {} runs each after one warm-up. The release binary's load returns before its token is revoked; the process waits for the revocation at exit, so it is inside the time and no token is left: {} tokens alive after its runs less before.\n\n| program | median | p95 |\n|---|---|---|\n| the release binary (`vault-config-bench cold-child`: `Paths8::loader().load()`) | {} | {} |",
        c.ours.runs,
        c.tokens_left
            .map_or("(not counted)".to_owned(), |n| n.to_string()),
        ms(c.ours.median_us),
        ms(c.ours.p95_us)
    );
    if let Some(h) = &c.hvac {
        let _ = match (&h.stats, &h.error) {
            (Some(st), _) => writeln!(
                o,
                "| `python3 -c` with {} (client, AppRole login, 8 × `read_secret_version`) | {} | {} |",
                h.name,
                ms(st.median_us),
                ms(st.p95_us)
            ),
            (None, e) => writeln!(
                o,
                "| {} | failed: {} | |",
                h.name,
                one_line(e.as_deref().unwrap_or("?"))
            ),
        };
    }
    if let Some(b) = c.python_bare {
        let _ = writeln!(
            o,
            "| `python3 -c pass` (the interpreter alone) | {} | {} |",
            ms(b.median_us),
            ms(b.p95_us)
        );
    }
    if let Some(h) = c.hvac.as_ref().and_then(|h| h.stats) {
        let _ = writeln!(
            o,
            "\nRatio hvac script / release binary: **{:.1}×**.",
            h.median_us / c.ours.median_us
        );
    }
}

fn fleet_section(o: &mut String, f: &crate::fleet::Fleet) {
    let per_refresh = |op: &str| {
        f.refresh_requests.get(op).copied().unwrap_or(0) as f64 / f.refreshes.max(1) as f64
    };
    let _ = writeln!(
        o,
        "\n## 6. A fleet: {} instances start at once, then refresh for {} s\n\nEach instance is a live handle (`Live::builder(..).start_async()`) with its own client, AppRole login and token, {} secrets on {} paths, all in one process on a 2-worker Tokio runtime, against the one OpenBao over TLS without the delay proxy (this measures load on the server, not latency). Refresh interval {} s, each wait cut by a random 0–10 %. Halfway through, one of the 8 secrets gets a new version.\n",
        f.instances,
        f.run_secs,
        4 * f.paths,
        f.paths,
        f.refresh_secs
    );
    let cpu = |s: Option<f64>, over: f64| {
        s.map_or_else(
            || "not read".to_owned(),
            |s| format!("{s:.1} s ({:.0} % of one core)", 100.0 * s / over.max(1e-9)),
        )
    };
    let _ = writeln!(
        o,
        "| | |\n|---|---|\n| start-up, common start to settings loaded: p50 / p95 | {} / {} |\n| instances that failed to start | {} |\n| start-up requests (all instances) | {} |\n| server CPU during start-up | {} |\n| refreshes (failed) | {} ({}) |\n| requests per instance per refresh | {:.2} metadata + {:.2} reads + {:.2} other |\n| the same refresh as a full re-read | {} reads, every value sent again |\n| server CPU during the refresh phase | {} |\n| tokens alive: before / end of refresh / after shutdown | {} / {} / {} |\n| AppRole login leases alive: before / end / after | {} / {} / {} |",
        ms(f.startup.median_us),
        ms(f.startup.p95_us),
        f.startup_failed,
        requests_line(&f.startup_requests),
        cpu(f.server_cpu_startup_s, f.startup_wall_s),
        f.refreshes,
        f.failed_refreshes,
        per_refresh("metadata"),
        per_refresh("read"),
        f.refresh_requests
            .iter()
            .filter(|(k, _)| *k != "metadata" && *k != "read")
            .map(|(_, v)| *v)
            .sum::<u64>() as f64
            / f.refreshes.max(1) as f64,
        f.paths,
        cpu(f.server_cpu_refresh_s, f.run_secs as f64),
        f.tokens[0],
        f.tokens[1],
        f.tokens[2],
        f.leases[0],
        f.leases[1],
        f.leases[2],
    );
    let _ = writeln!(
        o,
        "\nRequests during the refresh phase, by operation: {}.\n\nRefreshes that began in each second of the refresh phase (all instances; 10 seconds a line):\n\n```",
        requests_line(&f.refresh_requests)
    );
    for (i, chunk) in f.refreshes_per_second.chunks(10).enumerate() {
        let line: Vec<String> = chunk.iter().map(|n| format!("{n:4}")).collect();
        let _ = writeln!(o, "{:4} s {}", i * 10, line.join(""));
    }
    let busy = f.refreshes_per_second.iter().copied().max().unwrap_or(0);
    let mean = f.refreshes as f64 / f.run_secs.max(1) as f64;
    let _ = writeln!(
        o,
        "```\n\nThe busiest second had {busy} refreshes against a mean of {mean:.1} per second. Each wait is cut by a random 0–10 %, so the instances' phases drift apart by up to {:.1} s a refresh; without the jitter they would keep, for their whole life, the spread their start-up gave them ({:.1} s from the first to the last).",
        0.1 * f.refresh_secs as f64,
        f.startup_wall_s
    );
    if let Some([(heap1, rss1), (heap2, rss2), (heap3, _)]) = f.memory_per_instance() {
        let kib = |x: f64| format!("{:.0} KiB", x / 1024.0);
        let [built, connected] = f.client_heap;
        let _ = writeln!(
            o,
            "\nMemory per instance: what the process holds less what it held before the fleet, divided by the {} instances; heap from this binary's counting allocator, resident set from `/proc/self/status`.\n\n| per instance | heap | resident |\n|---|---|---|\n| all started | {} | {} |\n| end of the refresh phase | {} | {} |\n| after shutdown | {:.2} KiB | (not returned to the system by the allocator) |\n\nThe biggest contributor is each instance's own connection: a bare client (`VaultClient::from_env`) holds {} of heap, and {} once its TLS connection is open (HTTP/2 over rustls; measured on {} bare clients after the fleet), that is {:.0} % of an instance's heap at the end of the refresh phase. The rest is the live engine, the settings and the versions it keeps.",
            f.instances,
            kib(heap1),
            kib(rss1),
            kib(heap2),
            kib(rss2),
            heap3 / 1024.0,
            kib(built),
            kib(connected),
            f.instances,
            100.0 * connected / heap2.max(1.0)
        );
    }
}

fn requests_line(by_op: &std::collections::BTreeMap<String, u64>) -> String {
    by_op
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
