//! One report per load, naming every problem with field, env var and Vault location.

use crate::fixtures::common;

use common::{Settings, full_vault};
use vault_config::VaultConfig;
use vault_config::error::{Answer, ProblemKind};
use vault_config::testing::MockVault;

#[test]
fn every_problem_of_a_load_is_reported_together() {
    let vault = MockVault::new()
        .deny("secret/myapp/default/ibkr/vertical_spreads")
        .unavailable("secret/myapp/default/redis");
    let err = Settings::loader()
        .env_vars([
            ("APP_PORT", "0"),
            ("APP_TIMEOUT_MS", "soon"),
            ("APP_PROT", "1"),
        ])
        .vault(vault)
        .load()
        .unwrap_err();
    let kinds: Vec<_> = err
        .problems()
        .iter()
        .map(|p| (p.kind, p.field.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ProblemKind::Rejected, Some("port")),
            (ProblemKind::Missing, Some("database_url")),
            (ProblemKind::Denied, Some("ib_user")),
            (ProblemKind::Unavailable, Some("redis.password")),
            (ProblemKind::Invalid, Some("timeout_ms")),
            (ProblemKind::UnknownEnv, None),
        ]
    );

    let missing = err.for_field("database_url").next().unwrap();
    assert_eq!(missing.env.as_deref(), Some("APP_DATABASE_URL"));
    assert_eq!(
        missing.vault.as_deref(),
        Some("secret/myapp/default/database#url")
    );
    let answers: Vec<_> = missing
        .sources
        .iter()
        .map(|a| (a.source.as_str(), &a.answer))
        .collect();
    assert_eq!(
        answers,
        [
            ("env APP_DATABASE_URL", &Answer::NotSet),
            (
                "vault secret/myapp/default/database#url",
                &Answer::PathNotFound
            ),
        ]
    );

    let denied = err.for_field("ib_user").next().unwrap();
    assert!(matches!(&denied.sources[1].answer, Answer::Denied(_)));

    let report = err.to_string();
    assert!(
        report.starts_with("loading `Settings` (profile `default`) failed with 6 problems:"),
        "{report}"
    );
    assert!(
        report.contains("rejected `port`: port must not be 0 (value from env APP_PORT)"),
        "{report}"
    );
    assert!(
        report.contains("`soon` from env APP_TIMEOUT_MS is not a valid `Option<u64>`"),
        "{report}"
    );
    assert!(
        report.contains("`APP_PROT` matches no field of `Settings`; did you mean `APP_PORT`?"),
        "{report}"
    );
    assert!(
        report.contains("[env APP_DATABASE_URL, vault secret/myapp/default/database#url]"),
        "{report}"
    );
}

#[test]
fn a_missing_required_field_names_all_its_sources() {
    #[derive(Debug, VaultConfig)]
    #[allow(dead_code, reason = "only the failed load is inspected")]
    struct S {
        /// Needed.
        workers: u32,
    }
    let err = S::loader()
        .env_vars::<_, String, String>([])
        .load()
        .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.kind, ProblemKind::Missing);
    assert_eq!(p.env.as_deref(), Some("WORKERS"));
    assert_eq!(p.vault, None);
    assert_eq!(p.sources.len(), 2);
    assert_eq!(p.sources[1].answer, Answer::NoDefault);
}

#[test]
fn a_secret_with_no_vault_source_says_so() {
    let err = Settings::loader()
        .env_vars::<_, String, String>([])
        .load()
        .unwrap_err();
    let p = err.for_field("database_url").next().unwrap();
    assert_eq!(p.kind, ProblemKind::Missing);
    assert_eq!(p.sources[1].answer, Answer::NoSource);
    assert!(p.message.contains("a secret has no default"));
}

