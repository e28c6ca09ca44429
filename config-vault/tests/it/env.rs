//! The auth method and settings read from an env snapshot.

use vault_config_core::EnvSnapshot;
use vault_config_vault::{Error, VaultClient};

fn client(vars: &[(&str, &str)]) -> Result<VaultClient, Vec<Error>> {
    let mut all = vec![("VAULT_ADDR", "http://127.0.0.1:8200")];
    all.extend_from_slice(vars);
    VaultClient::from_env(&EnvSnapshot::from_iter(all.iter().copied()))
}

#[test]
fn the_auth_method_is_inferred_from_what_is_set() {
    assert!(
        format!("{:?}", client(&[("VAULT_TOKEN", "t")]).unwrap()).contains("Token([REDACTED])")
    );
    let debug = |vars: &[(&str, &str)]| format!("{:?}", client(vars).unwrap());
    assert!(
        debug(&[("VAULT_ROLE_ID", "r"), ("VAULT_SECRET_ID", "s")])
            .contains("AppRole { mount: \"approle\"")
    );
    assert!(debug(&[("VAULT_ROLE", "ai-trader")]).contains("Kubernetes { mount: \"kubernetes\", role: \"ai-trader\", jwt_path: \"/var/run/secrets/kubernetes.io/serviceaccount/token\""));
    assert!(
        debug(&[("VAULT_ROLE", "ci"), ("VAULT_JWT_PATH", "/jwt")])
            .contains("Jwt { mount: \"jwt\", role: Some(\"ci\")")
    );
    assert!(
        debug(&[
            ("VAULT_AUTH_METHOD", "approle"),
            ("VAULT_ROLE_ID", "r"),
            ("VAULT_AUTH_MOUNT", "/approle-prod/")
        ])
        .contains("mount: \"approle-prod\"")
    );
}

#[test]
fn a_method_without_its_variables_is_an_error_naming_them() {
    let errors = client(&[("VAULT_AUTH_METHOD", "approle")]).unwrap_err();
    assert_eq!(errors[0].to_string(), "AppRole auth needs VAULT_ROLE_ID");
    let errors = client(&[("VAULT_AUTH_METHOD", "jwt")]).unwrap_err();
    assert_eq!(errors[0].to_string(), "JWT auth needs VAULT_JWT_PATH");
    let errors = client(&[("VAULT_AUTH_METHOD", "ldap")]).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "VAULT_AUTH_METHOD `ldap` is not one of token, approle, userpass, cert, kubernetes, jwt, proxy"
    );
}

#[test]
fn bad_values_are_errors_not_guesses() {
    let errors = client(&[
        ("VAULT_SKIP_VERIFY", "yes please"),
        ("VAULT_CLIENT_TIMEOUT", "soon"),
        ("VAULT_MAX_RETRIES", "-1"),
        ("VAULT_CLIENT_KEY", "/k.pem"),
    ])
    .unwrap_err();
    let texts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "VAULT_SKIP_VERIFY must be true or false",
            "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY must be set together",
            "VAULT_CLIENT_TIMEOUT must be a duration such as 30 (seconds), 30s, 1m30s, 500ms or 2h",
            "VAULT_MAX_RETRIES must be a whole number",
        ]
    );
    let errors = VaultClient::from_env(&EnvSnapshot::from_iter([
        ("VAULT_ADDR", "vault:8200"),
        ("VAULT_TOKEN", "t"),
    ]))
    .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "the address must be an http:// or https:// URL"
    );
}

#[test]
fn credentials_in_the_address_are_not_shown() {
    let c = VaultClient::from_env(&EnvSnapshot::from_iter([
        ("VAULT_ADDR", "https://user:pa55@vault.internal:8200"),
        ("VAULT_TOKEN", "t"),
    ]))
    .unwrap();
    assert_eq!(c.address(), "https://vault.internal:8200");
    assert!(!format!("{c:?}").contains("pa55"));
}

#[test]
fn skip_verify_accepts_go_booleans_only() {
    for yes in ["1", "t", "true", "TRUE", "True"] {
        assert!(
            client(&[("VAULT_TOKEN", "t"), ("VAULT_SKIP_VERIFY", yes)]).is_ok(),
            "{yes}"
        );
    }
    assert!(
        client(&[("VAULT_TOKEN", "t"), ("VAULT_SKIP_VERIFY", "")]).is_ok(),
        "empty is ignored"
    );
    assert!(client(&[("VAULT_TOKEN", "t"), ("VAULT_SKIP_VERIFY", "yes")]).is_err());
}

#[test]
fn the_builder_debug_never_shows_credentials_in_the_address_nor_the_token() {
    let builder = vault_config_vault::VaultClient::builder()
        .address("https://ops:canary-pass-3d1@vault.internal:8200")
        .token("canary-token-8e2");
    let shown = format!("{builder:?}");
    assert!(shown.contains("https://vault.internal:8200"), "{shown}");
    for canary in ["canary-pass-3d1", "ops:", "canary-token-8e2"] {
        assert!(!shown.contains(canary), "{shown}");
    }
    let client = builder.build().unwrap();
    assert_eq!(client.address(), "https://vault.internal:8200");
    assert!(!format!("{client:?}").contains("canary-pass-3d1"));
}

#[test]
fn userpass_cert_and_proxy_are_read_from_env() {
    let debug = |vars: &[(&str, &str)]| format!("{:?}", client(vars).unwrap());
    let userpass = debug(&[("VAULT_USERNAME", "svc"), ("VAULT_PASSWORD", "canary-pw")]);
    assert!(
        userpass.contains(
            "Userpass { mount: \"userpass\", username: \"svc\", password: Value([REDACTED]) }"
        ),
        "{userpass}"
    );
    assert!(!userpass.contains("canary-pw"));
    assert!(
        debug(&[
            ("VAULT_USERNAME", "svc"),
            ("VAULT_PASSWORD_FILE", "/run/pw")
        ])
        .contains("password: File(\"/run/pw\")")
    );
    let errors = client(&[("VAULT_USERNAME", "svc")]).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "userpass auth needs VAULT_PASSWORD or VAULT_PASSWORD_FILE"
    );
    let errors = client(&[("VAULT_AUTH_METHOD", "cert")]).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "cert auth needs VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"
    );
    // Behind an agent or proxy with no credentials of its own: no token is sent.
    assert!(debug(&[("VAULT_AGENT_ADDR", "http://127.0.0.1:8100")]).contains("auth: Some(Proxy)"));
}
