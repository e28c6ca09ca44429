//! Benchmarks of vault-config against what users would use instead, written to BENCHMARKS.md
//! and benchmarks.json. Run through `scripts/bench`, which starts the dev server, installs
//! hvac and passes its Python: a benchmark program, not a timed test.

mod coldstart;
mod contenders;
mod fleet;
mod graph;
mod memory;
mod proxy;
mod report;

use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use report::{Report, Stats, Transport, stats};
use vault_config::VaultConfig;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

#[global_allocator]
static ALLOCATOR: memory::Counting = memory::Counting;

const PATHS: [usize; 4] = [1, 8, 32, 128];

struct Options {
    out: String,
    json: String,
    python: Option<String>,
    runs: usize,
    delay_ms: u64,
    compile: bool,
    render_from: Option<String>,
    fleet: usize,
    fleet_secs: u64,
    fleet_refresh_secs: u64,
}

fn options() -> Options {
    let mut o = Options {
        out: "BENCHMARKS.md".into(),
        json: "benchmarks.json".into(),
        python: None,
        runs: 20,
        delay_ms: 10,
        compile: true,
        render_from: None,
        fleet: 200,
        fleet_secs: 120,
        fleet_refresh_secs: 15,
    };
    let mut args = std::env::args().skip(1);
    let number = |args: &mut dyn Iterator<Item = String>, what: &str| -> u64 {
        args.next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{what} N"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => o.out = args.next().expect("--out FILE"),
            "--json" => o.json = args.next().expect("--json FILE"),
            "--python" => o.python = args.next(),
            "--runs" => o.runs = number(&mut args, "--runs") as usize,
            "--delay-ms" => o.delay_ms = number(&mut args, "--delay-ms"),
            "--fleet" => o.fleet = number(&mut args, "--fleet") as usize,
            "--fleet-secs" => o.fleet_secs = number(&mut args, "--fleet-secs"),
            "--fleet-refresh-secs" => {
                o.fleet_refresh_secs = number(&mut args, "--fleet-refresh-secs")
            }
            "--skip-compile" => o.compile = false,
            "--render-from" => o.render_from = args.next(),
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run through scripts/bench"))
}

/// What every scenario needs of the dev server.
pub(crate) struct Server {
    pub(crate) http: String,
    pub(crate) tls: String,
    pub(crate) cacert: String,
    pub(crate) root: String,
    pub(crate) role_id: String,
    pub(crate) secret_id: String,
}

impl Server {
    fn from_env() -> Server {
        Server {
            http: var("DEV_VAULT_ADDR"),
            tls: var("DEV_VAULT_TLS_ADDR"),
            cacert: var("DEV_VAULT_CACERT"),
            root: var("DEV_VAULT_TOKEN"),
            role_id: var("DEV_VAULT_ROLE_ID"),
            secret_id: var("DEV_VAULT_SECRET_ID"),
        }
    }
}

fn main() {
    // A process-wide rustls provider for the contenders built on reqwest 0.13 (vaultrs,
    // vault-client-rs), which would otherwise find two compiled in and pick none.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("env-child") => return env_child(&args[2], args[3].parse().expect("iterations")),
        Some("cold-child") => return coldstart::child(),
        Some("fleet-child") => return fleet::child(&args[2..]),
        _ => {}
    }
    let o = options();
    if let Some(json) = &o.render_from {
        // The markdown again from a run's JSON, without measuring anything.
        let report: Report =
            serde_json::from_slice(&std::fs::read(json).expect("read the JSON")).expect("a report");
        std::fs::write(&o.out, report::markdown(&report)).expect("write markdown");
        return;
    }
    let server = Server::from_env();
    let rt = runtime();
    let delay = Duration::from_millis(o.delay_ms);
    let proxy_to = |upstream: &str| {
        let addr = upstream
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .parse()
            .expect("loopback address");
        rt.block_on(proxy::start(addr, delay)).expect("proxy")
    };
    let tls_proxy = format!("https://{}", proxy_to(&server.tls));
    let http_proxy = format!("http://{}", proxy_to(&server.http));

    eprintln!(
        "seeding {} secrets",
        PATHS.iter().map(|p| 4 * p).sum::<usize>()
    );
    rt.block_on(seed(&server.http, &server.root));
    let rtt = rt.block_on(round_trip(&http_proxy, o.runs));

    let mut cold = Vec::new();
    for (transport, addr, direct) in [
        (Transport::Tls, &tls_proxy, &server.tls),
        (Transport::Http, &http_proxy, &server.http),
    ] {
        for p in PATHS {
            eprintln!("scenario 1 ({transport:?}): P = {p}");
            cold.push(contenders::cold_row(
                &rt, &server, transport, addr, direct, p, rtt, &o,
            ));
        }
    }

    eprintln!("scenario 2: env-only load");
    let env_ours = env_scenario("ours");
    let env_figment = env_scenario("figment");

    eprintln!("scenario 3: read path");
    let reads = read_scenario();

    let compile = o.compile.then(|| {
        eprintln!("scenario 4: compile cost");
        compile_scenario()
    });

    eprintln!("scenario 5: cold start of a release binary");
    let cold_start = coldstart::measure(&server, &tls_proxy, o.python.as_deref(), o.runs);

    eprintln!(
        "scenario 6: a fleet of {} instances for {} s",
        o.fleet, o.fleet_secs
    );
    let fleet = fleet::measure(o.fleet, o.fleet_secs, o.fleet_refresh_secs);

    let graph = o.compile.then(|| {
        eprintln!("scenario 7: the library's dependency graph and a cold build");
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo");
        graph::measure(repo)
    });

    let report = Report {
        command: "scripts/bench".into(),
        machine: machine_facts(),
        rtt_us: rtt,
        delay_ms: o.delay_ms,
        cold,
        env_ours,
        env_figment,
        reads,
        compile,
        cold_start,
        fleet,
        graph,
    };
    std::fs::write(&o.out, report::markdown(&report)).expect("write markdown");
    std::fs::write(
        &o.json,
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write json");
    eprintln!("wrote {} and {}", o.out, o.json);
}

/// The harness's runtime: two workers, as many as the machine has cores.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn time_runs(runs: usize, run: impl FnMut()) -> Vec<Duration> {
    time_runs_settled(runs, || {}, run)
}

