//! What a healthy server answers, against the real OpenBao server (`scripts/dev-vault`): KV v2
//! versions, soft delete and destroy, KV v1 and the hints for version mix-ups, a missing
//! secret, percent-encoded paths, a response-wrapped secret id, a revoked login token, the
//! token's life under live settings (renewal, the max TTL, revocation on shutdown) and KV v2
//! refreshes that re-read only what moved. A forwarding proxy (`tests/fixtures/fault_proxy.rs`) counts
//! the requests; nothing in it answers for the server.

use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::live::Live;
use vault_config::source::{SecretSource, VaultPath};
use vault_config::vault::{Auth, KvVersion, VaultClient};
use vault_config::vault::{SecretId, WrappingToken};
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy;
use crate::fixtures::{unique, wait_until};
use dev_vault::DevVault;
use fault_proxy::{Action, FaultProxy, Rule};
fn root_client(addr: &str, v: &DevVault) -> VaultClient {
    VaultClient::builder()
        .address(addr)
        .token(v.root.clone())
        .build()
        .unwrap()
}

/// One path read through the client; the error's text on failure.
fn read(client: &VaultClient, path: VaultPath) -> Result<vault_config::source::SecretData, String> {
    let client = client.clone();
    vault_config::vault::blocking::block_on(async move { client.fetch(&[path]).await })
        .unwrap()
        .remove(0)
        .map_err(|e| e.message().to_owned())
}

#[test]
fn kv2_versions_soft_delete_and_destroy() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("versions");
    let path = format!("versions/{p}");
    v.write(&format!("secret/{path}"), json!({ "k": "one" }));
    v.write(&format!("secret/{path}"), json!({ "k": "two" }));
    let client = root_client(&v.addr, &v);
    let data = read(&client, VaultPath::new("secret", &path)).unwrap();
    assert_eq!(
        (data.get("k"), data.version()),
        (Some(&json!("two")), Some(2))
    );

    let (status, _) = v.call("DELETE", &format!("secret/data/{path}"), None);
    assert_eq!(status, 204);
    let err = read(&client, VaultPath::new("secret", &path)).unwrap_err();
    assert!(
        err.contains(&format!(
            "the latest version (2) of secret/{path} was deleted"
        )),
        "{err}"
    );

    v.write(&format!("secret/{path}"), json!({ "k": "three" }));
    let (status, body) = v.call(
        "PUT",
        &format!("secret/destroy/{path}"),
        Some(&json!({ "versions": [3] })),
    );
    assert_eq!(status, 204, "{body}");
    let err = read(&client, VaultPath::new("secret", &path)).unwrap_err();
    assert!(err.contains("destroyed"), "{err}");
}

#[test]
fn kv1_reads_and_kv_version_mixups_get_hints() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("kv1");
    v.write(&format!("kv/mix/{p}"), json!({ "k": "v1-value" }));
    v.write(&format!("secret/mix/{p}"), json!({ "k": "v2-value" }));
    let client = root_client(&v.addr, &v);
    let data = read(&client, VaultPath::new("kv", format!("mix/{p}"))).unwrap();
    assert_eq!(data.get("k"), Some(&json!("v1-value")));

    // Told v1 for a v2 mount: the server's warning becomes the hint.
    let forced = VaultClient::builder()
        .address(&v.addr)
        .token(v.root.clone())
        .kv_version(KvVersion::V1)
        .build()
        .unwrap();
    let err = read(&forced, VaultPath::new("secret", format!("mix/{p}"))).unwrap_err();
    assert!(
        err.contains("mount `secret` is KV v2 but was read as KV v1"),
        "{err}"
    );
    // `data/` written into a path on a v1 mount: the reverse hint.
    let err = read(&client, VaultPath::new("kv", format!("data/mix/{p}"))).unwrap_err();
    assert!(
        err.contains("mount `kv` is KV v1, so `data/` is part of the path"),
        "{err}"
    );
}