#[test]
fn a_key_absent_from_an_existing_path_lists_the_keys_tried() {
    let vault = full_vault().secret(
        "secret/myapp/default/ibkr/vertical_spreads",
        [("other", "x")],
    );
    let err = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap_err();
    let p = err.for_field("ib_user").next().unwrap();
    assert_eq!(
        p.sources[1].answer,
        Answer::KeyAbsent {
            tried: vec!["IB_USER".into(), "username".into()],
            similar: None,
        }
    );
    assert!(
        err.to_string()
            .contains("path exists but has no key IB_USER or username")
    );

    // The same name in another case (or with `-` for `_`): the report names it.
    let vault = full_vault().secret(
        "secret/myapp/default/ibkr/vertical_spreads",
        [("ib-User", "x")],
    );
    let err = Settings::loader()
        .env_vars::<_, String, String>([])
        .vault(vault)
        .load()
        .unwrap_err();
    let report = err.to_string();
    assert!(
        report.contains(
            "path exists but has no key IB_USER or username; it holds `ib-User` (set `vault(key = \"ib-User\")`, or `vault(keys = ..)` on the struct)"
        ),
        "{report}"
    );
    assert!(!report.contains("x`"), "never a value: {report}");
}

#[test]
fn unknown_env_vars_are_tolerated_when_asked() {
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "SVC_", allow_unknown)]
    struct S {
        #[config(default = 1)]
        workers: u32,
    }
    let s = S::loader().env_vars([("SVC_WORKRES", "2")]).load().unwrap();
    assert_eq!(s.workers, 1);
}

#[test]
fn an_invalid_profile_is_reported_on_its_env_var() {
    let err = Settings::loader()
        .env_vars([
            ("APP_PROFILE", "../admin"),
            ("APP_DATABASE_URL", "x"),
            ("APP_IB_USER", "y"),
        ])
        .load()
        .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(
        (p.kind, p.env.as_deref()),
        (ProblemKind::Invalid, Some("APP_PROFILE"))
    );
}

#[test]
fn a_struct_level_rule_runs_after_every_field_is_valid() {
    fn ordered(r: &Range) -> Result<(), String> {
        if r.min <= r.max {
            Ok(())
        } else {
            Err(format!("min {} exceeds max {}", r.min, r.max))
        }
    }
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "R_", validate = ordered)]
    struct Range {
        min: u32,
        max: u32,
    }
    let err = Range::loader()
        .env_vars([("R_MIN", "5"), ("R_MAX", "1")])
        .load()
        .unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Rejected);
    assert_eq!(err.problems()[0].message, "`Range`: min 5 exceeds max 1");
    assert!(
        Range::loader()
            .env_vars([("R_MIN", "1"), ("R_MAX", "5")])
            .load()
            .is_ok()
    );
}

/// A text default the derive cannot check (a type of the app's own; a number's is a compile
/// error, `config-derive/tests/ui/default/`) that does not parse is reported by the load.
#[test]
fn a_string_default_that_does_not_parse_is_reported() {
    #[derive(Debug, serde::Deserialize)]
    enum Mode {
        Fast,
    }
    #[derive(Debug, VaultConfig)]
    #[allow(dead_code, reason = "only the failed load is inspected")]
    struct S {
        #[config(default = "slow")]
        mode: Mode,
    }
    let err = S::loader()
        .env_vars::<_, String, String>([])
        .load()
        .unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Invalid);
    assert!(
        err.problems()[0]
            .message
            .starts_with("default `slow` is not a valid `Mode`"),
        "{}",
        err.problems()[0].message
    );
}

#[test]
fn the_report_serializes_to_json() {
    let err = Settings::loader()
        .env_vars([("APP_PORT", "x")])
        .load()
        .unwrap_err();
    let json = err.to_json();
    assert_eq!(json["type_name"], "Settings");
    assert_eq!(json["problems"][0]["kind"], "invalid");
    assert_eq!(json["problems"][0]["env"], "APP_PORT");
    assert_eq!(
        json["problems"][1]["sources"][1]["answer"]["answer"],
        "no_source"
    );
}

