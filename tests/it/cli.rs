//! The admin command line (`cli` feature): generated artifacts against golden files, `check`
//! exit codes and JSON, `migrate` against the real server and (KV v2) wiremock.
#![cfg(feature = "cli")]

use serde_json::json;
use vault_config::{EnvSnapshot, ExposeSecret, SecretString, VaultConfig};

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "SHOP_", vault(path = "shop/{profile}"))]
#[allow(dead_code, reason = "the command line inspects the schema")]
struct Shop {
    /// Port the HTTP server binds.
    #[config(default = 8080)]
    port: u16,
    /// Primary database | with a pipe in its doc.
    #[config(secret, vault(path = "database", key = "url"))]
    database_url: SecretString,
    /// Payment provider login; older entries use `username`.
    #[config(secret, vault(path = "payments", key = "API_USER", aliases = ["username"]))]
    payments_user: SecretString,
    /// Legacy token kept in the KV v1 mount.
    #[config(secret, vault(mount = "kv", path = "legacy", key = "token"))]
    legacy_token: Option<SecretString>,
    #[config(nested)]
    cache: Cache,
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "cache"))]
#[allow(dead_code, reason = "the command line inspects the schema")]
struct Cache {
    /// Redis URL.
    #[config(default = "redis://localhost:6379")]
    url: String,
    /// Redis password.
    #[config(secret)]
    password: Option<SecretString>,
}

/// Arguments and env of one command-line run.
type Run<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

fn run(args: &[&str], env: &[(&str, &str)]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("shop-admin").chain(args.iter().copied());
    let code = vault_config::cli::run_with::<Shop>(
        argv,
        EnvSnapshot::from_iter(env.iter().copied()),
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// Compares with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites it (then read the diff).
fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

#[test]
fn env_template_matches_its_golden_file() {
    let (code, out, _) = run(&["env-template"], &[]);
    assert_eq!(code, 0);
    golden("env-template.txt", &out);
}

#[test]
fn docs_match_their_golden_file() {
    let (code, out, _) = run(&["docs", "--profile", "production"], &[]);
    assert_eq!(code, 0);
    golden("docs.md", &out);
}

#[test]
fn policy_for_kv1_and_kv2_and_several_profiles_matches_golden_files() {
    let (_, v1, _) = run(&["policy", "--kv-version", "1"], &[]);
    golden("policy-kv1.hcl", &v1);
    let (_, v2, _) = run(
        &[
            "policy",
            "--kv-version",
            "2",
            "--profiles",
            "staging,production",
        ],
        &[],
    );
    golden("policy-kv2-profiles.hcl", &v2);
}

/// KV versions detected on the real server: `secret/` is KV v2, `kv/` is KV v1.
#[test]
fn policy_detects_kv_versions_per_mount() {
    let Some(v) = DevVault::get() else { return };
    let (code, out, err) = run(
        &["policy"],
        &[("VAULT_ADDR", &v.addr), ("VAULT_TOKEN", &v.root)],
    );
    assert_eq!(code, 0, "{err}");
    golden("policy-detected.hcl", &out);
}

#[test]
fn policy_without_vault_or_version_is_a_usage_error() {
    let (code, _, err) = run(&["policy"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("pass --kv-version 1 or 2"), "{err}");
}

#[test]
fn help_lists_the_seven_subcommands() {
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    // The profile variable by its real name, not "the PROFILE env var".
    assert!(
        out.contains("(default: $SHOP_PROFILE, else `default`)"),
        "{out}"
    );
    for cmd in [
        "check",
        "explain",
        "env-template",
        "docs",
        "file-template",
        "json-schema",
        "policy",
        "migrate",
    ] {
        assert!(out.contains(&format!("  {cmd}")), "{out}");
    }
    let (code, _, err) = run(&["frobnicate"], &[]);
    assert_eq!((code, err.contains("unrecognized subcommand")), (2, true));
}

#[test]
fn explain_prints_json_without_secrets() {
    let (code, out, _) = run(
        &["explain", "--json"],
        &[
            ("SHOP_DATABASE_URL", "postgres://canary-url"),
            ("SHOP_PAYMENTS_USER", "u"),
        ],
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"][1]["value"], "[REDACTED]");
    assert!(!out.contains("canary-url"));
}

use crate::fixtures::dev_vault;
use dev_vault::{DevVault, closed_port};
fn profile(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

#[test]
fn check_exit_codes_and_json_shape() {
    let Some(v) = DevVault::get() else { return };
    let p = profile("check");
    let base = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("SHOP_PROFILE", p.as_str()),
    ];

    // Missing secrets: exit 1, problems named, paths readable but not found.
    let (code, out, _) = run(&["check", "--json"], &base);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 1);
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"][0]["kind"], "missing");
    assert_eq!(report["paths"][0]["status"], "not_found");

    // After migrating the secrets from env into Vault: exit 0.
    let with_values = [
        base.as_slice(),
        &[
            ("SHOP_DATABASE_URL", "postgres://db"),
            ("SHOP_PAYMENTS_USER", "pay"),
        ],
    ]
    .concat();
    assert_eq!(run(&["migrate"], &with_values).0, 0);
    let (code, out, _) = run(&["check", "--json"], &base);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["ok"],
        true
    );

    // Denied: a bogus token.
    let denied = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", "bogus"),
        ("SHOP_PROFILE", p.as_str()),
    ];
    let (code, out, _) = run(&["check", "--json"], &denied);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (code, report["paths"][0]["status"].as_str()),
        (1, Some("denied"))
    );
    assert_eq!(report["problems"][0]["kind"], "denied");

    // Unreachable: a closed port.
    let port = closed_port();
    let addr = format!("http://127.0.0.1:{port}");
    let (code, out, _) = run(
        &["check", "--json"],
        &[
            ("VAULT_ADDR", &addr),
            ("VAULT_TOKEN", "t"),
            ("VAULT_MAX_RETRIES", "0"),
        ],
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (code, report["paths"][0]["status"].as_str()),
        (1, Some("unavailable"))
    );
    let (code, text, _) = run(
        &["check"],
        &[
            ("VAULT_ADDR", &addr),
            ("VAULT_TOKEN", "t"),
            ("VAULT_MAX_RETRIES", "0"),
        ],
    );
    assert!(
        code == 1 && text.contains("FAILED") && text.contains("cannot reach vault"),
        "{text}"
    );
}