/// A mount whose KV version is not known yet is detected before its paths are read: never a
/// KV v2-style guess, which on a v1 mount reads whatever lives at `<mount>/data/<path>` (a
/// decoy here) with a broad token, and is a denial in the audit log with a narrow one.
#[test]
fn reads_wait_for_the_kv_detection_and_never_guess() {
    let Some(v) = DevVault::get() else { return };
    let p = unique("speculate");
    v.write(&format!("secret/spec/{p}"), json!({ "k": "v2-value" }));
    v.write(&format!("kv/spec/{p}"), json!({ "k": "v1-value" }));
    // On the v1 mount, `data/spec/..` is an ordinary path: a decoy a guess would hit.
    v.write(
        &format!("kv/data/spec/{p}"),
        json!({ "data": { "k": "decoy" } }),
    );

    for (mount, value, wrong) in [
        ("secret", "v2-value", format!("secret/spec/{p}")),
        ("kv", "v1-value", format!("kv/data/spec/{p}")),
    ] {
        let proxy = FaultProxy::start(&v.addr);
        let client = root_client(&proxy.url(), &v);
        let data = read(&client, VaultPath::new(mount, format!("spec/{p}"))).unwrap();
        assert_eq!(data.get("k"), Some(&json!(value)));
        let paths: Vec<String> = proxy.log().iter().map(|s| s.request.path.clone()).collect();
        // One detection, then one read, at the right path only.
        assert_eq!(paths.len(), 2, "{paths:?}");
        assert!(
            paths[0].starts_with(&format!("sys/internal/ui/mounts/{mount}")),
            "{paths:?}"
        );
        assert!(!paths.contains(&wrong), "a guess was sent: {paths:?}");
        // Detected once, the version is known: the next read is one request.
        let before = proxy.log().len();
        read(&client, VaultPath::new(mount, format!("spec/{p}"))).unwrap();
        assert_eq!(proxy.log().len(), before + 1, "{:?}", proxy.log());
    }
}

#[test]
fn a_missing_secret_is_not_found_and_asked_once() {
    let Some(v) = DevVault::get() else { return };
    let proxy = FaultProxy::start(&v.addr);
    let reads = proxy.rule(Rule::on("secret/data/missing", Action::Forward));
    let client = root_client(&proxy.url(), &v);
    let err = read(&client, VaultPath::new("secret", unique("missing"))).unwrap_err();
    assert!(err.contains("no secret at secret/missing-"), "{err}");
    assert_eq!(proxy.served_by(reads), 1, "a 404 is an answer, not retried");
}

#[test]
fn path_segments_are_percent_encoded() {
    let Some(v) = DevVault::get() else { return };
    let path = format!("encoded/{} with space", unique("enc"));
    let (status, body) = v.call(
        "POST",
        &format!("secret/data/{}", path.replace(' ', "%20")),
        Some(&json!({ "data": { "k": "spaced" } })),
    );
    assert_eq!(status, 200, "{body}");
    let data = read(&root_client(&v.addr, &v), VaultPath::new("secret", &path)).unwrap();
    assert_eq!(data.get("k"), Some(&json!("spaced")));
}

/// A new secret id of the demo role, response-wrapped: the wrapping token.
fn wrapped_secret_id(v: &DevVault) -> String {
    let (status, body) = dev_vault::request_with_headers(
        &v.addr,
        &v.root,
        &[("X-Vault-Wrap-TTL", "120s")],
        "POST",
        "auth/approle/role/vault-config-demo/secret-id",
        Some(&json!({})),
    );
    assert_eq!(status, 200, "{body}");
    body["wrap_info"]["token"].as_str().unwrap().to_owned()
}

