//! Scenario 1: a cold load (new client, AppRole login, every secret) by each contender, and the
//! floor it is measured against.

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use vault_config::VaultConfig;

use crate::report::{ColdRow, Contender, ServerTime, Transport, stats};
use crate::{Options, Paths1, Paths8, Paths32, Paths128, Server, time_runs_settled};

/// One row: the floor, then each contender through the delay proxy at `addr`. `direct` is the
/// same listener without the proxy, where the server's own time for the batch is measured.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, every argument named there"
)]
pub fn cold_row(
    rt: &Runtime,
    server: &Server,
    transport: Transport,
    addr: &str,
    direct: &str,
    p: usize,
    rtt_us: f64,
    o: &Options,
) -> ColdRow {
    let ca = (transport == Transport::Tls).then_some(server.cacert.as_str());
    let server_time = rt.block_on(server_time(direct, ca, server, p, o.runs));
    let round_trips = transport.round_trips(p);
    // The sequential contenders pay 1 + P round trips a run: fewer runs at large P.
    let seq_runs = o.runs.min((320 / p).max(5));
    let mut env = vec![
        ("VAULT_ADDR", addr),
        ("VAULT_ROLE_ID", server.role_id.as_str()),
        ("VAULT_SECRET_ID", server.secret_id.as_str()),
    ];
    if let Some(ca) = ca {
        env.push(("VAULT_CACERT", ca));
    }
    // First with the KV version stated (`VAULT_KV_VERSION=2`), as each contender's code states
    // it by calling its KV v2 API; then the same loads left to detect it.
    let stated = [env.as_slice(), &[("VAULT_KV_VERSION", "2")]].concat();
    // Each load starts once the last one's revocation is done, as the load of the next process
    // would (one load per process): the server is not revoking a token while it logs in.
    let settle = || {
        vault_config::vault::blocking::wait_for_give_backs(Duration::from_secs(10));
    };
    // Tokens alive before and after our loads, their revocations waited for: what a
    // long-running process that loads leaves behind.
    let before = crate::fleet::tokens_alive(server);
    let ours = stats(&time_runs_settled(o.runs, settle, || {
        load_paths(p, &stated)
    }));
    let ours_detected = stats(&time_runs_settled(o.runs, settle, || load_paths(p, &env)));
    settle();
    let tokens_left = Some(crate::fleet::tokens_alive(server) as i64 - before as i64);
    let mut contenders = Vec::new();
    #[cfg(feature = "contenders")]
    contenders.extend([
        Contender::timed("vaultrs 0.8", seq_runs, || {
            rt.block_on(vaultrs_load(addr, ca, server, p))
        }),
        Contender::timed("vault-client-rs 0.8", seq_runs, || {
            rt.block_on(vault_client_rs_load(addr, ca, server, p))
        }),
    ]);
    if let Some(python) = &o.python {
        contenders.push(Contender::from(
            "hvac 2.4",
            hvac_load(python, addr, ca, server, p, seq_runs),
        ));
    }
    ColdRow {
        transport,
        paths: p,
        secrets: 4 * p,
        round_trips,
        floor_us: round_trips as f64 * rtt_us + server_time.total_us(),
        server: server_time,
        ours,
        ours_detected: Some(ours_detected),
        tokens_left,
        contenders,
    }
}

