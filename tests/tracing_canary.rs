//! `tracing` at TRACE level, captured: spans name paths, never a token, a secret id or a value.

mod trace_capture;

use serde_json::json;
use trace_capture::capture_trace;
use vault_config::{ExposeSecret, SecretString, VaultConfig};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "hvs.canary-token-91c2";
const SECRET_ID: &str = "canary-secret-id-55e1";
const VALUE: &str = "canary-value-0d4b";

#[derive(Debug, VaultConfig)]
#[config(vault_path = "traced")]
struct Traced {
    #[config(secret)]
    api_key: SecretString,
    #[config(secret)]
    missing_key: Option<SecretString>,
}

#[tokio::test(flavor = "current_thread")]
async fn trace_output_holds_paths_but_no_secrets() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/auth/approle/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "auth": { "client_token": TOKEN, "lease_duration": 60, "renewable": true } }),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v1/sys/internal/ui/mounts/secret"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "data": { "type": "kv", "options": { "version": "2" } } })),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/secret/data/traced"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "data": { "data": { "api_key": VALUE }, "metadata": { "version": 1 } } }),
        ))
        .mount(&server)
        .await;

    let (capture, _guard) = capture_trace();

    let env = [
        ("VAULT_ADDR", server.uri()),
        ("VAULT_ROLE_ID", "role".to_owned()),
        ("VAULT_SECRET_ID", SECRET_ID.to_owned()),
    ];
    let traced = Traced::loader()
        .env_vars(env.clone())
        .load_async()
        .await
        .unwrap();
    assert_eq!(traced.api_key.expose_secret(), VALUE);
    assert!(traced.missing_key.is_none());
    let _ = Traced::loader().env_vars(env).explain_async().await;

    let log = capture.text();
    for span in [
        "vault.fetch",
        "vault.login",
        "vault.read",
        "secret/traced",
        "vault-config: resolved field",
    ] {
        assert!(log.contains(span), "expected `{span}` in the trace:\n{log}");
    }
    for canary in [TOKEN, SECRET_ID, VALUE] {
        assert!(
            !log.contains(canary),
            "`{canary}` leaked into the trace:\n{log}"
        );
    }
}