fn wrapped_client(addr: &str, v: &DevVault, wrapping: &str) -> VaultClient {
    VaultClient::builder()
        .address(addr)
        .auth(Auth::AppRole {
            mount: "approle".into(),
            role_id: SecretString::from(v.role_id.clone()),
            secret_id: SecretId::Wrapped {
                token: WrappingToken::Value(SecretString::from(wrapping.to_owned())),
                expected_path: None,
            },
        })
        .build()
        .unwrap()
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "VR_", vault(path = "vault-real/{profile}"))]
struct App {
    #[config(secret, vault(path = "db", key = "password"))]
    password: SecretString,
}

fn seed_app(v: &DevVault, test: &str) -> String {
    let p = unique(test);
    v.write(
        &format!("secret/vault-real/{p}/db"),
        json!({ "password": format!("pw-{p}") }),
    );
    p
}

fn load_with(client: &VaultClient, profile: &str) -> Result<App, vault_config::Error> {
    App::loader()
        .env_vars([("VR_PROFILE", profile)])
        .vault(client.clone())
        .load()
}

#[test]
fn a_wrapped_secret_id_is_checked_then_unwrapped_once() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "wrapped");
    let wrapping = wrapped_secret_id(&v);
    let proxy = FaultProxy::start(&v.addr);
    let unwraps = proxy.rule(Rule::on("sys/wrapping/unwrap", Action::Forward));
    let logins = proxy.rule(Rule::on("auth/approle/login", Action::Forward));
    let client = wrapped_client(&proxy.url(), &v, &wrapping);
    let app = load_with(&client, &profile).unwrap();
    assert_eq!(app.password.expose_secret(), &format!("pw-{profile}"));
    // A second login (the token revoked on the server) uses the kept secret id.
    let (status, _) = v.call(
        "POST",
        "auth/token/revoke",
        Some(&json!({ "token": proxy.issued_tokens()[0] })),
    );
    assert_eq!(status, 204);
    load_with(&client, &profile).unwrap();
    assert_eq!((proxy.served_by(unwraps), proxy.served_by(logins)), (1, 2));
    // The wrapping token is single-use: another client cannot unwrap it again.
    let again = wrapped_client(&v.addr, &v, &wrapping);
    let err = load_with(&again, &profile).unwrap_err().to_string();
    assert!(err.contains("wrapped secret id lookup failed"), "{err}");
}

#[test]
fn a_wrapping_token_from_another_endpoint_is_not_unwrapped() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "wrong-wrap");
    // Wrapped by `sys/wrapping/wrap`, not by an AppRole secret-id endpoint.
    let (status, body) = dev_vault::request_with_headers(
        &v.addr,
        &v.root,
        &[("X-Vault-Wrap-TTL", "120s")],
        "POST",
        "sys/wrapping/wrap",
        Some(&json!({ "secret_id": "planted-canary-id" })),
    );
    assert_eq!(status, 200, "{body}");
    let wrapping = body["wrap_info"]["token"].as_str().unwrap().to_owned();
    let err = load_with(&wrapped_client(&v.addr, &v, &wrapping), &profile)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("was created at `sys/wrapping/wrap`") && err.contains("refusing to unwrap"),
        "{err}"
    );
    assert!(!err.contains("planted-canary-id"), "{err}");
    // Not consumed: it can still be looked up.
    let (status, _) = v.call(
        "POST",
        "sys/wrapping/lookup",
        Some(&json!({ "token": wrapping })),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_revoked_login_token_gets_exactly_one_new_login() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "relogin");
    let proxy = FaultProxy::start(&v.addr);
    let logins = proxy.rule(Rule::on("auth/approle/login", Action::Forward));
    let client = VaultClient::builder()
        .address(proxy.url())
        .approle(v.role_id.clone(), v.secret_id.clone())
        .build()
        .unwrap();
    load_with(&client, &profile).unwrap();
    load_with(&client, &profile).unwrap();
    assert_eq!(proxy.served_by(logins), 1, "one login serves later loads");
    let (status, _) = v.call(
        "POST",
        "auth/token/revoke",
        Some(&json!({ "token": proxy.issued_tokens()[0] })),
    );
    assert_eq!(status, 204);
    // The server now answers 403 for the token: one new login, then the read again.
    load_with(&client, &profile).unwrap();
    assert_eq!(proxy.served_by(logins), 2);
}

