//! Refresh scheduling of live settings against wiremock, where exact timing or an answer no
//! healthy server gives is the point: renewal at about 2/3 of a 3 s TTL, a refused renewal,
//! a KV v1 lease of 1 s as a refresh hint. The token's life on a real server (renewal, the max
//! TTL, revocation, a static token) is in `tests/it/vault_real.rs`.

use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::live::Live;
use vault_config::vault::{Auth, KvVersion, RetryPolicy, VaultClient};
use vault_config::{ExposeSecret, SecretString, VaultConfig};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[derive(Debug, VaultConfig)]
#[config(vault(path = "app"))]
struct App {
    #[config(secret)]
    key: SecretString,
}

fn login(token: &str, ttl: u64) -> serde_json::Value {
    json!({ "auth": { "client_token": token, "lease_duration": ttl, "renewable": true, "accessor": "a" } })
}

async fn kv1(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": { "key": "v" }, "lease_duration": 0 })),
        )
        .mount(server)
        .await;
}

fn builder(server: &MockServer) -> vault_config::vault::VaultClientBuilder {
    VaultClient::builder()
        .address(server.uri())
        .kv_version(KvVersion::V1)
        .retry(RetryPolicy::none())
}

fn approle(server: &MockServer) -> VaultClient {
    builder(server)
        .auth(Auth::AppRole {
            mount: "approle".into(),
            role_id: "r".into(),
            secret_id: vault_config::vault::SecretId::Value("s".into()),
        })
        .build()
        .unwrap()
}

async fn live(client: VaultClient, every: Duration) -> Live<App> {
    Live::builder(
        App::loader()
            .env_vars::<_, String, String>([])
            .vault(client),
    )
    .refresh_every(every)
    .start_async()
    .await
    .unwrap()
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    let all = server.received_requests().await.unwrap_or_default();
    all.into_iter().filter(|r| r.url.path() == p).collect()
}

/// Polls until `n` requests reached `p`; fails after `within`.
async fn wait_for(server: &MockServer, p: &str, n: usize, within: Duration) -> Vec<Request> {
    let deadline = Instant::now() + within;
    loop {
        let seen = requests_to(server, p).await;
        if seen.len() >= n {
            return seen;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} requests to {p}",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_login_token_is_renewed_at_about_two_thirds_of_its_ttl() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-1", 3)))
        .mount(&server)
        .await;
    // Answered 300 ms after it is recorded, as a busy machine may: see the ttl below.
    Mock::given(path("/v1/auth/token/renew-self"))
        .and(header("X-Vault-Token", "tok-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(login("tok-1", 3))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    kv1(&server).await;
    let started = Instant::now();
    let live = live(approle(&server), Duration::from_secs(3600)).await;
    wait_for(
        &server,
        "/v1/auth/token/renew-self",
        1,
        Duration::from_secs(5),
    )
    .await;
    let waited = started.elapsed();
    // 2/3 of 3 s plus a third of a 10-20 % grace: about 2.1-2.2 s after login.
    assert!(
        waited >= Duration::from_millis(1900),
        "renewed too early: {waited:?}"
    );
    assert_eq!(
        requests_to(&server, "/v1/auth/approle/login").await.len(),
        1,
        "no re-login while renewal works"
    );
    // The server records the renewal before the client has read its answer: health shows
    // the renewed token a moment later (the old one has under a second left by now).
    let deadline = Instant::now() + Duration::from_secs(2);
    let ttl = loop {
        let ttl = live.health().token_ttl_remaining.unwrap();
        if ttl >= 1 || Instant::now() >= deadline {
            break ttl;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!((1..=3).contains(&ttl), "ttl {ttl}");
    live.shutdown_async().await;
}

#[tokio::test]
async fn refused_renewal_leads_to_a_new_login() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok", 2)))
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/token/renew-self"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({ "errors": ["permission denied"] })),
        )
        .mount(&server)
        .await;
    kv1(&server).await;
    let live = live(approle(&server), Duration::from_secs(3600)).await;
    wait_for(&server, "/v1/auth/approle/login", 2, Duration::from_secs(5)).await;
    live.shutdown_async().await;
}

#[tokio::test]
async fn a_kv1_lease_is_a_refresh_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": { "key": "v" }, "lease_duration": 1 })),
        )
        .mount(&server)
        .await;
    let live = live(
        builder(&server).token("t").build().unwrap(),
        Duration::from_secs(3600),
    )
    .await;
    // A 1 s lease: re-read at about 0.85 s although the interval is an hour.
    wait_for(&server, "/v1/secret/app", 3, Duration::from_secs(5)).await;
    assert_eq!(live.current().key.expose_secret(), "v");
    live.shutdown_async().await;
}
