//! KV detection and reads where a mock shows what a real server cannot: detection counted per
//! mount, and every read of a batch in flight at once (delayed answers). Versions, deletes,
//! hints and missing secrets on a real server: `tests/it/vault_real.rs`.

use crate::common;

use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn kv2_is_detected_once_per_mount_and_read_without_data_in_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/myapp/db"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(kv2_read(json!({ "url": "postgres://v2" }))),
        )
        .expect(2)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    for _ in 0..2 {
        let answers = fetch(&client, &[("secret", "myapp/db")]).await;
        assert_eq!(
            answers[0].as_ref().unwrap().get("url"),
            Some(&json!("postgres://v2"))
        );
    }
}

#[tokio::test]
async fn every_path_of_a_batch_is_read_concurrently_after_one_detection() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("2")))
        .expect(1)
        .mount(&server)
        .await;
    let delay = std::time::Duration::from_millis(400);
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(kv2_read(json!({ "k": "v" })))
                .set_delay(delay),
        )
        .expect(8)
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let paths: Vec<String> = (0..8).map(|i| format!("app/p{i}")).collect();
    let pairs: Vec<(&str, &str)> = paths.iter().map(|p| ("secret", p.as_str())).collect();
    let started = std::time::Instant::now();
    let answers = fetch(&client, &pairs).await;
    // Eight reads one after another would take 8 x 400 ms; in parallel they take about one.
    assert!(
        started.elapsed() < delay * 4,
        "took {:?}",
        started.elapsed()
    );
    assert!(answers.iter().all(Result::is_ok));
}

/// A folder's entries count against the client's concurrency like path reads: 12 entries,
/// each answered after 200 ms, with a limit of 3 cannot take less than 4 waves.
#[tokio::test]
async fn folder_entries_are_read_within_the_concurrency_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("2")))
        .mount(&server)
        .await;
    let names: Vec<String> = (0..12).map(|i| format!("e{i}")).collect();
    Mock::given(method("LIST"))
        .and(path("/v1/secret/metadata/fleet"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({ "data": { "keys": names } })),
        )
        .mount(&server)
        .await;
    let delay = std::time::Duration::from_millis(200);
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(kv2_read(json!({ "k": "v" })))
                .set_delay(delay),
        )
        .expect(12)
        .mount(&server)
        .await;
    let client = builder(&server).concurrency(3).build().unwrap();
    let started = std::time::Instant::now();
    let answers = vault_config_core::SecretSource::fetch(
        &client,
        &[vault_config_core::VaultPath::folder("secret", "fleet")],
    )
    .await;
    let folder = answers[0].as_ref().unwrap();
    assert_eq!(folder.len(), 12);
    assert!(
        started.elapsed() >= delay * 4,
        "12 entries at most 3 at a time took only {:?}",
        started.elapsed()
    );
}

/// Over plain HTTP (HTTP/1.1: one connection per request in flight) a load of 64 paths is
/// read 32 at a time, not with 64 connections at once.
#[tokio::test]
async fn plain_http_caps_the_requests_in_flight() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("2")))
        .mount(&server)
        .await;
    let delay = std::time::Duration::from_millis(300);
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(kv2_read(json!({ "k": "v" })))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let paths: Vec<String> = (0..64).map(|i| format!("app/p{i}")).collect();
    let pairs: Vec<(&str, &str)> = paths.iter().map(|p| ("secret", p.as_str())).collect();
    let started = std::time::Instant::now();
    let answers = fetch(&client, &pairs).await;
    assert!(answers.iter().all(Result::is_ok));
    assert!(
        started.elapsed() >= delay * 2,
        "64 reads at most 32 at a time took only {:?}",
        started.elapsed()
    );
}

/// Answers no healthy Vault gives, and what they mean: an HTML 404 from a misrouted proxy
/// says nothing about the secret (unavailable, not "missing" falling back to a default); an
/// empty 200 is malformed, not an absent secret.
#[tokio::test]
async fn an_html_404_is_unavailable_and_an_empty_200_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("2")))
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/data/html"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_raw("<html><body>Not Found</body></html>", "text/html"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/data/empty"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    let answers = fetch(&client, &[("secret", "html"), ("secret", "empty")]).await;
    let html = answers[0].as_ref().unwrap_err();
    assert_eq!(html.kind(), vault_config_core::SourceErrorKind::Unavailable);
    assert!(html.message().contains("not from Vault"), "{html}");
    let empty = answers[1].as_ref().unwrap_err();
    assert_eq!(empty.kind(), vault_config_core::SourceErrorKind::Malformed);
}

/// OpenBao's `X-Vault-Index`: base64 of the cluster id and its raft index.
fn index(value: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .encode(format!(r#"{{"cluster":"c1","value":"{value}"}}"#))
}

/// Once a server marks its answers with `X-Vault-Index`, every later request carries the newest
/// index seen with `forward-active-node` (a lagging standby's older index does not lower it),
/// except health checks, which must describe the node asked. On a real cluster:
/// `tests/reliability/ha_real.rs`.
#[tokio::test]
async fn the_newest_index_goes_with_every_later_request_but_health() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(mount_info("2"))
                .insert_header("X-Vault-Index", index(37).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/a"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(kv2_read(json!({ "k": "v" })))
                .insert_header("X-Vault-Index", index(12).as_str()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/secret/data/b"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv2_read(json!({ "k": "v" }))))
        .mount(&server)
        .await;
    Mock::given(path("/v1/sys/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "sealed": false })))
        .mount(&server)
        .await;
    let client = builder(&server).build().unwrap();
    assert!(!vault_config_core::SecretSource::monotonic_reads(&client));
    fetch(&client, &[("secret", "a")]).await;
    fetch(&client, &[("secret", "b")]).await;
    client.health().await;
    assert!(vault_config_core::SecretSource::monotonic_reads(&client));

    let requests = server.received_requests().await.unwrap();
    let sent = |p: &str| {
        let r = requests.iter().find(|r| r.url.path() == p).unwrap();
        let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        (h("x-vault-index"), h("x-vault-inconsistent"))
    };
    // The first request knows no index yet.
    assert_eq!(sent("/v1/sys/internal/ui/mounts/secret"), (None, None));
    let forward = Some("forward-active-node".to_owned());
    assert_eq!(sent("/v1/secret/data/b"), (Some(index(37)), forward));
    assert_eq!(sent("/v1/sys/health"), (None, None));
}