/// Live settings of `App` for `profile` through `client`, refreshed every `every`.
fn live_app(profile: &str, client: VaultClient, every: Duration) -> Live<App> {
    Live::builder(
        App::loader()
            .env_vars([("VR_PROFILE", profile)])
            .vault(client),
    )
    .refresh_every(every)
    .start()
    .unwrap()
}
/// A role of this test's own whose tokens live 2 s and at most 5 s: live settings renew at
/// about two thirds of the TTL, see the renewal capped by the max TTL, log in again before
/// the token runs out, revoke each replaced token (it owns no lease), and the last one on
/// shutdown.
#[test]
fn live_settings_renew_log_in_again_at_the_max_ttl_and_revoke_on_shutdown() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "lifecycle");
    let (role_id, secret_id) = v.approle(
        "capped",
        json!({ "token_ttl": "2s", "token_max_ttl": "5s" }),
    );
    let proxy = FaultProxy::start(&v.addr);
    let logins = proxy.rule(Rule::on("auth/approle/login", Action::Forward));
    let renewals = proxy.rule(Rule::on("auth/token/renew-self", Action::Forward));
    let revocations = proxy.rule(Rule::on("auth/token/revoke-self", Action::Forward));
    let client = VaultClient::builder()
        .address(proxy.url())
        .approle(role_id, secret_id)
        .build()
        .unwrap();
    let live = live_app(&profile, client, Duration::from_millis(200));
    let started = Instant::now();
    // Past two max TTLs: only renewals and new logins keep the refreshes working.
    assert!(
        wait_until(Duration::from_secs(30), || proxy.served_by(logins) >= 3
            && started.elapsed() > Duration::from_secs(11)),
        "logins {}, renewals {}",
        proxy.served_by(logins),
        proxy.served_by(renewals)
    );
    let health = live.health();
    assert!(proxy.served_by(renewals) >= 2, "renewed before the max TTL");
    assert_eq!(
        (health.failed_refreshes, health.last_error.clone()),
        (0, None),
        "{}",
        serde_json::to_string(&health).unwrap()
    );
    live.shutdown();
    // A replaced token that owns no lease is revoked when the task next wakes (unless it
    // expired first), the last one at shutdown.
    let revoked = proxy.served_by(revocations);
    assert!(
        (1..=proxy.served_by(logins)).contains(&revoked),
        "{revoked} revocations"
    );
    // Every token the role got is dead now.
    for token in proxy.issued_tokens() {
        let (status, _) =
            dev_vault::request(&v.addr, &token, None, "GET", "auth/token/lookup-self", None);
        assert_eq!(status, 403);
    }
}

#[test]
fn a_non_expiring_static_token_is_never_renewed_nor_revoked() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "static");
    let proxy = FaultProxy::start(&v.addr);
    let lookups = proxy.rule(Rule::on("auth/token/lookup-self", Action::Forward));
    let touched = proxy.rule(Rule::on("auth/token/re", Action::Forward));
    let live = live_app(
        &profile,
        root_client(&proxy.url(), &v),
        Duration::from_millis(100),
    );
    assert!(wait_until(Duration::from_secs(10), || live
        .health()
        .refreshes
        >= 5));
    live.shutdown();
    assert_eq!(proxy.served_by(lookups), 1, "looked up once: TTL 0");
    assert_eq!(proxy.served_by(touched), 0, "no renew-self, no revoke-self");
}

