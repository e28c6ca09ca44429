//! Logins, re-logins, wrapped secret ids and namespaces.

mod common;

use common::*;
use secrecy::SecretString;
use serde_json::json;
use vault_config_core::SourceErrorKind;
use vault_config_vault::{Auth, KvVersion, SecretId, VaultClient, WrappingToken};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_file(name: &str, content: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("vc-{name}-{}", std::process::id()));
    std::fs::write(&path, content).unwrap();
    path
}

async fn read_ok_for(server: &MockServer, secret: &str, token: &str) {
    Mock::given(path(format!("/v1/secret/{secret}")))
        .and(header("X-Vault-Token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(kv1_read(json!({ "k": token }))))
        .mount(server)
        .await;
}

fn approle(server: &MockServer, secret_id: SecretId) -> VaultClient {
    builder(server)
        .kv_version(KvVersion::V1)
        .auth(Auth::AppRole {
            mount: "approle".into(),
            role_id: SecretString::from("role-1"),
            secret_id,
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn one_login_serves_every_path_of_a_batch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/auth/approle/login"))
        .and(body_partial_json(
            json!({ "role_id": "role-1", "secret_id": "sid-1" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-1")))
        .expect(1)
        .mount(&server)
        .await;
    for i in 0..10 {
        read_ok_for(&server, &format!("p{i}"), "tok-1").await;
    }
    let client = approle(&server, SecretId::Value("sid-1".into()));
    let paths: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let pairs: Vec<(&str, &str)> = paths.iter().map(|p| ("secret", p.as_str())).collect();
    assert!(fetch(&client, &pairs).await.iter().all(Result::is_ok));
}

#[tokio::test]
async fn a_denied_login_token_triggers_exactly_one_relogin() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-old")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-new")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/app"))
        .and(header("X-Vault-Token", "tok-old"))
        .respond_with(ResponseTemplate::new(403).set_body_json(denied()))
        .mount(&server)
        .await;
    read_ok_for(&server, "app", "tok-new").await;
    let client = approle(&server, SecretId::Value("sid".into()));
    let answer = fetch(&client, &[("secret", "app")])
        .await
        .remove(0)
        .unwrap();
    assert_eq!(answer.get("k"), Some(&json!("tok-new")));
}

#[tokio::test]
async fn a_denied_static_token_is_reported_without_login() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/secret/app"))
        .respond_with(ResponseTemplate::new(403).set_body_json(denied()))
        .expect(1)
        .mount(&server)
        .await;
    let client = builder(&server).kv_version(KvVersion::V1).build().unwrap();
    let err = fetch(&client, &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert_eq!(err.kind(), SourceErrorKind::Denied);
    assert_eq!(
        err.message(),
        "permission denied on secret/app: permission denied"
    );
}

#[tokio::test]
async fn kubernetes_login_rereads_the_service_account_token_at_every_login() {
    let server = MockServer::start().await;
    let jwt = temp_file("k8s-jwt", "jwt-one\n");
    Mock::given(path("/v1/auth/kubernetes/login"))
        .and(body_partial_json(
            json!({ "role": "ai-trader", "jwt": "jwt-one" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-1")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/kubernetes/login"))
        .and(body_partial_json(
            json!({ "role": "ai-trader", "jwt": "jwt-two" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-2")))
        .expect(1)
        .mount(&server)
        .await;
    read_ok_for(&server, "a", "tok-1").await;
    Mock::given(path("/v1/secret/b"))
        .and(header("X-Vault-Token", "tok-1"))
        .respond_with(ResponseTemplate::new(403).set_body_json(denied()))
        .mount(&server)
        .await;
    read_ok_for(&server, "b", "tok-2").await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .auth(Auth::Kubernetes {
            mount: "kubernetes".into(),
            role: "ai-trader".into(),
            jwt_path: jwt.clone(),
        })
        .build()
        .unwrap();
    assert!(fetch(&client, &[("secret", "a")]).await[0].is_ok());
    // The projected token rotates; the next login must send the new one.
    std::fs::write(&jwt, "jwt-two").unwrap();
    let answer = fetch(&client, &[("secret", "b")]).await.remove(0).unwrap();
    assert_eq!(answer.get("k"), Some(&json!("tok-2")));
    std::fs::remove_file(jwt).unwrap();
}

#[tokio::test]
async fn jwt_login_uses_a_custom_mount_and_role() {
    let server = MockServer::start().await;
    let jwt = temp_file("jwt", "eyJ.jwt");
    Mock::given(path("/v1/auth/ci-jwt/login"))
        .and(body_partial_json(
            json!({ "role": "deployer", "jwt": "eyJ.jwt" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-jwt")))
        .expect(1)
        .mount(&server)
        .await;
    read_ok_for(&server, "app", "tok-jwt").await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .auth(Auth::Jwt {
            mount: "ci-jwt".into(),
            role: Some("deployer".into()),
            jwt_path: jwt.clone(),
        })
        .build()
        .unwrap();
    assert!(fetch(&client, &[("secret", "app")]).await[0].is_ok());
    std::fs::remove_file(jwt).unwrap();
}

#[tokio::test]
async fn a_wrapped_secret_id_is_checked_then_unwrapped_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/v1/sys/wrapping/lookup"))
        .and(body_partial_json(json!({ "token": "wrap-tok" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": { "creation_path": "auth/approle/role/my-role/secret-id", "creation_time": "2024-01-01T00:00:00Z", "creation_ttl": 300 }
        })))
        .expect(1).mount(&server).await;
    Mock::given(method("POST")).and(path("/v1/sys/wrapping/unwrap")).and(header("X-Vault-Token", "wrap-tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "request_id": "r", "lease_id": "", "lease_duration": 0, "renewable": false,
            "data": { "secret_id": "841771dc", "secret_id_accessor": "84896a0c", "secret_id_ttl": 600, "secret_id_num_uses": 50 },
            "warnings": null
        })))
        .expect(1).mount(&server).await;
    Mock::given(path("/v1/auth/approle/login"))
        .and(body_partial_json(
            json!({ "role_id": "role-1", "secret_id": "841771dc" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-w1")))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/approle/login"))
        .and(body_partial_json(
            json!({ "role_id": "role-1", "secret_id": "841771dc" }),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-w2")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/app"))
        .and(header("X-Vault-Token", "tok-w1"))
        .respond_with(ResponseTemplate::new(403).set_body_json(denied()))
        .mount(&server)
        .await;
    read_ok_for(&server, "app", "tok-w2").await;
    let wrapped = SecretId::Wrapped {
        token: WrappingToken::Value("wrap-tok".into()),
        expected_path: None,
    };
    let client = approle(&server, wrapped);
    // The first login unwraps; the re-login after the 403 reuses the kept secret id.
    assert!(fetch(&client, &[("secret", "app")]).await[0].is_ok());
    let unwrap = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path() == "/v1/sys/wrapping/unwrap")
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&unwrap.body).contains("wrap-tok"),
        "the wrapping token goes in one place only"
    );
}

#[tokio::test]
async fn a_wrapped_secret_id_from_an_unexpected_path_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/sys/wrapping/lookup"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "data": { "creation_path": "sys/wrapping/wrap", "creation_ttl": 300 } }),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/sys/wrapping/unwrap"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let wrapped = SecretId::Wrapped {
        token: WrappingToken::Value("wrap-tok".into()),
        expected_path: None,
    };
    let err = fetch(&approle(&server, wrapped), &[("secret", "app")])
        .await
        .remove(0)
        .unwrap_err();
    assert!(
        err.message().contains("created at `sys/wrapping/wrap`")
            && err.message().contains("refusing to unwrap"),
        "{err}"
    );
    assert!(!err.message().contains("wrap-tok"));
}

#[tokio::test]
async fn namespaces_go_to_secrets_and_auth_separately_and_never_to_health() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(login("tok-ns")))
        .mount(&server)
        .await;
    read_ok_for(&server, "app", "tok-ns").await;
    Mock::given(path("/v1/sys/health"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "initialized": true, "sealed": false, "standby": false, "version": "1.16.0" }),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/auth/token/lookup-self"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": { "ttl": 1200 } })))
        .mount(&server)
        .await;
    let client = builder(&server)
        .kv_version(KvVersion::V1)
        .namespace("team-a/")
        .auth_namespace("admin/")
        .auth(Auth::AppRole {
            mount: "approle".into(),
            role_id: "r".into(),
            secret_id: SecretId::Value("s".into()),
        })
        .build()
        .unwrap();
    assert!(fetch(&client, &[("secret", "app")]).await[0].is_ok());
    assert!(client.health().await.vault_connected);
    let ns_of = |p: &str, reqs: &[wiremock::Request]| -> Option<String> {
        let r = reqs.iter().find(|r| r.url.path() == p).unwrap();
        r.headers
            .get("X-Vault-Namespace")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        ns_of("/v1/auth/approle/login", &reqs).as_deref(),
        Some("admin/")
    );
    assert_eq!(ns_of("/v1/secret/app", &reqs).as_deref(), Some("team-a/"));
    assert_eq!(ns_of("/v1/sys/health", &reqs), None);
    assert!(
        reqs.iter()
            .all(|r| r.headers.get("X-Vault-Request").is_some())
    );
}

#[tokio::test]
async fn a_failed_login_names_the_method_not_the_credentials() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({ "errors": ["invalid role or secret ID"] })),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = approle(&server, SecretId::Value("sid-canary".into()));
    let err = fetch(&client, &[("secret", "a"), ("secret", "b")])
        .await
        .remove(1)
        .unwrap_err();
    assert_eq!(
        err.message(),
        "login with approle failed: vault answered 400 on auth/approle/login: invalid role or secret ID"
    );
    assert_eq!(err.kind(), SourceErrorKind::Unavailable);
}
