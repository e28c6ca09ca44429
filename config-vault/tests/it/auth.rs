//! What a mock server shows best: the Kubernetes JWT re-read between two logins, a JWT login
//! at a custom mount, and the namespace header on every kind of request (never on `sys/health`).
//! Every login method and the wrapped secret id against a real server: `tests/it/auth_real.rs`
//! and `tests/it/vault_real.rs` in the `vault-config` package.

use crate::common;

use common::*;

use serde_json::json;
use vault_config_vault::{Auth, KvVersion, SecretId};
use wiremock::matchers::{body_partial_json, header, path};
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
