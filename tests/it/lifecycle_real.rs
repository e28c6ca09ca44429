//! The live lifecycle where its parts meet, on the real OpenBao and PostgreSQL of
//! `scripts/dev-vault`: one test per seam (the simulation in `live_sim.rs` covers the same
//! ground on a simulated clock). Each test uses a database role of its own (names of at most 8
//! characters: OpenBao's user names keep 8 of the role's), so that counts of leases are its own.
//! Each prints its figure (`cargo test --test it lifecycle_real -- --nocapture`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::live::Live;
use vault_config::vault::VaultClient;
use vault_config::{ExposeSecret, VaultConfig};

use crate::fixtures::dev_vault::{self, DevVault};
use crate::fixtures::fault_proxy::{Action, Canned, FaultProxy, Rule};
use crate::leases_real::{DbCreds, whoami};

/// Creates (or resets) the dynamic database role `name` with these TTLs, with no lease left
/// from an earlier run.
fn db_role(v: &DevVault, name: &str, ttl: &str, max_ttl: &str) {
    let (status, body) = v.call(
        "PUT",
        &format!("sys/leases/revoke-prefix/database/creds/{name}"),
        None,
    );
    assert!((200..300).contains(&status), "{status} {body}");
    let create = [
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
    ];
    let (status, body) = v.call(
        "POST",
        &format!("database/roles/{name}"),
        Some(&json!({ "db_name": "pg", "default_ttl": ttl, "max_ttl": max_ttl, "creation_statements": create })),
    );
    assert!((200..300).contains(&status), "{status} {body}");
}

/// An AppRole role `name` whose tokens hold the struct's generated policy (and `default`),
/// with these token TTLs; `VAULT_ADDR` (at `addr`), `VAULT_ROLE_ID` and `VAULT_SECRET_ID`.
fn approle<T: VaultConfig>(
    v: &DevVault,
    name: &str,
    addr: &str,
    ttl: &str,
    max_ttl: &str,
) -> Vec<(String, String)> {
    let hcl = T::schema().policy(
        &["default"],
        &vault_config_core::location::Overrides::none(),
        |mount| mount == "secret",
    );
    v.put_policy(name, &hcl);
    let (role_id, secret_id) = v.approle(
        name,
        json!({ "token_policies": [name], "token_ttl": ttl, "token_max_ttl": max_ttl }),
    );
    vec![
        ("VAULT_ADDR".into(), addr.to_owned()),
        ("VAULT_ROLE_ID".into(), role_id),
        ("VAULT_SECRET_ID".into(), secret_id),
    ]
}

/// The leases of `database/creds/<role>` alive at the server.
fn leases_alive(v: &DevVault, role: &str) -> usize {
    let (status, body) = v.call(
        "LIST",
        &format!("sys/leases/lookup/database/creds/{role}/"),
        None,
    );
    match status {
        200 => body["data"]["keys"].as_array().map_or(0, Vec::len),
        404 => 0,
        other => panic!("{other} {body}"),
    }
}

/// The tokens of `tokens` the server still accepts (`lookup-self` answers 200).
fn tokens_alive<'t>(v: &DevVault, tokens: &'t [String]) -> Vec<&'t String> {
    tokens
        .iter()
        .filter(|t| {
            dev_vault::request(&v.addr, t, None, "GET", "auth/token/lookup-self", None).0 == 200
        })
        .collect()
}

