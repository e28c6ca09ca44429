//! Leased credentials (`#[config(lease = "..")]`) against the real OpenBao server and its
//! database secrets engine over the real PostgreSQL of `scripts/dev-vault`: every query runs
//! with the credentials current at that moment, leases are renewed, rotated before their max
//! TTL, rotated when a renewal is refused, survive Vault going away, and are given back.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use vault_config::live::Live;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault::DevVault;

#[derive(Debug, serde::Deserialize)]
pub(crate) struct DbCreds {
    pub(crate) username: String,
    pub(crate) password: SecretString,
}

/// Role `app`: TTL 3 s, max TTL 6 s.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LEASED_")]
struct Rotating {
    #[config(lease = "database/creds/app")]
    db: DbCreds,
}

/// Role `app-renew`: TTL 2 s, max TTL 1 h.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LEASED_")]
struct Renewing {
    #[config(lease = "database/creds/app-renew")]
    db: DbCreds,
}

/// Role `app-long`: TTL 1 h, and a KV secret next to it.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LEASED_", vault(path = "vault-config-demo/default"))]
struct OneShot {
    #[config(lease = "database/creds/app-long")]
    db: DbCreds,
    #[config(secret, vault(path = "api", key = "key"))]
    api_key: SecretString,
}

/// Static role `app-static`: user `static_app`, password rotated every 5 s.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LEASED_")]
struct Static {
    #[config(lease = "database/static-creds/app-static")]
    db: DbCreds,
}

/// The dev PostgreSQL, logging in with `creds`.
fn pg_config(v: &DevVault, creds: &DbCreds) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(v.pg_port)
        .dbname("postgres")
        .user(&creds.username)
        .password(creds.password.expose_secret())
        .connect_timeout(Duration::from_secs(5));
    config
}

/// `SELECT current_user` over a new connection with `creds`.
pub(crate) async fn whoami(v: &DevVault, creds: &DbCreds) -> Result<String, String> {
    let (client, connection) = pg_config(v, creds)
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connect as {}: {e}{}", creds.username, detail(&e)))?;
    let conn = tokio::spawn(connection);
    let row = client
        .query_one("SELECT current_user::text", &[])
        .await
        .map_err(|e| format!("query as {}: {e}{}", creds.username, detail(&e)))?;
    drop(client);
    let _ = conn.await;
    Ok(row.get(0))
}

/// PostgreSQL's own message, when the server answered one (never a password).
fn detail(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map(|d| format!(" ({})", d.message()))
        .unwrap_or_default()
}