/// [`time_runs`], with `settle` run before each run, untimed.
fn time_runs_settled(
    runs: usize,
    mut settle: impl FnMut(),
    mut run: impl FnMut(),
) -> Vec<Duration> {
    run(); // one warm-up run, not counted
    (0..runs)
        .map(|_| {
            settle();
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .collect()
}

async fn seed(upstream: &str, root: &str) {
    let http = reqwest::Client::new();
    for p in PATHS {
        for i in 0..p {
            let body = serde_json::json!({
                "data": { "k0": format!("v{i}-0"), "k1": "v1", "k2": "v2", "k3": "v3" }
            });
            let status = http
                .post(format!("{upstream}/v1/secret/data/bench/p{p}/s{i}"))
                .header("X-Vault-Token", root)
                .body(body.to_string())
                .send()
                .await
                .expect("seed")
                .status();
            assert!(status.is_success(), "seeding: {status}");
        }
    }
}

/// The median round trip of an unauthenticated request through the proxy on a kept-alive
/// connection, in µs.
async fn round_trip(proxy: &str, runs: usize) -> f64 {
    let http = reqwest::Client::new();
    let mut samples = Vec::new();
    for _ in 0..=runs {
        let t = Instant::now();
        let _ = http
            .get(format!("{proxy}/v1/sys/seal-status"))
            .send()
            .await
            .expect("round trip")
            .bytes()
            .await;
        samples.push(t.elapsed());
    }
    stats(&samples[1..]).median_us
}

/// Scenario 2 runs in a child process so that it can have its own environment.
fn env_scenario(which: &str) -> Stats {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args(["env-child", which, "2000"]).env_clear();
    for i in 0..50 {
        let value = ["42", "text value", "true", "1234567890", "another"][i % 5];
        cmd.env(format!("APP_F{i}"), value);
    }
    let out = cmd.output().expect("env child");
    assert!(
        out.status.success(),
        "env child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("env child output")
}

fn env_child(which: &str, iterations: usize) {
    use figment::providers::Env;
    let run: Box<dyn Fn()> = match which {
        "ours" => Box::new(|| {
            black_box(
                Env50::loader()
                    .no_vault()
                    .load()
                    .expect("vault-config env load"),
            );
        }),
        _ => Box::new(|| {
            let figment = figment::Figment::new().merge(Env::prefixed("APP_"));
            black_box(figment.extract::<Plain50>().expect("figment extract"));
        }),
    };
    let samples = time_runs(iterations, &*run);
    println!("{}", serde_json::to_string(&stats(&samples)).expect("json"));
}
/// Reads per second of `Live::current()` and of an `Arc<RwLock<Arc<T>>>`, 1 and 2 threads.
fn read_scenario() -> Vec<(String, f64)> {
    let env: Vec<(String, String)> = (0..50)
        .map(|i| {
            (
                format!("APP_F{i}"),
                ["42", "text", "true", "7", "x"][i % 5].to_owned(),
            )
        })
        .collect();
    let live = vault_config::live::Live::builder(Env50::loader().env_vars(env.clone()).no_vault())
        .refresh_every(Duration::from_secs(3600))
        .start()
        .expect("live");
    let lock = Arc::new(RwLock::new(Arc::new(
        Env50::loader()
            .env_vars(env)
            .no_vault()
            .load()
            .expect("load"),
    )));
    let window = Duration::from_millis(500);
    let measure = |threads: usize, read: &(dyn Fn() + Sync)| -> f64 {
        let total: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let (start, mut n) = (Instant::now(), 0u64);
                        while start.elapsed() < window {
                            for _ in 0..1000 {
                                read();
                            }
                            n += 1000;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("reader")).sum()
        });
        total as f64 / window.as_secs_f64()
    };
    let read_live = || {
        black_box(live.current());
    };
    let read_guard = || {
        black_box(live.read().f0);
    };
    let read_lock = || {
        black_box(Arc::clone(&lock.read().expect("lock")));
    };
    vec![
        ("Live::current, 1 thread".into(), measure(1, &read_live)),
        (
            "Live::read (guard), 1 thread".into(),
            measure(1, &read_guard),
        ),
        ("Arc<RwLock>, 1 thread".into(), measure(1, &read_lock)),
        ("Live::current, 2 threads".into(), measure(2, &read_live)),
        (
            "Live::read (guard), 2 threads".into(),
            measure(2, &read_guard),
        ),
        ("Arc<RwLock>, 2 threads".into(), measure(2, &read_lock)),
    ]
}

/// Debug-build time of one crate holding a 200-field struct, with the derive and with serde
/// only; dependencies built once beforehand and shared. Both crates use the library.
fn compile_scenario() -> (Stats, Stats) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo")
        .to_path_buf();
    let base = repo.join("target/bench-compile");
    let build = |name: &str, derive: &str| -> Stats {
        let dir = base.join(name);
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\nvault-config = {{ path = \"{}\" }}\nserde = {{ version = \"1\", features = [\"derive\"] }}\n",
                repo.display()
            ),
        )
        .expect("manifest");
        let fields: String = (0..200).map(|i| format!("    f{i}: u32,\n")).collect();
        // Both crates load the library (`use vault_config as _`), so both link its
        // dependencies, as any crate of a service using it does: the difference is the derive.
        let main = format!(
            "use vault_config as _;\n\n#[derive({derive})]\n#[allow(dead_code)]\nstruct S {{\n{fields}}}\n\nfn main() {{}}\n"
        );
        std::fs::write(dir.join("src/main.rs"), &main).expect("main");
        let cargo = |quiet: bool| {
            let status = Command::new("cargo")
                .args(["build", "--quiet", "--manifest-path"])
                .arg(dir.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", base.join("target"))
                .stderr(if quiet {
                    std::process::Stdio::null()
                } else {
                    std::process::Stdio::inherit()
                })
                .status()
                .expect("cargo");
            assert!(status.success(), "building {name}");
        };
        cargo(false); // dependencies
        let samples: Vec<Duration> = (0..5)
            .map(|i| {
                // A new source each time, so cargo rebuilds this crate and only it.
                std::fs::write(dir.join("src/main.rs"), format!("{main}// {i}\n")).expect("touch");
                let t = Instant::now();
                cargo(true);
                t.elapsed()
            })
            .collect();
        stats(&samples)
    };
    let derive = build("derive200", "vault_config::VaultConfig, serde::Deserialize");
    let serde = build("serde200", "serde::Deserialize");
    (derive, serde)
}

fn machine_facts() -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    vec![
        ("date".into(), date),
        ("cpu".into(), cpu),
        ("cores".into(), cores),
        ("rustc".into(), rustc),
        (
            "build".into(),
            "release (`cargo build --release -p vault-config-bench --features contenders`)".into(),
        ),
        (
            "server".into(),
            "OpenBao 2.7.2 (scripts/dev-vault), KV v2, AppRole, loopback, behind the delay proxy; TLS 1.3 with its own CA, HTTP/2 by ALPN".into(),
        ),
        ("hvac".into(), "2.4.0 (pip, in .bench-venv), requests session".into()),
        ("vaultrs".into(), "0.8.0 (crates.io), reqwest 0.13".into()),
        ("vault-client-rs".into(), "0.8.0 (crates.io), reqwest 0.13".into()),
    ]
}