/// Queries with `current()`'s credentials every 100 ms for `run`: `(attempts, failures)`.
async fn query_for<T>(
    v: &DevVault,
    live: &Live<T>,
    run: Duration,
    creds: impl Fn(&T) -> &DbCreds,
) -> (usize, Vec<String>)
where
    T: VaultConfig + Send + Sync,
{
    let started = Instant::now();
    let (mut attempts, mut failures) = (0, Vec::new());
    while started.elapsed() < run {
        let settings = live.current();
        attempts += 1;
        if let Err(e) = whoami(v, creds(&settings)).await {
            failures.push(format!("at {:?}: {e}", started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (attempts, failures)
}

/// Role `lcrelog`: TTL 1 h. Tokens live 4 s, at most 12 s: the first token's max TTL is
/// learned when a renewal is capped (at most one TTL before its end, at least about a third of
/// one), later ones are replaced at about 2/3 of it.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCRELOG_")]
struct Relogin {
    #[config(lease = "database/creds/lcrelog")]
    db: DbCreds,
}

/// A token's expiry revokes the leases it created: before the login token reaches its max
/// TTL, the credentials it leased are replaced under the new token and published, so that no
/// connection fails across re-logins. (Before: about two thirds of attempts failed, with a
/// clean health.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_survive_the_login_token_reaching_its_max_ttl() {
    let Some(v) = DevVault::get() else { return };
    db_role(&v, "lcrelog", "1h", "4h");
    let env = approle::<Relogin>(&v, "lcrelog", &v.addr, "4s", "12s");
    let live = Live::builder(Relogin::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .lease_grace(Duration::from_secs(1))
        .start_async()
        .await
        .unwrap();
    let (attempts, failures) = query_for(&v, &live, Duration::from_secs(26), |s| &s.db).await;
    let lease = live.health().leases[0].clone();
    println!(
        "re-login: {attempts} connection attempts in 26 s across token max TTLs of 12 s, {} failed, lease generation {}",
        failures.len(),
        lease.generation
    );
    assert!(
        failures.is_empty(),
        "{} of {attempts} failed: {failures:#?}",
        failures.len()
    );
    assert!(
        lease.generation >= 3,
        "rotated before each token's end: {lease:?}"
    );
    assert!(lease.ttl_remaining.is_some_and(|t| t <= 3600), "{lease:?}");
    live.shutdown_async().await;
    assert_eq!(leases_alive(&v, "lcrelog"), 0, "given back at shutdown");
}

/// Role `lcexpl`: TTL 3 s, max 6 s.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCEXPL_")]
struct Explained {
    #[config(lease = "database/creds/lcexpl")]
    db: DbCreds,
}

/// `explain()` in a loop, from another thread, while the credentials rotate: it reads what
/// is published and never reads new credentials, so the ones in use are never revoked
/// under the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_in_a_loop_during_rotations_never_costs_the_credentials_in_use() {
    let Some(v) = DevVault::get() else { return };
    db_role(&v, "lcexpl", "3s", "6s");
    let live = Live::builder(Explained::loader().env_vars(v.token_env()))
        .refresh_every(Duration::from_secs(3600))
        .lease_grace(Duration::from_millis(500))
        .start_async()
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let explainer = {
        let (live, stop) = (live.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let shown = live.explain().to_string();
                assert!(shown.contains("lease database/creds/lcexpl/"), "{shown}");
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };
    let (attempts, failures) = query_for(&v, &live, Duration::from_secs(15), |s| &s.db).await;
    stop.store(true, Ordering::Relaxed);
    let explains = explainer.join().unwrap();
    let generation = live.health().leases[0].generation;
    println!(
        "explain: {explains} explains during 15 s of rotations, {attempts} connection attempts, {} failed, generation {generation}",
        failures.len()
    );
    assert!(explains > 100, "explain ran {explains} times");
    assert!(
        failures.is_empty(),
        "{} of {attempts} failed: {failures:#?}",
        failures.len()
    );
    assert!(generation >= 3, "rotations happened: {generation}");
    live.shutdown_async().await;
    assert_eq!(leases_alive(&v, "lcexpl"), 0);
}

/// Role `lcreject`: TTL 3 s, max 6 s; and a setting from a config file.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCREJECT_")]
struct Rejected {
    #[config(lease = "database/creds/lcreject")]
    db: DbCreds,
    #[allow(dead_code)]
    #[config(validate = crate::fixtures::common::not_bad)]
    mode: String,
}

/// A refresh that reads new credentials and is then rejected (a bad value in a file) revokes
/// the new lease and keeps the published one alive: `current()` keeps working until its
/// lease's own end, and health speaks of the lease in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_refresh_during_a_rotation_keeps_the_credentials_in_use() {
    let Some(v) = DevVault::get() else { return };
    db_role(&v, "lcreject", "3s", "6s");
    let dir = tempdir("lcreject");
    let file = dir.join("settings.toml");
    std::fs::write(&file, "mode = \"good\"\n").unwrap();
    // Before the first lease is read: it lives at least until `issued` + 6 s.
    let issued = Instant::now();
    let live = Live::builder(
        Rejected::loader()
            .env_vars(v.token_env())
            .file(file.to_str().unwrap()),
    )
    .refresh_every(Duration::from_secs(3600))
    .lease_grace(Duration::from_millis(50))
    .start_async()
    .await
    .unwrap();
    std::fs::write(&file, "mode = \"bad\"\n").unwrap();
    // The lease's renewal is capped at 6 s: new credentials are read with about 0.9 s left,
    // and that refresh is rejected. Query until health says so.
    let (mut attempts, mut failures) = (0, Vec::new());
    let rejected = loop {
        let lease = live.health().leases[0].clone();
        if lease
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("rejected"))
        {
            break lease;
        }
        assert!(
            issued.elapsed() < Duration::from_secs(6),
            "no rotation: {lease:?}"
        );
        let settings = live.current();
        attempts += 1;
        if let Err(e) = whoami(&v, &settings.db).await {
            failures.push(e);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Past the grace (50 ms) and before the lease's own end: the published credentials work.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let settings = live.current();
    let after = whoami(&v, &settings.db).await;
    let alive = leases_alive(&v, "lcreject");
    println!(
        "rejected refresh: {attempts} connection attempts before the rejected rotation, {} failed; after it: {}, generation {}, {alive} leases alive",
        failures.len(),
        if after.is_ok() {
            "the credentials in use work"
        } else {
            "the credentials in use are gone"
        },
        rejected.generation,
    );
    assert!(
        issued.elapsed() < Duration::from_secs(6),
        "within the first lease's life"
    );
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        after,
        Ok(settings.db.username.clone()),
        "kept alive after the rejection"
    );
    assert_eq!(
        rejected.generation, 1,
        "nothing new was published: {rejected:?}"
    );
    assert_eq!(alive, 1, "the rejected refresh's lease was revoked");
    // Fixed: the next refresh publishes new credentials.
    std::fs::write(&file, "mode = \"fine\"\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while live.health().leases[0].generation < 2 {
        assert!(Instant::now() < deadline, "{:?}", live.health());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = live.current();
    assert_eq!(whoami(&v, &now.db).await.unwrap(), now.db.username);
    live.shutdown_async().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Role `lcarc`: TTL 2 s, max 1 h.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCARC_")]
struct Shared {
    #[config(lease = "database/creds/lcarc")]
    db: DbCreds,
}

/// A client shared as `Arc<VaultClient>` renews and revokes leases like the client itself.
/// (Before: `Arc` answered "denied" to renewals, so each renewal replaced the credentials,
/// and none was revoked at shutdown.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_shared_as_arc_renews_and_gives_back_its_leases() {
    let Some(v) = DevVault::get() else { return };
    db_role(&v, "lcarc", "2s", "1h");
    let client = Arc::new(
        VaultClient::builder()
            .address(&v.addr)
            .token(&v.root)
            .build()
            .unwrap(),
    );
    let live = Live::builder(
        Shared::loader()
            .env_vars::<[(&str, &str); 0], &str, &str>([])
            .vault(Arc::clone(&client)),
    )
    .refresh_every(Duration::from_secs(3600))
    .start_async()
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let lease = live.health().leases[0].clone();
    println!(
        "arc: generation {} after 10 s of a 2 s lease",
        lease.generation
    );
    assert_eq!(lease.generation, 1, "renewed, not replaced: {lease:?}");
    assert!(lease.last_error.is_none(), "{lease:?}");
    let current = live.current();
    assert_eq!(whoami(&v, &current.db).await.unwrap(), current.db.username);
    live.shutdown_async().await;
    assert_eq!(leases_alive(&v, "lcarc"), 0, "revoked at shutdown");
}

/// Role `lcshot`: TTL 1 h.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCSHOT_")]
struct OneShot {
    #[allow(dead_code)]
    #[config(lease = "database/creds/lcshot")]
    db: DbCreds,
    /// Never set: every load fails.
    #[allow(dead_code)]
    required: String,
}

/// A one-shot load that fails, an `explain` and a `check` give back the leases they read and
/// then their login token: a crash-looping pod or an init container leaves nothing behind.
#[test]
fn failed_loads_explain_and_check_leave_no_token_and_no_lease() {
    let Some(v) = DevVault::get() else { return };
    db_role(&v, "lcshot", "1h", "4h");
    let proxy = FaultProxy::start(&v.addr);
    let env = approle::<OneShot>(&v, "lcshot", &proxy.url(), "1h", "4h");
    for _ in 0..3 {
        let err = OneShot::loader().env_vars(env.clone()).load().unwrap_err();
        assert!(err.to_string().contains("required"), "{err}");
    }
    let explained = OneShot::loader()
        .env_vars(env.clone())
        .explain()
        .to_string();
    assert!(
        explained.contains("lease database/creds/lcshot/"),
        "{explained}"
    );
    let _ = OneShot::loader().env_vars(env).check();
    // The failed loads gave back in the background; explain and check waited for theirs.
    assert!(vault_config::vault::blocking::wait_for_give_backs(
        Duration::from_secs(10)
    ));
    let tokens = proxy.issued_tokens();
    let alive = tokens_alive(&v, &tokens);
    let leases = leases_alive(&v, "lcshot");
    println!(
        "one-shot: 3 failed loads, an explain and a check: {} tokens issued, {} alive, {leases} leases alive",
        tokens.len(),
        alive.len()
    );
    assert_eq!(tokens.len(), 5, "one login each");
    assert!(alive.is_empty(), "{} tokens alive", alive.len());
    assert_eq!(leases, 0);
}

/// A one-shot load refused a path (403) logs in again once; the token it replaced is revoked.
#[test]
fn a_relogin_after_a_403_revokes_the_stale_token() {
    let Some(v) = DevVault::get() else { return };
    let proxy = FaultProxy::start(&v.addr);
    // The first read is refused as if the token lacked the policy; the retry with a new
    // token is let through.
    let denied = proxy.rule(
        Rule::on(
            "secret/data/myapp/",
            Action::Reply(Canned::json(
                403,
                json!({ "errors": ["permission denied"] }),
            )),
        )
        .times(1),
    );
    let mut env = v.approle_env();
    env[0].1 = proxy.url();
    let settings = crate::fixtures::common::Settings::loader()
        .env_vars(
            env.into_iter()
                .chain([("APP_DATABASE_URL".to_owned(), "postgres://x".to_owned())]),
        )
        .explain();
    drop(settings);
    assert_eq!(proxy.served_by(denied), 1);
    let tokens = proxy.issued_tokens();
    let alive = tokens_alive(&v, &tokens).len();
    println!(
        "403: {} tokens issued, {alive} alive after the load",
        tokens.len()
    );
    assert_eq!(tokens.len(), 2, "the re-login");
    assert_eq!(alive, 0);
}

/// Role-less: a KV v2 secret and a watched config file, refreshed hourly.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LCIDLE_", vault(path = "vault-config-demo/default"))]
struct Idle {
    #[config(secret, vault(path = "api", key = "key"))]
    api_key: vault_config::SecretString,
    #[allow(dead_code)]
    mode: String,
}

/// An idle watched file causes no refresh (reading it is no change), and an edit arrives
/// within a second. (Before: about ten refreshes a second, each with a metadata request.)
#[test]
fn an_idle_watched_file_causes_no_refresh_and_an_edit_arrives_within_a_second() {
    let Some(v) = DevVault::get() else { return };
    let dir = tempdir("lcidle");
    let file = dir.join("settings.toml");
    std::fs::write(&file, "mode = \"one\"\n").unwrap();
    let proxy = FaultProxy::start(&v.addr);
    let metadata = proxy.rule(Rule::on("secret/metadata/", Action::Forward));
    let mut env = v.token_env();
    env[0].1 = proxy.url();
    let live = Live::builder(Idle::loader().env_vars(env).file(file.to_str().unwrap()))
        .refresh_every(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert!(!live.current().api_key.expose_secret().is_empty());
    std::thread::sleep(Duration::from_secs(6));
    let idle = (live.health().refreshes, proxy.served_by(metadata));
    println!(
        "idle file: {} refreshes and {} metadata requests in 6 s",
        idle.0, idle.1
    );
    assert_eq!(idle, (0, 0), "refreshes, metadata requests");
    let mut changes = live.subscribe();
    let edited = Instant::now();
    std::fs::write(&file, "mode = \"two\"\n").unwrap();
    while !changes.has_changed().unwrap() {
        assert!(
            edited.elapsed() < Duration::from_secs(1),
            "the edit did not arrive within 1 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(changes.borrow_and_update().fields, ["mode"]);
    println!("idle file: the edit arrived in {:?}", edited.elapsed());
    live.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory under the system's temporary one.
fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vault-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