/// The server's own time, in µs (medians of `runs`), for the requests a one-shot load cannot
/// do without: an AppRole login, a batch of `p` parallel KV v2 reads and the login token's
/// revocation, with the AppRole token as a load uses it. Measured without the proxy, on
/// connections opened and used once before (HTTP/2 over TLS; `p` kept-alive HTTP/1.1
/// connections otherwise).
async fn server_time(
    direct: &str,
    ca: Option<&str>,
    server: &Server,
    p: usize,
    runs: usize,
) -> ServerTime {
    let mut builder = reqwest::Client::builder().pool_max_idle_per_host(p);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).expect("CA file");
        builder = builder
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA certificate"));
    }
    let http = builder.build().expect("client");
    // What a load does, one request at a time: log in, read the batch with the new token,
    // revoke it; each step timed on its own.
    let run = || async {
        let t = Instant::now();
        let login: serde_json::Value = http
            .post(format!("{direct}/v1/auth/approle/login"))
            .body(
                serde_json::json!({ "role_id": server.role_id, "secret_id": server.secret_id })
                    .to_string(),
            )
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let login_took = t.elapsed();
        let token = login["auth"]["client_token"]
            .as_str()
            .expect("client_token");
        let t = Instant::now();
        let reads = (0..p).map(|i| {
            let http = &http;
            async move {
                let reply = http
                    .get(format!("{direct}/v1/secret/data/bench/p{p}/s{i}"))
                    .header("X-Vault-Token", token)
                    .send()
                    .await
                    .expect("read");
                assert!(reply.status().is_success(), "read: {}", reply.status());
                reply.bytes().await.expect("body")
            }
        });
        futures_util::future::join_all(reads).await;
        let batch_took = t.elapsed();
        let t = Instant::now();
        let status = http
            .post(format!("{direct}/v1/auth/token/revoke-self"))
            .header("X-Vault-Token", token)
            .send()
            .await
            .expect("revoke")
            .status();
        assert!(status.is_success(), "revoke: {status}");
        (login_took, batch_took, t.elapsed())
    };
    run().await; // opens the connections
    let (mut logins, mut batches, mut revokes) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (login, batch, revoke) = run().await;
        logins.push(login);
        batches.push(batch);
        revokes.push(revoke);
    }
    ServerTime {
        login_us: stats(&logins).median_us,
        batch_us: stats(&batches).median_us,
        revoke_us: stats(&revokes).median_us,
    }
}

pub fn load_paths(p: usize, env: &[(&str, &str)]) {
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

#[cfg(feature = "contenders")]
/// The `vaultrs` crate as its README shows it: a client, an AppRole login, `kv2::read` per
/// path. Its login does not set the token: the caller does.
async fn vaultrs_load(addr: &str, ca: Option<&str>, server: &Server, p: usize) {
    use vaultrs::client::{Client as _, VaultClient, VaultClientSettingsBuilder};
    let mut settings = VaultClientSettingsBuilder::default();
    settings.address(addr).token("");
    if let Some(ca) = ca {
        settings.ca_certs(vec![ca.to_owned()]);
    }
    let mut client =
        VaultClient::new(settings.build().expect("vaultrs settings")).expect("vaultrs client");
    let auth =
        vaultrs::auth::approle::login(&client, "approle", &server.role_id, &server.secret_id)
            .await
            .expect("vaultrs login");
    client.set_token(&auth.client_token);
    for i in 0..p {
        let data: serde_json::Value =
            vaultrs::kv2::read(&client, "secret", &format!("bench/p{p}/s{i}"))
                .await
                .expect("vaultrs read");
        std::hint::black_box(data);
    }
}

#[cfg(feature = "contenders")]
/// The `vault-client-rs` crate as its README shows it: a client, an AppRole login (which sets
/// the token), `kv2(mount).read_data` per path.
async fn vault_client_rs_load(addr: &str, ca: Option<&str>, server: &Server, p: usize) {
    use vault_client_rs::api::traits::AppRoleAuthOperations as _;
    let mut builder = vault_client_rs::VaultClient::builder().address(addr);
    if let Some(ca) = ca {
        builder = builder.ca_cert_pem(std::fs::read(ca).expect("CA file"));
    }
    let client = builder.build().expect("vault-client-rs client");
    client
        .auth()
        .approle()
        .login(
            &server.role_id,
            &secrecy::SecretString::from(server.secret_id.clone()),
        )
        .await
        .expect("vault-client-rs login");
    let kv = client.kv2("secret");
    for i in 0..p {
        let data: serde_json::Value = kv
            .read_data(&format!("bench/p{p}/s{i}"))
            .await
            .expect("vault-client-rs read");
        std::hint::black_box(data);
    }
}

const HVAC_SCRIPT: &str = r#"
import json, sys, time
import hvac
addr, ca, role_id, secret_id, p, runs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def load():
    client = hvac.Client(url=addr, verify=ca if ca else True)
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
    ca: Option<&str>,
    server: &Server,
    p: usize,
    runs: usize,
) -> Result<Vec<Duration>, String> {
    let out = Command::new(python)
        .args([
            "-c",
            HVAC_SCRIPT,
            addr,
            ca.unwrap_or(""),
            &server.role_id,
            &server.secret_id,
            &p.to_string(),
            &runs.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "hvac failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let secs: Vec<f64> = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    Ok(secs.into_iter().map(Duration::from_secs_f64).collect())
}
