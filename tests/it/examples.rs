//! Every seed example, run as its built binary with only the env vars a user would set:
//! against the dev OpenBao server.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::json;

use crate::fixtures::dev_vault;
use dev_vault::{DevVault, closed_port};
/// The built example, `target/<profile>/examples/<name>`, as `cargo build --examples` leaves
/// it (`scripts/test` builds the examples before the tests; `cargo test` alone only leaves
/// hashed copies, which could be stale).
fn example_binary(name: &str) -> PathBuf {
    let mut dir: PathBuf = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let plain = dir.join("examples").join(name);
    assert!(
        plain.is_file(),
        "{} is not built: run `cargo build --examples --all-features` first (scripts/test does)",
        plain.display()
    );
    plain
}

/// Runs the built example with exactly `env`.
fn run(name: &str, args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(example_binary(name))
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn seed_ai_trader(v: &DevVault) {
    v.write(
        "secret/ai-trader/database",
        json!({ "url": "postgres://trader@db/trading" }),
    );
    v.write(
        "secret/ai-trader/alpaca",
        json!({ "ALPACA_API_KEY": "PK-canary", "ALPACA_SECRET_KEY": "sk-canary" }),
    );
    v.write(
        "secret/ai-trader/llm",
        json!({ "OPENAI_API_KEY": "sk-openai-canary" }),
    );
    v.write(
        "secret/ai-trader/market-data",
        json!({ "FINNHUB_API_KEY": "fh-canary" }),
    );
    v.write(
        "secret/ai-trader/session",
        json!({ "SESSION_SECRET": "session-canary", "JWT_SECRET": "jwt-canary" }),
    );
}

#[test]
fn ai_trader_against_the_dev_server() {
    let Some(v) = DevVault::get() else { return };
    seed_ai_trader(&v);
    let out = run("ai_trader", &[], &v.token_env());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("ai-trader ready: database url 28 bytes, alpaca keys set, 1 LLM key(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"vault_enabled\":true,\"vault_connected\":true"),
        "{stdout}"
    );
    assert!(
        stdout.contains("database_url       from vault secret/ai-trader/database#url"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("canary") && !stderr.contains("canary"),
        "no secret in the output"
    );
}

#[test]
fn ai_trader_from_vault_agent_injected_files() {
    let dir = std::env::temp_dir().join(format!("vc-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("database"),
        "export DATABASE_URL=\"postgres://agent/db\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("alpaca"),
        "export ALPACA_API_KEY=\"a\"\nexport ALPACA_SECRET_KEY=\"b\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("session"),
        "export SESSION_SECRET=\"s\"\nexport JWT_SECRET=\"j\"\n",
    )
    .unwrap();
    let out = run(
        "ai_trader",
        &[],
        &kv(&[
            ("VAULT_ENABLED", "false"),
            ("VAULT_SECRETS_PATH", dir.to_str().unwrap()),
        ]),
    );
    let (stdout, stderr) = text(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("\"vault_enabled\":false"), "{stdout}");
    assert!(stdout.contains("/database (DATABASE_URL)"), "{stdout}");
}

/// A Kubernetes Secret mounted as files (each a link through `..data`), read as the secrets
/// dir layer with Vault off.
#[cfg(unix)]
#[test]
fn ai_trader_from_a_mounted_kubernetes_secret() {
    let dir = std::env::temp_dir().join(format!("vc-mounted-{}", std::process::id()));
    let data = dir.join("..2026_12_03_0");
    std::fs::create_dir_all(&data).unwrap();
    for (name, value) in [
        ("database_url", "postgres://mounted/db\n"),
        ("alpaca_api_key", "a"),
        ("ALPACA_SECRET_KEY", "b"),
        ("session_secret", "s"),
        ("jwt_secret", "canary-mounted-jwt"),
    ] {
        std::fs::write(data.join(name), value).unwrap();
        std::os::unix::fs::symlink(format!("..data/{name}"), dir.join(name)).unwrap();
    }
    std::os::unix::fs::symlink("..2026_12_03_0", dir.join("..data")).unwrap();
    let out = run(
        "ai_trader",
        &[],
        &kv(&[
            ("VAULT_ENABLED", "false"),
            ("SECRETS_DIR", dir.to_str().unwrap()),
        ]),
    );
    let (stdout, stderr) = text(&out);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("database url 21 bytes") && stdout.contains("session secrets 1 + 18 bytes"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("from secrets-dir {}/database_url", dir.display())),
        "{stdout}"
    );
    assert!(!stdout.contains("canary") && !stderr.contains("canary"));
}

#[test]
fn ai_trader_with_kubernetes_auth() {
    let Some(v) = DevVault::get() else { return };
    seed_ai_trader(&v);
    // The server asks the TokenReview stub about the service account JWT.
    let out = run(
        "ai_trader",
        &[],
        &kv(&[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_ROLE", "demo"),
            ("VAULT_K8S_TOKEN_PATH", &v.k8s_token_path),
        ]),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 LLM key(s)"), "{stdout}");
}

#[test]
fn spreadpilot_reads_both_key_formats_under_the_mount_point() {
    let Some(v) = DevVault::get() else { return };
    v.write(
        "secret/ibkr/original_strategy",
        json!({ "IB_USER": "orig-user", "IB_PASS": "orig-pass" }),
    );
    v.write(
        "secret/ibkr/vertical_spreads_strategy",
        json!({ "username": "vs-user", "password": "vs-password" }),
    );
    let mut env = v.token_env();
    env.extend(kv(&[
        ("VAULT_ENABLED", "true"),
        ("VAULT_MOUNT_POINT", "secret"),
    ]));
    let out = run(
        "spreadpilot",
        &["original_strategy", "vertical_spreads_strategy"],
        &env,
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("original_strategy: user of 9 bytes, password of 9 bytes, from vault secret/ibkr/original_strategy#IB_USER"), "{stdout}");
    assert!(stdout.contains("vertical_spreads_strategy: user of 7 bytes, password of 11 bytes, from vault secret/ibkr/vertical_spreads_strategy#username"), "{stdout}");
}

#[test]
fn spreadpilot_falls_back_to_env_when_vault_is_disabled_or_unreachable() {
    let creds = kv(&[("IB_USER", "env-user"), ("IB_PASS", "env-pass")]);
    let disabled = [creds.clone(), kv(&[("VAULT_ENABLED", "false")])].concat();
    let out = run("spreadpilot", &["original_strategy"], &disabled);
    assert!(
        text(&out).0.contains("from env IB_USER"),
        "{:?}",
        text(&out)
    );

    let port = closed_port();
    let down = kv(&[
        ("VAULT_ADDR", &format!("http://127.0.0.1:{port}")),
        ("VAULT_TOKEN", "t"),
        ("VAULT_MAX_RETRIES", "0"),
    ]);
    let without_creds = run("spreadpilot", &["original_strategy"], &down);
    assert!(
        !without_creds.status.success(),
        "fail fast: no credentials anywhere"
    );
    assert!(text(&without_creds).1.contains("cannot reach vault"));
    let with_fallback = [down, creds, kv(&[("VAULT_FALLBACK", "env")])].concat();
    let out = run("spreadpilot", &["original_strategy"], &with_fallback);
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn ai_gateway_against_the_dev_server_with_its_health_json() {
    let Some(v) = DevVault::get() else { return };
    v.write("secret/ai-gateway", json!({ "OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "SESSION_SECRET": "s", "DATABASE_PASSWORD": "p" }));
    let out = run("ai_gateway", &[], &v.token_env());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(r#""secrets":{"vault_connected":true,"vault_enabled":true}"#),
        "{stdout}"
    );
    assert!(
        stdout.contains("gateway on :8000 with 2 provider keys"),
        "{stdout}"
    );
}

#[test]
fn ai_gateway_on_kv2_with_approle_and_env_fallback() {
    let Some(v) = DevVault::get() else { return };
    v.write("secret/ai-gateway", json!({ "OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a", "SESSION_SECRET": "s", "DATABASE_PASSWORD": "p" }));
    let out = run("ai_gateway", &[], &v.approle_env());
    assert!(out.status.success(), "{:?}", text(&out));

    // Vault gone: with VAULT_FALLBACK=env the gateway starts on env keys and says so.
    let port = closed_port();
    let env = kv(&[
        ("VAULT_ADDR", &format!("http://127.0.0.1:{port}")),
        ("VAULT_TOKEN", "t"),
        ("VAULT_MAX_RETRIES", "0"),
        ("VAULT_FALLBACK", "env"),
        ("OPENAI_API_KEY", "o"),
        ("ANTHROPIC_API_KEY", "a"),
        ("SESSION_SECRET", "s"),
        ("DATABASE_PASSWORD", "p"),
    ]);
    let out = run("ai_gateway", &[], &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(r#""secrets":{"vault_connected":false,"vault_enabled":true}"#),
        "{stdout}"
    );
}

#[test]
fn pake_migrates_env_secrets_then_loads_per_environment() {
    let Some(v) = DevVault::get() else { return };
    let profile = format!("staging{}", std::process::id());
    let vault = [v.token_env(), kv(&[("PAKE_PROFILE", &profile)])].concat();
    let secrets = kv(&[
        ("SECRET_KEY", "k-123"),
        ("DATABASE_URL", "postgres://pake/db"),
        ("REDIS_URL", "redis://pake:6379"),
    ]);
    let out = run("pake", &["migrate"], &[vault.clone(), secrets].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "write       secret/pake_system/{profile}/database (KV v2)"
        )),
        "{stdout}"
    );

    // Env cleared: Vault has them now.
    let out = run("pake", &[], &vault);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "pake ready: database 18 bytes, redis 17 bytes, secret key 5 bytes, firecrawl not set"
        ),
        "{stdout}"
    );

    // Env overrides Vault.
    let out = run(
        "pake",
        &[],
        &[
            vault.clone(),
            kv(&[("DATABASE_URL", "postgres://override")]),
        ]
        .concat(),
    );
    assert!(
        text(&out).0.contains("pake ready: database 19 bytes"),
        "{:?}",
        text(&out)
    );

    // Another environment with neither env nor Vault values: an error naming each.
    let other = [v.token_env(), kv(&[("PAKE_PROFILE", "production-empty")])].concat();
    let out = run("pake", &[], &other);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("missing `database.url`") && stderr.contains("env DATABASE_URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("vault secret/pake_system/production-empty/database#url"),
        "{stderr}"
    );
}

#[test]
fn gpubroker_loads_the_provider_folder_with_approle() {
    let Some(v) = DevVault::get() else { return };
    v.write(
        "secret/gpubroker/runpod",
        json!({ "api_key": "rp-0123456789" }),
    );
    v.write(
        "secret/gpubroker/aws",
        json!({ "access_key_id": "AKIA", "secret_access_key": "s3" }),
    );
    let env = kv(&[
        ("VAULT_ADDR", &v.addr),
        ("VAULT_ROLE_ID", &v.role_id),
        ("VAULT_SECRET_ID", &v.secret_id),
    ]);
    let out = run("gpubroker", &["runpod", "api_key"], &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("aws") && stdout.contains("runpod"),
        "{stdout}"
    );
    assert!(stdout.contains("runpod.api_key: 13 bytes"), "{stdout}");
    let out = run("gpubroker", &["vastai", "api_key"], &env);
    assert!(!out.status.success() && text(&out).1.contains("vastai.api_key: not in Vault"));
}

/// The teams' own variable names, with no code in `main`: PAKE's `USE_VAULT` and
/// `VAULT_URL` (`vault(env(..))` on its struct), the AI Gateway's `VAULT_SECRET_PATH`.
#[test]
fn the_teams_own_vault_variable_names_work_unchanged() {
    let Some(v) = DevVault::get() else { return };
    let profile = format!("teamnames{}", std::process::id());
    for (path, data) in [
        ("database", json!({ "url": "postgres://team/db" })),
        ("redis", json!({ "url": "redis://team:6379" })),
        ("security", json!({ "secret_key": "team-key" })),
    ] {
        v.write(&format!("secret/pake_system/{profile}/{path}"), data);
    }
    let team = kv(&[
        ("USE_VAULT", "true"),
        ("VAULT_URL", &v.addr),
        ("VAULT_TOKEN", &v.root),
        ("PAKE_PROFILE", &profile),
    ]);
    let out = run("pake", &[], &team);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("pake ready: database 18 bytes, redis 17 bytes, secret key 8 bytes"),
        "{stdout}"
    );
    // USE_VAULT=false: env only, Vault never asked.
    let off = kv(&[
        ("USE_VAULT", "false"),
        ("VAULT_URL", &format!("http://127.0.0.1:{}", closed_port())),
        ("SECRET_KEY", "k"),
        ("DATABASE_URL", "d"),
        ("REDIS_URL", "r"),
    ]);
    let out = run("pake", &[], &off);
    assert!(out.status.success(), "{:?}", text(&out));

    let gateway = format!("ai-gateway-team{}", std::process::id());
    v.write(
        &format!("secret/{gateway}"),
        json!({ "OPENAI_API_KEY": "sk-team", "ANTHROPIC_API_KEY": "", "SESSION_SECRET": "s", "DATABASE_PASSWORD": "p" }),
    );
    let env = kv(&[
        ("VAULT_ENABLED", "true"),
        ("VAULT_ADDR", &v.addr),
        ("VAULT_TOKEN", &v.root),
        ("VAULT_SECRET_PATH", &gateway),
    ]);
    let out = run("ai_gateway", &[], &env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("gateway on :8000 with 1 provider keys"),
        "read from VAULT_SECRET_PATH: {stdout}"
    );
}

/// `VAULT_CACERT` pins the CA, as Vault's own client does: with the system store trusting the
/// dev server's CA (`SSL_CERT_FILE`), the same load fails once `VAULT_CACERT` names another
/// CA, because the given CA replaces the system roots instead of joining them.
#[test]
fn a_given_ca_replaces_the_system_roots() {
    let Some(v) = DevVault::get() else { return };
    let base = kv(&[
        ("VAULT_ADDR", &v.tls_addr),
        ("VAULT_TOKEN", &v.root),
        ("SSL_CERT_FILE", &v.cacert),
    ]);
    let out = run("from_vault", &[], &base);
    assert!(
        out.status.success(),
        "trusted through the system store: {:?}",
        text(&out)
    );

    let other = rcgen::generate_simple_self_signed(vec!["another-ca.invalid".into()]).unwrap();
    let file = std::env::temp_dir().join(format!("vc-other-ca-{}.pem", std::process::id()));
    std::fs::write(&file, other.cert.pem()).unwrap();
    let pinned = [base, kv(&[("VAULT_CACERT", file.to_str().unwrap())])].concat();
    let out = run("from_vault", &[], &pinned);
    std::fs::remove_file(&file).unwrap();
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "presented a certificate this client does not trust (UnknownIssuer): set `VAULT_CACERT`"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains(&v.root), "{stderr}");
}

/// Config files and `.env` under env and Vault, run where its files are: every layer answers.
#[test]
fn layered_reads_env_dotenv_vault_files_and_defaults() {
    let Some(v) = DevVault::get() else { return };
    let profile = format!("layered-{}", std::process::id());
    v.write(
        &format!("secret/layered/{profile}"),
        json!({ "workers": 16 }),
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/layered");
    let out = Command::new(example_binary("layered"))
        .current_dir(&dir)
        .env_clear()
        .envs(kv(&[
            ("APP_PORT", "9000"),
            ("APP_PROFILE", &profile),
            ("VAULT_ADDR", &v.addr),
            ("VAULT_TOKEN", &v.root),
        ]))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for line in [
        "order env > dotenv > vault > file > default",
        "env APP_PORT",
        ".env APP_LOG_LEVEL",
        &format!("vault secret/layered/{profile}#workers"),
        "file config/default.toml (db.pool_size)",
        &format!("config/{profile}.toml (missing, skipped)"),
        "loaded: port 9000, 16 workers, pool of 8, 2 hosts, api key of 21 bytes",
    ] {
        assert!(stdout.contains(line), "`{line}` missing:\n{stdout}");
    }
    assert!(!stdout.contains("local-development-key") && !stdout.contains(&v.root));
}

/// All seven layers, each the winner of one field: the guide's run of `all_layers`.
#[test]
fn all_layers_reads_flags_env_a_secrets_dir_dotenv_vault_files_and_defaults() {
    let Some(v) = DevVault::get() else { return };
    let profile = format!("all-layers-{}", std::process::id());
    v.write(
        &format!("secret/layered/{profile}"),
        json!({ "workers": 16 }),
    );
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/layered");
    let out = Command::new(example_binary("all_layers"))
        .current_dir(&dir)
        .args(["--db-pool-size", "64"])
        .env_clear()
        .envs(kv(&[
            ("APP_PORT", "9000"),
            ("APP_PROFILE", &profile),
            ("VAULT_ADDR", &v.addr),
            ("VAULT_TOKEN", &v.root),
        ]))
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("order flag > env > secrets-dir > dotenv > vault > file > default"),
        "{stdout}"
    );
    // Each field's row: its value (or redaction) and the layer it came from.
    let vault = format!("vault secret/layered/{profile}#workers");
    for (field, value, source) in [
        ("db.pool_size", "64", "flag --db-pool-size"),
        ("port", "9000", "env APP_PORT"),
        ("api_key", "[REDACTED]", "secrets-dir secrets/api_key"),
        ("log_level", "debug", ".env APP_LOG_LEVEL"),
        ("workers", "16", vault.as_str()),
        (
            "hosts",
            "api-1.internal",
            "file config/default.toml (hosts)",
        ),
        ("request_timeout", "30s", "default"),
    ] {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(field))
            .unwrap_or_else(|| panic!("no row {field}:\n{stdout}"));
        let cells: Vec<&str> = row
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert!(cells[1].contains(value) && cells[2] == source, "{row}");
    }
    assert!(
        stdout.contains(
            "loaded: port 9000, 16 workers, pool of 64, 2 hosts, timeout 30s, api key of 27 bytes"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("key-from-the-mounted-secret") && !stdout.contains(&v.root));
    let help = Command::new(example_binary("all_layers"))
        .arg("--help")
        .env_clear()
        .output()
        .unwrap();
    let (help, _) = text(&help);
    assert!(
        help.contains("--request-timeout <DURATION>  How long an upstream request may take. [env: APP_REQUEST_TIMEOUT] [default: 30s]"),
        "{help}"
    );
    assert!(!help.contains("api-key"), "{help}");
}

/// A free loopback port (bound, then released) for an example's listener.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 GET on loopback: the status code and the body.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Polls `probe` every 100 ms until it answers or `within` is over.
fn poll<T>(within: std::time::Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + within;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A spawned example, killed when dropped.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(name: &str, env: &[(&str, &str)]) -> Running {
    Running(
        Command::new(example_binary(name))
            .env_clear()
            .envs(kv(env))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// The exporter example scraped as Prometheus does: every family of the library is there.
#[test]
fn metrics_exporter_serves_the_libraries_metrics_to_a_scrape() {
    let Some(v) = DevVault::get() else { return };
    v.write(
        "secret/metrics-demo",
        json!({ "api_key": "canary-exported-key" }),
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _example = spawn(
        "metrics_exporter",
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_ROLE_ID", &v.role_id),
            ("VAULT_SECRET_ID", &v.secret_id),
            ("METRICS_ADDR", &addr),
            ("EXAMPLE_SECONDS", "60"),
        ],
    );
    let wanted = [
        "vault_config_logins_total{method=\"approle\",outcome=\"ok\"}",
        "vault_config_requests_total{operation=\"read\",outcome=\"ok\"}",
        "vault_config_refreshes_total{settings=\"Settings\",outcome=\"ok\"}",
        "vault_config_last_refresh_timestamp_seconds{settings=\"Settings\"}",
        "vault_config_token_ttl_seconds{settings=\"Settings\"}",
        "vault_config_vault_connected{settings=\"Settings\"} 1",
        "# HELP vault_config_refreshes_total",
    ];
    let scraped = poll(std::time::Duration::from_secs(30), || {
        let (status, body) = http_get(port, "/metrics")?;
        (status == 200 && wanted.iter().all(|w| body.contains(w))).then_some(body)
    });
    let Some(body) = scraped else {
        panic!(
            "the scrape never showed every family: {:?}",
            http_get(port, "/metrics")
        );
    };
    assert!(!body.contains("canary-exported-key") && !body.contains(&v.secret_id));
}

/// The axum health endpoint: 200 while Vault answers, 503 once it has been away longer than
/// the threshold (the proxy in front of the server is gone), with the health JSON either way.
#[test]
fn health_endpoint_turns_503_when_vault_is_away_past_the_threshold() {
    let Some(v) = DevVault::get() else { return };
    v.write(
        "secret/health-demo",
        json!({ "api_key": "canary-health-key" }),
    );
    let proxy = crate::fixtures::fault_proxy::FaultProxy::start(&v.addr);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _example = spawn(
        "health_endpoint",
        &[
            ("VAULT_ADDR", &proxy.url()),
            ("VAULT_TOKEN", &v.root),
            ("VAULT_MAX_RETRIES", "0"),
            ("VAULT_REFRESH_INTERVAL", "200ms"),
            ("HEALTH_ADDR", &addr),
            ("HEALTH_THRESHOLD", "1s"),
        ],
    );
    let up = poll(std::time::Duration::from_secs(30), || {
        http_get(port, "/health").filter(|(status, _)| *status == 200)
    })
    .expect("200 while Vault answers");
    let health: serde_json::Value = serde_json::from_str(&up.1).unwrap();
    assert_eq!(health["vault_connected"], true, "{health}");
    drop(proxy);
    let (_, body) = poll(std::time::Duration::from_secs(30), || {
        http_get(port, "/health").filter(|(status, _)| *status == 503)
    })
    .expect("503 once Vault is away longer than the threshold");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["vault_connected"], false, "{health}");
    assert!(!body.contains("canary-health-key") && !body.contains(&v.root));
}
