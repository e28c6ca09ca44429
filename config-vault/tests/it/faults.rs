//! Retries, timeouts, limits, redirects and health states: each fault ends in a retry that
//! succeeds or a precise error, within the configured time, with no secret in the message.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use vault_config_core::SourceErrorKind;
use vault_config_vault::{KvVersion, RetryPolicy, VaultClient};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn v1(server: &MockServer) -> VaultClient {
    builder(server).kv_version(KvVersion::V1).build().unwrap()
}

#[tokio::test]
async fn transient_statuses_are_retried_until_success() {
    for status in [500, 502, 503, 412, 429] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/secret/app"))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(json!({ "errors": ["busy"] })),
            )
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(path("/v1/secret/app"))
            .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": "v" }))))
            .expect(1)
            .mount(&server)
            .await;
        assert!(
            fetch(&v1(&server), &[("secret", "app")]).await[0].is_ok(),
            "status {status}"
        );
    }
}

#[tokio::test]
async fn a_persistent_5xx_gives_up_after_the_retry_budget() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({ "errors": ["internal error"] })),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = fetch(&v1(&server), &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(err.kind(), SourceErrorKind::Unavailable);
    assert_eq!(
        err.message(),
        "vault answered 500 on secret/app: internal error"
    );
}

#[tokio::test]
async fn fatal_statuses_are_not_retried() {
    for (status, kind) in [
        (501, SourceErrorKind::Unavailable),
        (400, SourceErrorKind::Unavailable),
        (403, SourceErrorKind::Denied),
        (404, SourceErrorKind::NotFound),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/secret/app"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({ "errors": [] })))
            .expect(1)
            .mount(&server)
            .await;
        let err = fetch(&v1(&server), &[("secret", "app")])
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.kind(), kind, "status {status}");
    }
}

#[tokio::test]
async fn sealed_and_uninitialized_are_named() {
    for (status, text) in [(503, "vault is sealed"), (501, "vault is not initialized")] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/secret/app"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_json(json!({ "errors": ["Vault is sealed"] })),
            )
            .mount(&server)
            .await;
        let client = builder(&server)
            .kv_version(KvVersion::V1)
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        let err = fetch(&client, &[("secret", "app")])
            .await
            .remove(0)
            .unwrap_err();
        assert!(err.message().starts_with(text), "{err}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": "v" }))))
        .mount(&server)
        .await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(10),
            Duration::from_secs(2),
        ))
        .build()
        .unwrap();
    let started = Instant::now();
    assert!(fetch(&client, &[("secret", "app")]).await[0].is_ok());
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stalled_server_times_out_within_the_limit() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .timeout(Duration::from_millis(300))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = fetch(&client, &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(err.kind(), SourceErrorKind::Unavailable);
    assert!(
        err.message()
            .starts_with("vault did not answer secret/app within"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = VaultClient::builder()
        .address(format!("http://127.0.0.1:{port}"))
        .token("t")
        .kv_version(KvVersion::V1)
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(5),
            Duration::from_millis(5),
        ))
        .build()
        .unwrap();
    let err = fetch(&client, &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert!(
        err.message()
            .starts_with(&format!("cannot reach vault at http://127.0.0.1:{port}")),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_and_wrong_type_bodies_are_errors_without_the_body() {
    let canary = "canary-body-7f3a";
    for (body, mime) in [
        (
            format!("{{\"data\": {{\"k\": \"{canary}\""),
            "application/json",
        ),
        (format!("<html>{canary}</html>"), "text/html"),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/secret/app"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, mime))
            .mount(&server)
            .await;
        let err = fetch(&v1(&server), &[("secret", "app")])
            .await
            .remove(0)
            .unwrap_err();
        assert_eq!(err.kind(), SourceErrorKind::Malformed);
        assert!(
            err.message().contains("invalid JSON") && !err.message().contains(canary),
            "{err}"
        );
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": "x".repeat(8192) }))),
        )
        .mount(&server)
        .await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .max_response_bytes(4096)
        .build()
        .unwrap();
    let err = fetch(&client, &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(
        err.message(),
        "vault answered secret/app with something unreadable: body larger than the 4096-byte limit"
    );
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_with_the_token() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/v1/secret/app", elsewhere.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = fetch(&v1(&server), &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert!(err.message().contains("redirect not followed"), "{err}");
}

#[tokio::test]
async fn one_redirect_to_the_same_host_is_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/v1/secret/moved", server.uri())),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/moved"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": "v" }))))
        .mount(&server)
        .await;
    assert!(fetch(&v1(&server), &[("secret", "app")]).await[0].is_ok());
}

#[tokio::test]
async fn health_states() {
    let cases = [
        (
            200,
            json!({ "initialized": true, "sealed": false, "standby": false }),
            true,
        ),
        (
            429,
            json!({ "initialized": true, "sealed": false, "standby": true }),
            true,
        ),
        (
            503,
            json!({ "initialized": true, "sealed": true, "standby": true }),
            false,
        ),
        (
            501,
            json!({ "initialized": false, "sealed": true, "standby": true }),
            false,
        ),
    ];
    for (status, body, connected) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/v1/sys/health"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/v1/auth/token/lookup-self"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": { "ttl": 0 } })))
            .mount(&server)
            .await;
        let health = v1(&server).health().await;
        assert_eq!(
            health.vault_connected, connected,
            "status {status}: {health:?}"
        );
        assert_eq!(
            health.error.is_some(),
            !connected,
            "status {status}: {health:?}"
        );
    }
}
