//! Layer order, naming, profiles, nesting and value parsing.

use crate::fixtures::common;

use common::{RedisSettings, Settings, full_vault};
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, VaultConfig};

#[test]
fn env_overrides_vault_overrides_default() {
    let vault = full_vault().secret(
        "secret/myapp/default/database",
        [("url", "postgres://vault/app")],
    );
    let s = Settings::loader()
        .env_vars([
            ("APP_PORT", "9000"),
            ("APP_DATABASE_URL", "postgres://env/app"),
        ])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(s.port, 9000, "env beats default");
    assert_eq!(
        s.database_url.expose_secret(),
        "postgres://env/app",
        "env beats vault"
    );
    assert_eq!(
        s.ib_user.expose_secret(),
        "vault-user",
        "vault when env is unset"
    );
    assert_eq!(s.log_level, "info", "default when no layer has it");
    assert_eq!(s.redis.url, "redis://localhost:6379");
    assert_eq!(
        s.redis.password.as_ref().unwrap().expose_secret(),
        "vault-redis-pw"
    );
    assert_eq!(s.timeout_ms, None);
}

#[test]
fn vault_beats_default_for_non_secret_fields_with_a_location() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "svc"))]
    struct S {
        #[config(default = 1, vault(key = "workers"))]
        workers: u32,
        #[config(default = 5)]
        retries: u32,
    }
    let vault = MockVault::new().secret(
        "secret/svc",
        [
            ("workers", serde_json::json!(8)),
            ("retries", serde_json::json!(9)),
        ],
    );
    let s = S::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(s.workers, 8);
    assert_eq!(
        s.retries, 5,
        "a non-secret field without vault(...) is not read from Vault"
    );
}

#[test]
fn aliases_are_tried_in_order_when_the_key_is_absent() {
    let vault = full_vault().secret(
        "secret/myapp/default/ibkr/vertical_spreads",
        [("username", "legacy-user")],
    );
    let s = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(s.ib_user.expose_secret(), "legacy-user");

    let both = full_vault().secret(
        "secret/myapp/default/ibkr/vertical_spreads",
        [("IB_USER", "new-user"), ("username", "legacy-user")],
    );
    let s = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(both)
        .load()
        .unwrap();
    assert_eq!(
        s.ib_user.expose_secret(),
        "new-user",
        "the key wins over its aliases"
    );
}

#[test]
fn profile_comes_from_the_loader_then_the_prefixed_env_var() {
    let vault = MockVault::new()
        .secret(
            "secret/myapp/production/database",
            [("url", "postgres://prod")],
        )
        .secret(
            "secret/myapp/staging/database",
            [("url", "postgres://staging")],
        )
        .secret(
            "secret/myapp/production/ibkr/vertical_spreads",
            [("IB_USER", "u")],
        )
        .secret(
            "secret/myapp/staging/ibkr/vertical_spreads",
            [("IB_USER", "u")],
        );
    let from_env = Settings::loader()
        .env_vars([("APP_PROFILE", "staging")])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(from_env.database_url.expose_secret(), "postgres://staging");
    let from_loader = Settings::loader()
        .env_vars([("APP_PROFILE", "staging")])
        .profile("production")
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(from_loader.database_url.expose_secret(), "postgres://prod");
    assert!(vault.reads_of("secret/myapp/default/database") == 0);
}

#[test]
fn env_names_follow_prefix_nesting_and_exact_names() {
    assert_eq!(
        Settings::env_names(),
        [
            "APP_PORT",
            "APP_DATABASE_URL",
            "APP_IB_USER",
            "LOG_LEVEL",
            "APP_REDIS__URL",
            "APP_REDIS__PASSWORD",
            "APP_TIMEOUT_MS",
            "APP_PROFILE",
            "APP_SECRETS_DIR",
            "APP_TRANSIT_KEY",
        ]
    );
    let s = Settings::loader()
        .env_vars([
            ("APP_REDIS__URL", "redis://env:6379"),
            ("LOG_LEVEL", "debug"),
            ("APP_TIMEOUT_MS", "2500"),
            ("APP_DATABASE_URL", "x"),
            ("APP_IB_USER", "y"),
        ])
        .load()
        .unwrap();
    assert_eq!(s.redis.url, "redis://env:6379");
    assert_eq!(s.log_level, "debug");
    assert_eq!(s.timeout_ms, Some(2500));
}