#[test]
fn kv2_refreshes_reread_a_secret_only_when_its_version_moves() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "moves");
    let proxy = FaultProxy::start(&v.addr);
    let data_reads = proxy.rule(Rule::on("secret/data/", Action::Forward));
    let metadata_reads = proxy.rule(Rule::on("secret/metadata/", Action::Forward));
    let live = live_app(
        &profile,
        root_client(&proxy.url(), &v),
        Duration::from_millis(100),
    );
    assert!(wait_until(Duration::from_secs(10), || {
        proxy.served_by(metadata_reads) >= 5
    }));
    assert_eq!(proxy.served_by(data_reads), 1, "unchanged: metadata only");
    v.write(
        &format!("secret/vault-real/{profile}/db"),
        json!({ "password": "rotated" }),
    );
    assert!(wait_until(Duration::from_secs(10), || {
        live.current().password.expose_secret() == "rotated"
    }));
    assert_eq!(
        proxy.served_by(data_reads),
        2,
        "one re-read for the new version"
    );
    live.shutdown();
}

/// Absurd but valid durations (2^64-1 seconds) from the server and from env: the login lease,
/// a static token's TTL, a KV v1 lease and the refresh interval. Nothing panics, live settings
/// start, keep refreshing (or keep waiting), report their health and shut down.
#[test]
fn absurd_durations_from_the_server_or_env_do_not_panic() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "absurd");
    let proxy = FaultProxy::start(&v.addr);
    let forever = |field: &'static str| {
        Action::patched(move |body| {
            if body["auth"].is_object() {
                body["auth"]["lease_duration"] = json!(u64::MAX);
            }
            if body["data"].is_object() && field == "ttl" {
                body["data"]["ttl"] = json!(u64::MAX);
            }
            if field == "lease" {
                body["lease_duration"] = json!(u64::MAX);
            }
        })
    };
    proxy.rule(Rule::on("auth/approle/login", forever("auth")));
    proxy.rule(Rule::on("auth/token/lookup-self", forever("ttl")));
    proxy.rule(Rule::on("secret/data/", forever("lease")));
    let approle = VaultClient::builder()
        .address(proxy.url())
        .approle(v.role_id.clone(), v.secret_id.clone())
        .build()
        .unwrap();
    for client in [approle, root_client(&proxy.url(), &v)] {
        let live = live_app(&profile, client, Duration::from_millis(50));
        assert!(wait_until(Duration::from_secs(10), || live
            .health()
            .refreshes
            >= 3));
        let health = live.health();
        assert_eq!(health.last_error, None);
        assert!(
            health
                .token_ttl_remaining
                .is_none_or(|t| t > 3600 * 24 * 365)
        );
        live.shutdown();
    }
    // An interval of 2^64-1 seconds from env: started, healthy, nothing due.
    let live = Live::builder(App::loader().env_vars([
        ("VR_PROFILE", profile.as_str()),
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("VAULT_REFRESH_INTERVAL", "18446744073709551615"),
    ]))
    .start()
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(live.health().last_error, None);
    assert!(live.current().password.expose_secret().starts_with("pw-"));
    live.shutdown();
}

/// Live settings notice a soft delete (and a destroy) of the current KV v2 version through
/// the metadata they read on every refresh: the refresh fails naming the deletion, instead of
/// serving the deleted secret from the cache; the last good settings stay readable.
#[test]
fn live_settings_notice_a_soft_deleted_secret() {
    let Some(v) = DevVault::get() else { return };
    let profile = seed_app(&v, "softdel");
    let live = live_app(
        &profile,
        root_client(&v.addr, &v),
        Duration::from_millis(100),
    );
    let (status, _) = v.call(
        "DELETE",
        &format!("secret/data/vault-real/{profile}/db"),
        None,
    );
    assert_eq!(status, 204);
    assert!(
        wait_until(Duration::from_secs(10), || live
            .health()
            .last_error
            .is_some_and(|e| e.contains("was deleted"))),
        "{:?}",
        live.health()
    );
    assert_eq!(
        live.current().password.expose_secret(),
        &format!("pw-{profile}")
    );
    live.shutdown();
}
