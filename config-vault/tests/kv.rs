//! KV detection and reads where a mock shows what a real server cannot: detection counted per
//! mount, and every read of a batch in flight at once (delayed answers). Versions, deletes,
//! hints and missing secrets on a real server: `tests/vault_real.rs`.

mod common;

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