#[test]
fn schema_describes_every_field() {
    let schema = Settings::schema();
    assert_eq!(schema.type_name, "Settings");
    let port = schema.field("port").unwrap();
    assert_eq!(port.type_name, "u16");
    assert_eq!(port.default, Some("8080"));
    assert_eq!(port.doc, "Port the HTTP server binds.");
    assert!(port.vault.is_none() && !port.secret && !port.required && port.validated);

    let db = schema.field("database_url").unwrap();
    assert!(db.secret && db.required && db.default.is_none());
    assert_eq!(
        db.vault.as_ref().unwrap().display("default"),
        "secret/myapp/default/database#url"
    );

    let user = schema.field("ib_user").unwrap();
    assert_eq!(user.vault.as_ref().unwrap().aliases, ["username"]);

    let pw = schema.field("redis.password").unwrap();
    assert_eq!(pw.type_name, "Option<SecretString>");
    assert_eq!(pw.env, "APP_REDIS__PASSWORD");
    assert!(pw.secret && !pw.required);
    assert_eq!(
        pw.vault.as_ref().unwrap().display("x"),
        "secret/myapp/x/redis#password"
    );

    let json = serde_json::to_value(schema).unwrap();
    assert_eq!(json["fields"][4]["path"], "redis.url");
    // A nested struct loaded on its own uses its own path.
    assert_eq!(
        RedisSettings::schema()
            .field("password")
            .unwrap()
            .vault
            .as_ref()
            .unwrap()
            .path,
        "redis"
    );
}

#[test]
fn values_parse_into_their_types() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Safe,
    }
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "T_")]
    struct Types {
        flag: bool,
        ratio: f64,
        hosts: Vec<String>,
        ports: Vec<u16>,
        limits: std::collections::BTreeMap<String, u32>,
        mode: Mode,
        #[config(default = "safe")]
        fallback_mode: Mode,
        #[config(default)]
        tags: Vec<String>,
        #[config(allow_empty)]
        banner: String,
        #[config(skip)]
        runtime_only: u8,
    }
    let t = Types::loader()
        .env_vars([
            ("T_FLAG", "true"),
            ("T_RATIO", "0.25"),
            ("T_HOSTS", "a.example, b.example"),
            ("T_PORTS", "[80, 443]"),
            ("T_LIMITS", r#"{"rps": 100}"#),
            ("T_MODE", "fast"),
            ("T_BANNER", ""),
        ])
        .load()
        .unwrap();
    assert!(t.flag);
    assert_eq!(t.ratio, 0.25);
    assert_eq!(t.hosts, ["a.example", "b.example"]);
    assert_eq!(t.ports, [80, 443]);
    assert_eq!(t.limits["rps"], 100);
    assert_eq!(t.mode, Mode::Fast);
    assert_eq!(t.fallback_mode, Mode::Safe);
    assert!(t.tags.is_empty());
    assert_eq!(t.banner, "", "allow_empty keeps an empty value");
    assert_eq!(t.runtime_only, 0);
}

#[test]
fn an_empty_env_value_counts_as_unset() {
    let s = Settings::loader()
        .env_vars([
            ("APP_PORT", ""),
            ("APP_TIMEOUT_MS", ""),
            ("APP_DATABASE_URL", "x"),
            ("APP_IB_USER", "y"),
        ])
        .load()
        .unwrap();
    assert_eq!(s.port, 8080);
    assert_eq!(s.timeout_ms, None);
}

#[test]
fn a_nested_struct_may_set_its_own_mount() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(mount = "kv", path = "shared"))]
    struct Inner {
        #[config(secret)]
        token: vault_config::SecretString,
    }
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "svc/{profile}"))]
    struct Outer {
        #[config(nested)]
        inner: Inner,
    }
    let vault = MockVault::new().secret("kv/svc/default/shared", [("token", "t")]);
    let o = Outer::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(o.inner.token.expose_secret(), "t");
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "DUR_", vault(path = "dur"))]
struct Timeouts {
    #[config(default = "30s")]
    request: std::time::Duration,
    idle: std::time::Duration,
    #[config(vault(key = "shutdown"))]
    shutdown: std::time::Duration,
    #[config(vault(key = "drain"))]
    drain: std::time::Duration,
    retry: Option<std::time::Duration>,
}