#[test]
fn migrate_round_trip_through_the_real_server() {
    let Some(v) = DevVault::get() else { return };
    let p = profile("migrate");
    let vault = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("SHOP_PROFILE", p.as_str()),
    ];
    let values = [
        ("SHOP_DATABASE_URL", "postgres://migrated"),
        ("SHOP_PAYMENTS_USER", "pay-user"),
        ("SHOP_CACHE__PASSWORD", "cache-pw"),
        ("SHOP_PORT", "9000"),
    ];
    let env = [vault.as_slice(), &values].concat();

    let (code, plan, _) = run(&["migrate", "--dry-run"], &env);
    assert_eq!(code, 0);
    assert!(
        plan.contains(&format!("would write secret/shop/{p}/database (KV v2)")),
        "{plan}"
    );
    assert!(plan.contains("add: API_USER"), "{plan}");
    assert!(
        !plan.contains("postgres://migrated") && !plan.contains("cache-pw"),
        "a plan never shows values"
    );
    assert!(
        !plan.contains("port"),
        "fields without a Vault location are not migrated"
    );

    let (code, done, _) = run(&["migrate"], &env);
    assert_eq!(code, 0, "{done}");
    assert_eq!(done.matches("write ").count(), 3, "{done}");

    // env -> Vault -> load() with the values gone from env: the same values.
    let loaded = Shop::loader().env_vars(vault).load().unwrap();
    assert_eq!(loaded.database_url.expose_secret(), "postgres://migrated");
    assert_eq!(loaded.payments_user.expose_secret(), "pay-user");
    assert_eq!(loaded.cache.password.unwrap().expose_secret(), "cache-pw");

    // A different value for an existing key is refused unless --overwrite.
    let changed = [
        vault.as_slice(),
        &[("SHOP_DATABASE_URL", "postgres://other")],
    ]
    .concat();
    let (code, out, _) = run(&["migrate"], &changed);
    assert_eq!(code, 1);
    assert!(
        out.contains("refused") && out.contains("keep: url"),
        "{out}"
    );
    let (code, out, _) = run(&["migrate", "--overwrite"], &changed);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("replace: url"), "{out}");
    let loaded = Shop::loader().env_vars(vault).load().unwrap();
    assert_eq!(loaded.database_url.expose_secret(), "postgres://other");
}