/// The dynamic roles of `role` that PostgreSQL still has (OpenBao names them
/// `v-<display name>-<role>-<20 random>-<unix time>`).
pub(crate) async fn roles_left(v: &DevVault, role: &str) -> Vec<String> {
    let admin = DbCreds {
        username: "postgres".into(),
        password: SecretString::from(v.pg_password.clone()),
    };
    let (client, connection) = pg_config(v, &admin)
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let pattern = format!("^v-[^-]+-{role}-[A-Za-z0-9]{{20}}-[0-9]+$");
    client
        .query(
            "SELECT rolname::text FROM pg_roles WHERE rolname ~ $1",
            &[&pattern],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A token holding only the struct's generated policy (and `default`, which renews leases).
fn token_with_policy<T: VaultConfig>(v: &DevVault, name: &str) -> Vec<(String, String)> {
    let hcl = T::schema().policy(
        &["default"],
        &vault_config_core::location::Overrides::none(),
        |mount| mount == "secret",
    );
    assert!(hcl.contains("sys/leases/revoke/database/"), "{hcl}");
    v.put_policy(name, &hcl);
    vec![
        ("VAULT_ADDR".into(), v.addr.clone()),
        ("VAULT_TOKEN".into(), v.token_with(&[name], "1h")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_queries_for_20_s_on_rotating_credentials_and_leaves_no_role_behind() {
    let Some(v) = DevVault::get() else { return };
    let env = token_with_policy::<Rotating>(&v, "leased-rotating");
    let live = Live::builder(Rotating::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .lease_grace(Duration::from_millis(500))
        .start_async()
        .await
        .expect("the first load reads the credentials");
    let mut changes = live.subscribe();
    let started = Instant::now();
    let (mut queries, mut failures, mut users) = (0, Vec::new(), BTreeSet::new());
    while started.elapsed() < Duration::from_secs(20) {
        let settings = live.current();
        queries += 1;
        match whoami(&v, &settings.db).await {
            Ok(user) if user == settings.db.username => {
                users.insert(user);
            }
            Ok(user) => failures.push(format!("logged in as {user}, not {}", settings.db.username)),
            Err(e) => failures.push(format!("at {:?}: {e}", started.elapsed())),
        }
        if changes.has_changed().unwrap_or(false) {
            let change = changes.borrow_and_update().clone();
            assert_eq!(
                change.fields,
                ["db"],
                "a rotation changes exactly the field"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let health = live.health();
    let lease = &health.leases[0];
    println!(
        "leases: {queries} queries in 20 s, {} failed, {} generations of credentials seen, health generation {}",
        failures.len(),
        users.len(),
        lease.generation
    );
    assert!(
        failures.is_empty(),
        "{} of {queries} queries failed: {failures:#?}",
        failures.len()
    );
    assert!(
        users.len() >= 3,
        "only {} generations in 20 s: {users:?}",
        users.len()
    );
    assert_eq!(
        (lease.field.as_str(), lease.path.as_str()),
        ("db", "database/creds/app")
    );
    assert!(lease.generation >= 3 && lease.renewable, "{lease:?}");
    let health_json = serde_json::to_string(&health).unwrap();
    let current = live.current();
    assert!(!health_json.contains(current.db.password.expose_secret()));
    live.shutdown_async().await;
    // Given back: the generated policy allows revoking this path's leases.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = roles_left(&v, "app").await;
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = roles_left(&v, "app").await;
    }
    assert!(
        left.is_empty(),
        "dynamic roles left after shutdown: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_renewal_rotates_the_credentials() {
    let Some(v) = DevVault::get() else { return };
    let env = token_with_policy::<Renewing>(&v, "leased-renewing");
    let live = Live::builder(Renewing::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let first = live.current();
    assert_eq!(whoami(&v, &first.db).await.unwrap(), first.db.username);
    let mut changes = live.subscribe();
    // An operator revokes the credentials (a leak, say): the next renewal is refused.
    let (status, body) = v.call(
        "PUT",
        "sys/leases/revoke-prefix/database/creds/app-renew",
        None,
    );
    assert!((200..300).contains(&status), "{status} {body}");
    if tokio::time::timeout(Duration::from_secs(10), changes.changed())
        .await
        .is_err()
    {
        panic!(
            "no new credentials within 10 s of the revocation: {:?}",
            live.health()
        );
    }
    let second = live.current();
    assert_ne!(second.db.username, first.db.username);
    assert_eq!(whoami(&v, &second.db).await.unwrap(), second.db.username);
    assert!(
        whoami(&v, &first.db).await.is_err(),
        "the revoked user is gone"
    );
    assert_eq!(live.health().leases[0].generation, 2);
    live.shutdown_async().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_kept_while_vault_is_away_and_rotated_when_it_is_back() {
    let Some(v) = DevVault::get() else { return };
    let proxy = crate::fixtures::fault_proxy::FaultProxy::start(&v.addr);
    let env = vec![
        ("VAULT_ADDR".to_owned(), proxy.url()),
        ("VAULT_TOKEN".to_owned(), v.root.clone()),
        ("VAULT_CLIENT_TIMEOUT".to_owned(), "1s".to_owned()),
        ("VAULT_MAX_RETRIES".to_owned(), "0".to_owned()),
    ];
    let live = Live::builder(Rotating::loader().env_vars(env))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let before = live.current().db.username.clone();
    let generation = live.health().leases[0].generation;
    // Away before the first lease's max TTL (6 s): its renewal or its rotation fails.
    proxy.refuse();
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let lease = live.health().leases[0].clone();
        if lease.rotation_pending || lease.last_error.is_some() {
            break lease;
        }
        assert!(Instant::now() < deadline, "no failure shown: {lease:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(pending.last_error.is_some(), "{pending:?}");
    assert_eq!(
        live.current().db.username,
        before,
        "the credentials in use are kept"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.accept_again();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lease = live.health().leases[0].clone();
        if lease.generation > generation && !lease.rotation_pending && lease.last_error.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {lease:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let now = live.current();
    assert_ne!(now.db.username, before);
    assert_eq!(whoami(&v, &now.db).await.unwrap(), now.db.username);
    live.shutdown_async().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_role_is_read_again_when_its_password_rotates() {
    let Some(v) = DevVault::get() else { return };
    let live = Live::builder(Static::loader().env_vars(v.token_env()))
        .refresh_every(Duration::from_secs(3600))
        .start_async()
        .await
        .unwrap();
    let first = live.current();
    assert_eq!(first.db.username, "static_app");
    let lease = &live.health().leases[0];
    assert_eq!(
        (lease.lease.as_deref(), lease.renewable),
        (None, false),
        "{lease:?}"
    );
    let mut changes = live.subscribe();
    tokio::time::timeout(Duration::from_secs(15), changes.changed())
        .await
        .expect("the rotated password within 15 s (rotation period 5 s)")
        .unwrap();
    assert_eq!(changes.borrow().fields, ["db"]);
    let second = live.current();
    assert_ne!(
        second.db.password.expose_secret(),
        first.db.password.expose_secret()
    );
    // The password in use is the one PostgreSQL has now, unless it rotated again since.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match whoami(&v, &live.current().db).await {
            Ok(user) => break assert_eq!(user, "static_app"),
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    live.shutdown_async().await;
}

#[test]
fn load_reads_leased_credentials_and_explain_shows_the_lease_but_never_the_values() {
    let Some(v) = DevVault::get() else { return };
    // AppRole: a one-shot load keeps its login token, whose revocation would take the
    // credentials with it, so they still log in after the load.
    let env = v.approle_env();
    let settings = OneShot::loader().env_vars(env.clone()).load().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(
        runtime.block_on(whoami(&v, &settings.db)).unwrap(),
        settings.db.username
    );
    assert!(
        !settings.api_key.expose_secret().is_empty(),
        "the KV secret in the same batch"
    );
    let explained = OneShot::loader()
        .env_vars(env.clone())
        .explain()
        .to_string();
    assert!(
        explained.contains("vault database/creds/app-long (lease database/creds/app-long/…"),
        "{explained}"
    );
    assert!(explained.contains("ttl 3600s, renewable"), "{explained}");
    let check = format!("{:?}", OneShot::loader().env_vars(env).check());
    // No lease of the path appears in full.
    let (status, listed) = v.call("LIST", "sys/leases/lookup/database/creds/app-long/", None);
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<String> = listed["data"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert!(!ids.is_empty());
    for id in &ids {
        assert!(
            !explained.contains(id.as_str()) && !check.contains(id.as_str()),
            "{id}"
        );
    }
    for printed in [&explained, &check, &format!("{settings:?}")] {
        assert!(
            !printed.contains(settings.db.password.expose_secret()),
            "{printed}"
        );
        assert!(
            !printed.contains(settings.api_key.expose_secret()),
            "{printed}"
        );
    }
}

/// `env-template` says what a leased field is and offers its variable commented out: env
/// would pin fixed credentials that nothing renews.
#[test]
fn env_template_documents_a_leased_field() {
    let env = Rotating::schema().env_template("default");
    assert!(
        env.contains(
            "# leased credentials from Vault database/creds/app: renewed, replaced and given back by the library;\n# set this only to pin fixed credentials, which nothing renews\n# LEASED_DB=\n"
        ),
        "{env}"
    );
}
