//! Benchmarks of vault-config against what users would use instead, written to BENCHMARKS.md
//! and benchmarks.json. Run through `scripts/bench`, which starts the dev server, installs
//! hvac and passes its Python: a benchmark program, not a timed test.

mod proxy;
mod report;

use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use report::{ColdRow, Report, Stats, stats};
use vault_config::VaultConfig;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

const PATHS: [usize; 4] = [1, 8, 32, 128];

struct Options {
    out: String,
    json: String,
    python: Option<String>,
    runs: usize,
    delay_ms: u64,
    compile: bool,
}

fn options() -> Options {
    let mut o = Options {
        out: "BENCHMARKS.md".into(),
        json: "benchmarks.json".into(),
        python: None,
        runs: 20,
        delay_ms: 10,
        compile: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => o.out = args.next().expect("--out FILE"),
            "--json" => o.json = args.next().expect("--json FILE"),
            "--python" => o.python = args.next(),
            "--runs" => o.runs = args.next().and_then(|n| n.parse().ok()).expect("--runs N"),
            "--delay-ms" => {
                o.delay_ms = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--delay-ms N")
            }
            "--skip-compile" => o.compile = false,
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run through scripts/bench"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("env-child") {
        return env_child(&args[2], args[3].parse().expect("iterations"));
    }
    let o = options();
    let (upstream, root) = (var("DEV_VAULT_ADDR"), var("DEV_VAULT_TOKEN"));
    let (role_id, secret_id) = (var("DEV_VAULT_ROLE_ID"), var("DEV_VAULT_SECRET_ID"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let upstream_addr = upstream
        .trim_start_matches("http://")
        .parse()
        .expect("loopback address");
    let proxy = rt
        .block_on(proxy::start(
            upstream_addr,
            Duration::from_millis(o.delay_ms),
        ))
        .expect("proxy");
    let proxy_url = format!("http://{proxy}");

    eprintln!(
        "seeding {} secrets",
        PATHS.iter().map(|p| 4 * p).sum::<usize>()
    );
    rt.block_on(seed(&upstream, &root));
    let rtt = rt.block_on(round_trip(&proxy_url, o.runs));

    let mut cold = Vec::new();
    for p in PATHS {
        eprintln!("scenario 1: P = {p}");
        let env = [
            ("VAULT_ADDR", proxy_url.as_str()),
            ("VAULT_ROLE_ID", role_id.as_str()),
            ("VAULT_SECRET_ID", secret_id.as_str()),
        ];
        let ours = stats(&time_runs(o.runs, || load_paths(p, &env)));
        let vaultrs = stats(&time_runs(o.runs, || {
            rt.block_on(sequential_load(&proxy_url, &role_id, &secret_id, p))
        }));
        let hvac = o
            .python
            .as_deref()
            .map(|py| stats(&hvac_load(py, &proxy_url, &role_id, &secret_id, p, o.runs)));
        cold.push(ColdRow {
            paths: p,
            secrets: 4 * p,
            // Login, KV detection, one parallel batch, revocation of the login token.
            floor_us: 4.0 * rtt,
            ours,
            vaultrs,
            hvac,
        });
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
    };
    std::fs::write(&o.out, report::markdown(&report)).expect("write markdown");
    std::fs::write(
        &o.json,
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("write json");
    eprintln!("wrote {} and {}", o.out, o.json);
}

fn time_runs(runs: usize, mut run: impl FnMut()) -> Vec<Duration> {
    run(); // one warm-up run, not counted
    (0..runs)
        .map(|_| {
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

/// The median round trip of an unauthenticated request through the proxy, in µs.
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

fn load_paths(p: usize, env: &[(&str, &str)]) {
    let loader_env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
    let result = match p {
        1 => Paths1::loader().env_vars(loader_env).load().map(drop),
        8 => Paths8::loader().env_vars(loader_env).load().map(drop),
        32 => Paths32::loader().env_vars(loader_env).load().map(drop),
        _ => Paths128::loader().env_vars(loader_env).load().map(drop),
    };
    if let Err(report) = result {
        panic!("vault-config load failed:\n{report}");
    }
}

/// vaultrs' documented pattern — one client, an AppRole login, then a KV v2 read per path in
/// a loop — on the wire with reqwest.
async fn sequential_load(addr: &str, role_id: &str, secret_id: &str, p: usize) {
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{addr}/v1/auth/approle/login"))
        .body(serde_json::json!({ "role_id": role_id, "secret_id": secret_id }).to_string())
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["auth"]["client_token"]
        .as_str()
        .expect("client_token")
        .to_owned();
    for i in 0..p {
        let data: serde_json::Value = http
            .get(format!("{addr}/v1/secret/data/bench/p{p}/s{i}"))
            .header("X-Vault-Token", &token)
            .send()
            .await
            .expect("read")
            .json()
            .await
            .expect("read body");
        black_box(data);
    }
}

const HVAC_SCRIPT: &str = r#"
import json, sys, time
import hvac
addr, role_id, secret_id, p, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def load():
    client = hvac.Client(url=addr)
    client.auth.approle.login(role_id=role_id, secret_id=secret_id)
    for i in range(p):
        client.secrets.kv.v2.read_secret_version(path=f"bench/p{p}/s{i}", mount_point="secret",
                                                 raise_on_deleted_version=True)
load()
out = []
for _ in range(runs):
    t = time.perf_counter()
    load()
    out.append(time.perf_counter() - t)
print(json.dumps(out))
"#;

/// hvac, the client the seeds use, the same way: a client, an AppRole login, a read per path.
fn hvac_load(
    python: &str,
    addr: &str,
    role_id: &str,
    secret_id: &str,
    p: usize,
    runs: usize,
) -> Vec<Duration> {
    let out = Command::new(python)
        .args([
            "-c",
            HVAC_SCRIPT,
            addr,
            role_id,
            secret_id,
            &p.to_string(),
            &runs.to_string(),
        ])
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "hvac failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secs: Vec<f64> = serde_json::from_slice(&out.stdout).expect("hvac output");
    secs.into_iter().map(Duration::from_secs_f64).collect()
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
/// only; dependencies built once beforehand and shared.
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
        let main = format!(
            "#[derive({derive})]\n#[allow(dead_code)]\nstruct S {{\n{fields}}}\n\nfn main() {{}}\n"
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
            "release (`cargo build --release -p vault-config-bench`)".into(),
        ),
        (
            "server".into(),
            "OpenBao 2.7.2 (scripts/dev-vault), KV v2, loopback, behind the delay proxy".into(),
        ),
        ("hvac".into(), "2.4.0 (pip, in .bench-venv)".into()),
        (
            "sequential contender".into(),
            "vaultrs' documented pattern (AppRole login, kv2 read per path) with reqwest 0.12"
                .into(),
        ),
    ]
}