/// On KV v2, migrate merges into the secret's current data with check-and-set on its
/// version: keys already there stay, the new one is added, the version moves by one.
#[test]
fn migrate_uses_check_and_set_on_kv2() {
    let Some(v) = DevVault::get() else { return };
    let p = profile("cas");
    v.write(
        &format!("secret/shop/{p}/database"),
        json!({ "other": "x" }),
    );
    v.write(
        &format!("secret/shop/{p}/database"),
        json!({ "other": "x" }),
    );
    let (code, out, err) = run(
        &["migrate", "--json"],
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_TOKEN", &v.root),
            ("SHOP_PROFILE", &p),
            ("SHOP_DATABASE_URL", "postgres://v2"),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let database = report["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/database")))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(database["action"], "write", "{out}");
    assert_eq!(database["kv_version"], "V2", "{out}");
    let (_, read) = v.call("GET", &format!("secret/data/shop/{p}/database"), None);
    assert_eq!(
        read["data"]["data"],
        json!({ "other": "x", "url": "postgres://v2" })
    );
    assert_eq!(
        read["data"]["metadata"]["version"], 3,
        "one write on version 2"
    );
}

/// The generated policy, proven on a server that enforces it: a token holding only the
/// `policy` output reads both mounts (KV v2 and v1) through check, load and live settings.
#[test]
fn the_generated_policy_is_enough_and_no_more() {
    let Some(v) = DevVault::get() else { return };
    let p = profile("policy");
    v.write(
        &format!("secret/shop/{p}/database"),
        json!({ "url": "postgres://p" }),
    );
    v.write(
        &format!("secret/shop/{p}/payments"),
        json!({ "API_USER": "u" }),
    );
    v.write(
        &format!("secret/shop/{p}/cache"),
        json!({ "password": "c" }),
    );
    v.write(&format!("kv/shop/{p}/legacy"), json!({ "token": "t" }));
    dev_vault::prove_policy::<Shop>(&v, &p, &p, &[("SHOP_PROFILE".into(), p.clone())]);
}

