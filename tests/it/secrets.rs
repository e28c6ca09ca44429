//! Canary: a secret value never appears in any output this crate produces.

use crate::fixtures::common;

use common::{CANARY, Settings};
use vault_config::source::SourceError;
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, SecretBox, SecretString, VaultConfig};

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaks the canary:\n{text}");
    assert!(
        !text.contains("7f3a9c"),
        "{what} leaks part of the canary:\n{text}"
    );
}

/// Every way a secret's value reaches the loader, with every way the load can fail.
#[test]
fn no_output_of_a_load_contains_a_secret() {
    fn reject_all(_: &SecretString) -> Result<(), String> {
        Err(format!("bad key {CANARY}"))
    }
    fn no_canary(s: &Leaky2) -> Result<(), String> {
        Err(format!("struct saw {}", s.key.expose_secret()))
    }
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "L_", vault(path = "leak"))]
    #[allow(dead_code, reason = "only failed loads are inspected")]
    struct Leaky {
        #[config(secret)]
        key: SecretString,
        #[config(secret, validate = reject_all)]
        checked: SecretString,
        #[config(secret)]
        number: SecretBox<u64>,
        #[config(secret)]
        list: SecretBox<Vec<u8>>,
    }
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "L_", vault(path = "leak"), validate = no_canary)]
    struct Leaky2 {
        #[config(secret)]
        key: SecretString,
    }

    let vault = MockVault::new().secret(
        "secret/leak",
        [
            ("key", serde_json::json!(CANARY)),
            ("checked", serde_json::json!(CANARY)),
            ("number", serde_json::json!(CANARY)),
            ("list", serde_json::json!({ "k": CANARY })),
        ],
    );
    let from_vault = Leaky::loader()
        .env_vars::<_, String, String>([])
        .vault(vault.clone());
    let from_env = Leaky::loader().env_vars([
        ("L_KEY", CANARY),
        ("L_CHECKED", CANARY),
        ("L_NUMBER", CANARY),
        ("L_LIST", &format!("[1, \"{CANARY}\"]")),
        ("L_UNKNOWN", CANARY),
    ]);
    for (name, loader) in [("vault", from_vault), ("env", from_env)] {
        let err = loader.load().unwrap_err();
        assert!(err.problems().len() >= 3, "{name}: {err}");
        assert_clean(&format!("{name} Display"), &err.to_string());
        assert_clean(&format!("{name} Debug"), &format!("{err:?}"));
        assert_clean(&format!("{name} JSON"), &err.to_json().to_string());
    }
    for loader in [
        Leaky::loader()
            .env_vars::<_, String, String>([])
            .vault(vault.clone()),
        Leaky::loader()
            .env_vars([("L_KEY", CANARY)])
            .vault(vault.clone()),
    ] {
        let explained = loader.explain();
        assert_clean("explain Display", &explained.to_string());
        assert_clean("explain Debug", &format!("{explained:?}"));
        assert_clean("explain JSON", &explained.to_json().to_string());
    }

    let err = Leaky2::loader()
        .env_vars([("L_KEY", CANARY)])
        .load()
        .unwrap_err();
    assert_eq!(err.problems()[0].message, "`Leaky2`: struct saw [REDACTED]");
}

#[test]
fn a_loaded_struct_debug_redacts_secrets() {
    let vault = MockVault::new()
        .secret("secret/myapp/default/database", [("url", CANARY)])
        .secret(
            "secret/myapp/default/ibkr/vertical_spreads",
            [("IB_USER", CANARY)],
        )
        .secret("secret/myapp/default/redis", [("password", CANARY)]);
    let s = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(s.database_url.expose_secret(), CANARY);
    assert_clean("settings Debug", &format!("{s:?}"));
    assert_clean("mock Debug", &format!("{vault:?}"));
    assert_clean("schema Debug", &format!("{:?}", Settings::schema()));
}

#[test]
fn source_errors_and_env_snapshots_print_no_values() {
    let env = vault_config::EnvSnapshot::from_iter([("APP_DATABASE_URL", CANARY)]);
    assert_clean("env Debug", &format!("{env:?}"));
    let vault = MockVault::new().fail("secret/x", SourceError::malformed("bad json at secret/x"));
    let err = Settings::loader().env(env).vault(vault).load().unwrap_err();
    assert_clean("report", &err.to_string());
}

/// A secret inside a container is a secret: `Vec<SecretString>`, a map of them inside an
/// `Option`, a tuple; a type alias marked `#[config(secret)]` too. None of them is printed by
/// explain or a failed load's report, wherever the value came from.
#[test]
fn secrets_inside_containers_are_never_printed() {
    type ApiKey = SecretString;
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "C_", vault(path = "containers"))]
    #[allow(dead_code, reason = "only the outputs are inspected")]
    struct Containers {
        api_keys: Vec<SecretString>,
        webhook_secrets: Option<std::collections::HashMap<String, SecretString>>,
        pair: (String, SecretString),
        #[config(secret)]
        aliased: ApiKey,
        port: u16,
    }
    let env = [
        ("C_API_KEYS", format!("[\"{CANARY}-1\", \"{CANARY}-2\"]")),
        (
            "C_WEBHOOK_SECRETS",
            format!("{{\"github\": \"{CANARY}-3\"}}"),
        ),
        ("C_PAIR", format!("[\"user\", \"{CANARY}-4\"]")),
        ("C_ALIASED", format!("{CANARY}-5")),
        ("C_PORT", "not-a-port".to_owned()),
    ];
    let schema = Containers::schema();
    for field in ["api_keys", "webhook_secrets", "pair", "aliased"] {
        assert!(schema.field(field).unwrap().secret, "{field} is secret");
    }
    let explained = Containers::loader()
        .env_vars(env.clone())
        .vault(MockVault::new())
        .explain();
    assert_clean("explain", &explained.to_string());
    assert_clean("explain JSON", &explained.to_json().to_string());
    let err = Containers::loader()
        .env_vars(env)
        .vault(MockVault::new())
        .load()
        .unwrap_err();
    assert_clean("the report", &err.to_string());
    assert_clean("the report's Debug", &format!("{err:?}"));
    assert!(err.to_string().contains("C_PORT"), "{err}");
}