#[test]
fn durations_read_the_human_grammar_from_every_layer() {
    use std::time::Duration;
    let vault = MockVault::new().secret(
        "secret/dur",
        [
            ("shutdown", serde_json::json!("1m30s")),
            ("drain", serde_json::json!(45)),
        ],
    );
    let t = Timeouts::loader()
        .env_vars([("DUR_IDLE", "2h 15m"), ("DUR_RETRY", "500ms")])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(t.request, Duration::from_secs(30), "default = \"30s\"");
    assert_eq!(t.idle, Duration::from_secs(8100), "env `2h 15m`");
    assert_eq!(t.shutdown, Duration::from_secs(90), "Vault `1m30s`");
    assert_eq!(t.drain, Duration::from_secs(45), "Vault number: seconds");
    assert_eq!(t.retry, Some(Duration::from_millis(500)));

    let err = Timeouts::loader()
        .env_vars([
            ("DUR_IDLE", "soon"),
            ("DUR_REQUEST", "18446744073709551615"),
        ])
        .vault(MockVault::new().secret(
            "secret/dur",
            [
                ("shutdown", serde_json::json!("1s")),
                ("drain", serde_json::json!("1s")),
            ],
        ))
        .load()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("DUR_IDLE") && text.contains("30s, 1m30s, 500ms or 2h"),
        "{text}"
    );
    assert_eq!(
        err.problems().len(),
        1,
        "2^64-1 seconds is a valid duration: {text}"
    );
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "gw", keys = "SCREAMING_SNAKE_CASE"))]
struct Gateway {
    #[config(secret)]
    openai_api_key: vault_config::SecretString,
    #[config(secret, vault(key = "session"))]
    session_secret: vault_config::SecretString,
    #[config(nested)]
    db: GatewayDb,
}

#[derive(Debug, VaultConfig)]
struct GatewayDb {
    #[config(secret)]
    password: vault_config::SecretString,
}

#[test]
fn vault_keys_renames_every_key_the_struct_does_not_name() {
    let schema = Gateway::schema();
    let keys: Vec<_> = schema
        .fields
        .iter()
        .map(|f| f.vault.as_ref().unwrap().key.as_str())
        .collect();
    assert_eq!(keys, ["OPENAI_API_KEY", "session", "PASSWORD"]);
    let vault = MockVault::new().secret(
        "secret/gw",
        [
            ("OPENAI_API_KEY", "sk"),
            ("session", "s"),
            ("PASSWORD", "p"),
        ],
    );
    let g = Gateway::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(g.openai_api_key.expose_secret(), "sk");
    assert_eq!(g.session_secret.expose_secret(), "s");
    assert_eq!(g.db.password.expose_secret(), "p");
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "VF_", vault(path = "vf"), order = ["vault", "env", "default"])]
struct VaultFirst {
    #[config(secret)]
    api_key: vault_config::SecretString,
    #[config(default = 8080, vault(key = "port"))]
    port: u16,
}

/// `order = ["vault", "env", "default"]`: Vault wins over env; env serves where Vault has no
/// value, and where Vault is unreachable only with `VAULT_FALLBACK=env`.
#[test]
fn vault_first_order_keeps_env_as_the_backup() {
    use vault_config::Fallback;
    use vault_config::error::ProblemKind;
    let env = [("VF_API_KEY", "from-env"), ("VF_PORT", "9000")];
    let vault = MockVault::new().secret("secret/vf", [("api_key", "from-vault")]);
    let explained = VaultFirst::loader()
        .env_vars(env)
        .vault(vault.clone())
        .explain();
    let s = VaultFirst::loader()
        .env_vars(env)
        .vault(vault)
        .load()
        .unwrap();
    assert_eq!(s.api_key.expose_secret(), "from-vault", "Vault first");
    assert_eq!(s.port, 9000, "no `port` in Vault: env serves");
    let row = explained.row("api_key").unwrap();
    assert_eq!(row.source, "vault secret/vf#api_key");
    assert_eq!(row.overridden, ["env VF_API_KEY"]);
    assert!(
        explained
            .to_string()
            .starts_with("VaultFirst (profile `default`, order vault > env > default)"),
        "{explained}"
    );

    // Vault unreachable: fail fast, even with env set...
    let down = MockVault::new().unavailable("secret/vf");
    let err = VaultFirst::loader()
        .env_vars(env)
        .vault(down.clone())
        .load()
        .unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Unavailable, "{err}");
    // ...unless fallback says env is the backup.
    let s = VaultFirst::loader()
        .env_vars(env)
        .vault(down)
        .fallback(Fallback::Env)
        .load()
        .unwrap();
    assert_eq!(s.api_key.expose_secret(), "from-env");

    // The standard order reads env first and does not even ask Vault for what env decided.
    let vault = MockVault::new().secret("secret/myapp/default/database", [("url", "v")]);
    let _ = Settings::loader()
        .env_vars([("APP_DATABASE_URL", "e")])
        .vault(vault.clone())
        .load();
    assert_eq!(vault.reads_of("secret/myapp/default/database"), 0);
}