/// The leak canary over the command line: every subcommand, text and JSON, with canary
/// secrets in Vault and in env and a canary token; then the error paths (a token Vault
/// refuses, an unreachable server, a conflicting migration). Nothing printed holds a canary.
#[test]
fn no_subcommand_prints_a_secret_or_the_token() {
    let Some(v) = DevVault::get() else { return };
    let p = profile("canary");
    let in_vault = "canary-vault-db-url-3c1f";
    let in_env = "canary-env-pay-user-9e07";
    let in_env_cache = "canary-env-cache-pw-51aa";
    v.write(
        &format!("secret/shop/{p}/database"),
        json!({ "url": in_vault }),
    );
    let base = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("SHOP_PROFILE", p.as_str()),
        ("SHOP_PAYMENTS_USER", in_env),
        ("SHOP_CACHE__PASSWORD", in_env_cache),
    ];
    let bad_token = "hvs.canary-refused-token-77d2";
    let refused = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", bad_token),
        ("SHOP_PROFILE", p.as_str()),
        ("SHOP_DATABASE_URL", in_env),
    ];
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let unreachable = [
        ("VAULT_ADDR", closed.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("VAULT_MAX_RETRIES", "0"),
        ("SHOP_DATABASE_URL", in_env),
    ];
    // A different value already in Vault: migrate refuses the path, naming only keys.
    let conflicting = [base.as_slice(), &[("SHOP_DATABASE_URL", in_env)]].concat();
    let runs: [Run; 18] = [
        (&["check"], &base),
        (&["check", "--json"], &base),
        (&["explain"], &base),
        (&["explain", "--json"], &base),
        (&["env-template"], &base),
        (&["docs"], &base),
        (&["file-template"], &base),
        (&["json-schema"], &base),
        (&["policy"], &base),
        (&["migrate", "--dry-run"], &base),
        (&["migrate", "--dry-run", "--json"], &base),
        (&["migrate", "--dry-run"], &conflicting),
        (&["check"], &refused),
        (&["explain", "--json"], &refused),
        (&["migrate", "--dry-run"], &refused),
        (&["check", "--json"], &unreachable),
        (&["explain"], &unreachable),
        (&["policy"], &unreachable),
    ];
    for (args, env) in runs {
        let (code, out, err) = run(args, env);
        assert!(code <= 2, "{args:?}: exit {code}");
        assert!(
            !out.is_empty() || !err.is_empty(),
            "{args:?} printed nothing"
        );
        for canary in [in_vault, in_env, in_env_cache, bad_token, v.root.as_str()] {
            assert!(
                !out.contains(canary) && !err.contains(canary),
                "{args:?} printed a canary:\n{out}\n{err}"
            );
        }
    }
}

/// Profiles are checked by the one rule wherever they enter the command line: a wildcard
/// would grant every profile's secrets in a policy, a quote would inject HCL rules.
#[test]
fn every_subcommand_refuses_a_bad_profile() {
    let injected = "x\" { capabilities = [\"sudo\"] }\npath \"sys/*";
    let runs: [Run; 6] = [
        (&["policy", "--kv-version", "2", "--profiles", "*"], &[]),
        (
            &["policy", "--kv-version", "2", "--profiles", injected],
            &[],
        ),
        (
            &["policy", "--kv-version", "2", "--profile", "../admin"],
            &[],
        ),
        (&["docs", "--profile", "prod+"], &[]),
        (&["env-template"], &[("SHOP_PROFILE", "a/b")]),
        (&["check"], &[("SHOP_PROFILE", "*")]),
    ];
    for (args, env) in runs {
        let (code, out, err) = run(args, env);
        assert_eq!(code, 2, "{args:?} {env:?}: {out}{err}");
        assert!(err.contains("profile must be non-empty"), "{err}");
        assert!(!out.contains("path \""), "{args:?} printed a policy: {out}");
    }
}

/// `policy` and `migrate` see the paths a load reads: `VAULT_MOUNT_POINT` and
/// `VAULT_BASE_PATH` apply to them through the same function.
#[test]
fn policy_and_migrate_follow_the_mount_and_base_path_overrides() {
    let (code, policy, err) = run(
        &["policy", "--kv-version", "1"],
        &[
            ("VAULT_MOUNT_POINT", "kv-prod"),
            ("VAULT_BASE_PATH", "shop-eu/{profile}"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rules: Vec<&str> = policy.lines().filter(|l| l.starts_with("path ")).collect();
    assert_eq!(rules.len(), 4, "{policy}");
    for rule in rules {
        assert!(
            rule.starts_with("path \"kv-prod/shop-eu/default/"),
            "{rule}"
        );
    }

    let Some(v) = DevVault::get() else { return };
    let p = profile("override");
    let (code, plan, err) = run(
        &["migrate", "--dry-run"],
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_TOKEN", &v.root),
            ("VAULT_MOUNT_POINT", "kv"),
            ("SHOP_PROFILE", &p),
            ("SHOP_DATABASE_URL", "postgres://o"),
        ],
    );
    assert_eq!(code, 0, "{plan}{err}");
    assert!(
        plan.contains(&format!("would write kv/shop/{p}/database (KV v1)")),
        "{plan}"
    );
}