/// A configuration problem is reported once, first, with the fields it leaves without Vault
/// listed under it instead of one "no vault source" problem per field.
#[test]
fn a_configuration_problem_comes_once_with_the_fields_it_blocks() {
    let err = Settings::loader()
        .env_vars([
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_TOKEN", "t"),
            ("VAULT_SKIP_VERIFY", "maybe"),
            ("APP_PORT", "0"),
        ])
        .load()
        .unwrap_err();
    let kinds: Vec<_> = err.problems().iter().map(|p| p.kind).collect();
    assert_eq!(kinds, [ProblemKind::Config, ProblemKind::Rejected]);
    let root = &err.problems()[0];
    assert_eq!(root.env.as_deref(), Some("VAULT_SKIP_VERIFY"));
    let blocked: Vec<_> = root.blocked.iter().map(|p| p.field.as_deref()).collect();
    assert_eq!(blocked, [Some("database_url"), Some("ib_user")]);
    // Still found by field, with its own names and answers.
    let db = err.for_field("database_url").next().unwrap();
    assert_eq!(db.sources[1].answer, Answer::NoSource);

    let report = err.to_string();
    assert!(
        report.starts_with(
            "loading `Settings` (profile `default`) failed with 2 problems (2 fields blocked by them):\n  1. vault config: VAULT_SKIP_VERIFY must be true or false"
        ),
        "{report}"
    );
    assert!(
        report.contains(
            "\n       blocks `database_url` [env APP_DATABASE_URL, vault secret/myapp/default/database#url]"
        ),
        "{report}"
    );
    assert_eq!(report.matches("no vault source").count(), 0, "{report}");
    let json = err.to_json();
    assert_eq!(json["problems"][0]["blocked"][1]["field"], "ib_user");
}

/// Fields that fail with one and the same Vault answer (unreachable) share one problem.
#[test]
fn an_unreachable_vault_is_one_problem_naming_every_field_it_blocks() {
    let err = Settings::loader()
        .env_vars([
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_TOKEN", "t"),
            ("VAULT_MAX_RETRIES", "0"),
        ])
        .load()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let root = &err.problems()[0];
    assert_eq!(root.kind, ProblemKind::Unavailable);
    assert_eq!(root.field, None);
    assert!(
        root.message
            .contains("cannot reach vault at http://127.0.0.1:9"),
        "{err}"
    );
    assert_eq!(root.blocked.len(), 3, "{err}");
    assert!(
        err.to_string()
            .contains("failed with 1 problem (3 fields blocked by it)")
    );
    // One field failing alone keeps its own problem.
    let vault = MockVault::new().unavailable("secret/myapp/default/redis");
    let err = Settings::loader()
        .env_vars([("APP_DATABASE_URL", "pg://x"), ("APP_IB_USER", "u")])
        .vault(vault)
        .load()
        .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(
        (p.kind, p.field.as_deref()),
        (ProblemKind::Unavailable, Some("redis.password"))
    );
}

/// A misspelled `VAULT_*` / `BAO_*` variable gets a "did you mean", like the app's own.
#[test]
fn a_misspelled_vault_variable_is_named_with_the_one_meant() {
    let err = Settings::loader()
        .env_vars([
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_SECRETID", "not-shown"),
            ("BAO_NAMESPCE", "team-a"),
            // Other tools' variables are left alone.
            ("VAULT_FORMAT", "json"),
            ("VAULT_LOG_LEVEL", "debug"),
        ])
        .load()
        .unwrap_err();
    let report = err.to_string();
    assert!(
        report.contains(
            "VAULT_SECRETID is not a variable vault-config reads; did you mean VAULT_SECRET_ID?"
        ),
        "{report}"
    );
    assert!(report.contains("did you mean BAO_NAMESPACE?"), "{report}");
    assert!(
        !report.contains("VAULT_FORMAT") && !report.contains("VAULT_LOG_LEVEL"),
        "{report}"
    );
    assert!(!report.contains("not-shown"), "{report}");
    // The root cause first: no credentials, blocking the fields; the typos after it.
    assert!(
        err.problems()[0]
            .message
            .starts_with("no Vault credentials"),
        "{report}"
    );
    assert_eq!(err.problems()[0].blocked.len(), 2, "{report}");
}
