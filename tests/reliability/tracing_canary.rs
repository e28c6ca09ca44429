//! `tracing` at TRACE level, captured: spans name paths, never a token, a secret id or a value.

use crate::fixtures::trace_capture;

use serde_json::json;
use trace_capture::capture_trace;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy;
use dev_vault::DevVault;
use fault_proxy::FaultProxy;

const VALUE: &str = "canary-value-0d4b";

#[derive(Debug, VaultConfig)]
#[config(vault(path = "traced"))]
struct Traced {
    #[config(secret)]
    api_key: SecretString,
    #[config(secret)]
    missing_key: Option<SecretString>,
}

#[tokio::test(flavor = "current_thread")]
async fn trace_output_holds_paths_but_no_secrets() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(v) = DevVault::get() else { return };
    let path = format!("traced-{}", std::process::id());
    v.write(&format!("secret/{path}"), json!({ "api_key": VALUE }));
    // A recording proxy in front of the server, to learn the token the server issued.
    let proxy = FaultProxy::start(&v.addr);

    let (capture, _guard) = capture_trace();

    let env = [
        ("VAULT_ADDR", proxy.url()),
        ("VAULT_ROLE_ID", v.role_id.clone()),
        ("VAULT_SECRET_ID", v.secret_id.clone()),
        ("VAULT_BASE_PATH", path.clone()),
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
        &format!("secret/{path}"),
        "vault-config: resolved field",
    ] {
        assert!(log.contains(span), "expected `{span}` in the trace:\n{log}");
    }
    let tokens = proxy.issued_tokens();
    assert!(!tokens.is_empty(), "the server issued tokens");
    let canaries = [
        v.secret_id.as_str(),
        v.role_id.as_str(),
        VALUE,
        v.root.as_str(),
    ];
    for canary in canaries
        .into_iter()
        .chain(tokens.iter().map(String::as_str))
    {
        assert!(
            !log.contains(canary),
            "a secret leaked into the trace:\n{log}"
        );
    }
}
