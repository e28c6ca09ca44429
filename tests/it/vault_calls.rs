//! How the loader uses the Vault layer: one batch, each distinct path once, only what env did
//! not fill; fail fast unless fallback is asked for.

use crate::fixtures::common;

use common::{Settings, full_vault};
use vault_config::error::{Answer, ProblemKind};
use vault_config::source::VaultPath;
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, Fallback, VaultConfig};

#[test]
fn each_distinct_path_is_read_once_in_one_batch() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "app"))]
    struct S {
        #[config(secret, vault(path = "db", key = "user"))]
        user: vault_config::SecretString,
        #[config(secret, vault(path = "db", key = "password"))]
        password: vault_config::SecretString,
        #[config(secret)]
        api_key: vault_config::SecretString,
    }
    let vault = MockVault::new()
        .secret("secret/app/db", [("user", "u"), ("password", "p")])
        .secret("secret/app", [("api_key", "k")]);
    let s = S::loader()
        .env_vars::<_, String, String>([])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(
        [
            s.user.expose_secret(),
            s.password.expose_secret(),
            s.api_key.expose_secret()
        ],
        ["u", "p", "k"]
    );
    assert_eq!(vault.calls(), 1);
    assert_eq!(
        vault.requested(),
        [
            VaultPath::new("secret", "app"),
            VaultPath::new("secret", "app/db")
        ]
    );
}

#[test]
fn vault_is_not_asked_when_env_fills_every_field_it_holds() {
    let vault = full_vault();
    let s = Settings::loader()
        .env_vars([
            ("APP_DATABASE_URL", "a"),
            ("APP_IB_USER", "b"),
            ("APP_REDIS__PASSWORD", "c"),
        ])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(s.redis.password.unwrap().expose_secret(), "c");
    assert_eq!(vault.calls(), 0);
}

#[test]
fn only_paths_env_did_not_fill_are_read() {
    let vault = full_vault();
    Settings::loader()
        .env_vars([("APP_DATABASE_URL", "a")])
        .vault(vault.clone())
        .load()
        .unwrap();
    assert_eq!(vault.reads_of("secret/myapp/default/database"), 0);
    assert_eq!(
        vault.reads_of("secret/myapp/default/ibkr/vertical_spreads"),
        1
    );
    assert_eq!(vault.reads_of("secret/myapp/default/redis"), 1);
}

#[test]
fn an_unreachable_vault_fails_the_load_by_default() {
    let vault = full_vault().unavailable("secret/myapp/default/database");
    let err = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap_err();
    let p = err.for_field("database_url").next().unwrap();
    assert_eq!(p.kind, ProblemKind::Unavailable);
    assert!(p.message.contains("secret/myapp/default/database"));
}

#[test]
fn a_denied_path_fails_even_a_field_with_a_default() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "svc"))]
    #[allow(dead_code, reason = "only the failed load is inspected")]
    struct S {
        #[config(default = 4, vault(key = "workers"))]
        workers: u32,
    }
    let vault = MockVault::new().deny("secret/svc");
    let err = S::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Denied);
}

#[test]
fn a_missing_path_lets_a_field_fall_back_to_its_default() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "svc"))]
    struct S {
        #[config(default = 4, vault(key = "workers"))]
        workers: u32,
    }
    let s = S::loader()
        .env_vars::<_, String, String>([])
        .vault(MockVault::new())
        .load()
        .unwrap();
    assert_eq!(s.workers, 4);
}

#[test]
fn fallback_mode_goes_on_without_vault_but_still_requires_secrets() {
    #[derive(Debug, VaultConfig)]
    #[config(vault(path = "svc"))]
    struct S {
        #[config(default = 4, vault(key = "workers"))]
        workers: u32,
        #[config(secret)]
        token: vault_config::SecretString,
    }
    let down = MockVault::new().unavailable("secret/svc");
    let s = S::loader()
        .env_vars([("TOKEN", "from-env")])
        .vault(down.clone())
        .fallback(Fallback::Env)
        .load()
        .unwrap();
    assert_eq!((s.workers, s.token.expose_secret()), (4, "from-env"));

    let err = S::loader()
        .env_vars::<_, String, String>([])
        .vault(down)
        .fallback(Fallback::Env)
        .load()
        .unwrap_err();
    let p = err.for_field("token").next().unwrap();
    assert_eq!(p.kind, ProblemKind::Missing);
    assert!(matches!(p.sources[1].answer, Answer::Skipped(_)));
}

/// A source that answers fewer paths than asked must not be trusted or cause a panic.
#[test]
fn a_short_answer_from_a_source_is_an_error_not_a_panic() {
    struct Short;
    impl vault_config::source::SecretSource for Short {
        fn fetch<'a>(
            &'a self,
            _paths: &'a [VaultPath],
        ) -> vault_config::source::BoxFuture<'a, Vec<vault_config::source::FetchResult>> {
            Box::pin(async { Vec::new() })
        }
    }
    let err = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(Short)
        .load()
        .unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.kind == ProblemKind::Unavailable)
    );
}
