//! KV detection and reads, with bodies from the API sheet.

mod common;

use common::*;
use serde_json::json;
use vault_config_core::SourceErrorKind;
use vault_config_vault::KvVersion;
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
async fn a_denied_detection_falls_back_to_kv1() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({ "errors": ["preflight capability check returned 403, please ensure client's policies grant access to path \"secret/\""] })))
        .mount(&server).await;
    Mock::given(path("/v1/secret/myapp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": "v1" }))))
        .mount(&server)
        .await;
    let answers = fetch(&builder(&server).build().unwrap(), &[("secret", "myapp")]).await;
    assert_eq!(answers[0].as_ref().unwrap().get("k"), Some(&json!("v1")));
}

#[tokio::test]
async fn a_deleted_kv2_version_is_reported_as_deleted() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/data/myapp"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "data": { "data": null, "metadata": { "created_time": "2018-03-22T02:24:06.945319214Z",
                      "deletion_time": "2018-03-22T02:36:43.986212308Z", "destroyed": false, "version": 3 } }
        })))
        .mount(&server).await;
    let client = builder(&server).kv_version(KvVersion::V2).build().unwrap();
    let err = fetch(&client, &[("secret", "myapp")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(err.kind(), SourceErrorKind::Deleted);
    assert_eq!(
        err.message(),
        "the latest version (3) of secret/myapp was deleted"
    );
}

#[tokio::test]
async fn a_kv1_read_on_a_kv2_mount_gets_a_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/myapp"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "data": null,
            "warnings": ["Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation."]
        })))
        .mount(&server).await;
    let client = builder(&server).kv_version(KvVersion::V1).build().unwrap();
    let err = fetch(&client, &[("secret", "myapp")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(
        err.kind(),
        SourceErrorKind::Malformed,
        "a mix-up must fail, not default"
    );
    assert!(
        err.message()
            .contains("mount `secret` is KV v2 but was read as KV v1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_data_path_on_a_kv1_mount_gets_the_reverse_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(mount_info("1")))
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/data/myapp"))
        .respond_with(ResponseTemplate::new(404).set_body_json(missing()))
        .mount(&server)
        .await;
    let err = fetch(
        &builder(&server).build().unwrap(),
        &[("secret", "data/myapp")],
    )
    .await
    .remove(0)
    .unwrap_err();
    assert!(
        err.message()
            .contains("mount `secret` is KV v1, so `data/` is part of the path"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_secret_is_not_found_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/nope"))
        .respond_with(ResponseTemplate::new(404).set_body_json(missing()))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).kv_version(KvVersion::V1).build().unwrap();
    let err = fetch(&client, &[("secret", "nope")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (SourceErrorKind::NotFound, "no secret at secret/nope")
    );
}

#[tokio::test]
async fn path_segments_are_percent_encoded() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/my%20app/a%3Fb"))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": 1 }))))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).kv_version(KvVersion::V1).build().unwrap();
    assert!(fetch(&client, &[("secret", "my app/a?b")]).await[0].is_ok());
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
