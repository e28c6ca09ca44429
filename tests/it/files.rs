//! Config files (TOML, YAML, JSON) and `.env` as layers: the order of every adjacent pair,
//! formats, profiles, nested tables, lists and maps, missing and required files, the error
//! cases, secrets refused in files, explain, and the process environment left untouched.

use std::collections::BTreeMap;

use crate::fixtures::scratch::Dir;
use serde::Deserialize;
use vault_config::error::ProblemKind;
use vault_config::explain::FileStatus;
use vault_config::testing::MockVault;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

#[derive(Debug, Deserialize, PartialEq)]
struct Limits {
    burst: u32,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_", vault(path = "svc"))]
struct Svc {
    /// Port the server binds.
    #[config(default = 8080, vault(key = "port"))]
    port: u16,
    #[config(default = "info")]
    log_level: String,
    #[config(nested)]
    db: Db,
    #[config(default)]
    hosts: Vec<String>,
    #[config(default)]
    labels: BTreeMap<String, String>,
    #[config(default = Limits { burst: 1 })]
    limits: Limits,
    #[config(secret)]
    api_key: Option<SecretString>,
}

#[derive(Debug, VaultConfig)]
struct Db {
    #[config(default = 4)]
    pool_size: u32,
}

fn loader() -> vault_config::Loader<Svc> {
    Svc::loader().env_vars::<_, String, String>([]).no_vault()
}

#[test]
fn each_layer_wins_over_the_one_below_it() {
    let d = Dir::new("files-order");
    let first = d.write(
        "first.toml",
        "port = 1\nlog_level = \"first\"\n[db]\npool_size = 7\n",
    );
    let second = d.write("second.toml", "port = 2\n");
    let dotenv = d.write(".env", "APP_PORT=3\nAPP_LOG_LEVEL=dotenv\n");
    let vault = || MockVault::new().secret("secret/svc", [("port", 4)]);

    // A later file over an earlier one; a file over the default.
    let s = loader()
        .no_files()
        .file(&first)
        .file(&second)
        .load()
        .unwrap();
    assert_eq!((s.port, s.db.pool_size), (2, 7));
    let s = loader().no_files().file(&first).load().unwrap();
    assert_eq!(s.port, 1);
    let s = loader().no_files().load().unwrap();
    assert_eq!((s.port, s.db.pool_size), (8080, 4));
    // Vault over files.
    let s = loader()
        .no_files()
        .file(&first)
        .vault(vault())
        .load()
        .unwrap();
    assert_eq!(s.port, 4);
    // .env over Vault.
    let s = loader()
        .no_files()
        .file(&first)
        .dotenv(&dotenv)
        .vault(vault())
        .load()
        .unwrap();
    assert_eq!((s.port, s.log_level.as_str()), (3, "dotenv"));
    // The environment over .env.
    let s = Svc::loader()
        .env_vars([("APP_PORT", "5")])
        .no_vault()
        .no_files()
        .file(&first)
        .dotenv(&dotenv)
        .load()
        .unwrap();
    assert_eq!((s.port, s.log_level.as_str()), (5, "dotenv"));
}

/// `${VAR}` in `.env` reads the loader's snapshot, then earlier lines of the file: never the
/// process environment behind the snapshot (`PATH` is set in every test process).
#[test]
fn dotenv_substitution_reads_the_snapshot_not_the_process() {
    let d = Dir::new("files-subst");
    let dotenv = d.write(
        ".env",
        "LEVEL=from-file\nAPP_LOG_LEVEL=\"${PATH}|${REGION}|$LEVEL\"\n",
    );
    let s = Svc::loader()
        .env_vars([("REGION", "eu-1")])
        .no_vault()
        .no_files()
        .dotenv(&dotenv)
        .load()
        .unwrap();
    assert_eq!(s.log_level, "|eu-1|from-file");
}

#[test]
fn vault_first_keeps_env_and_dotenv_above_the_files() {
    #[derive(Debug, VaultConfig)]
    #[config(env_prefix = "VF_", vault(path = "vf"), order = ["vault", "env", "default"])]
    struct VaultFirst {
        #[config(default = 0, vault(key = "a"))]
        a: u16,
        #[config(default = 0, vault(key = "b"))]
        b: u16,
        #[config(default = 0, vault(key = "c"))]
        c: u16,
    }
    let d = Dir::new("files-vault-first");
    let file = d.write("f.yaml", "a: 1\nb: 1\nc: 1\n");
    let dotenv = d.write(".env", "VF_A=2\nVF_B=2\n");
    let s = VaultFirst::loader()
        .env_vars([("VF_A", "3")])
        .vault(MockVault::new().secret("secret/vf", [("a", 4)]))
        .no_files()
        .file(&file)
        .dotenv(&dotenv)
        .load()
        .unwrap();
    assert_eq!((s.a, s.b, s.c), (4, 2, 1));
    let explained = VaultFirst::loader()
        .env_vars([("VF_A", "3")])
        .vault(MockVault::new().secret("secret/vf", [("a", 4)]))
        .no_files()
        .file(&file)
        .dotenv(&dotenv)
        .explain()
        .to_string();
    assert!(
        explained.contains("order vault > env > dotenv > file > default"),
        "{explained}"
    );
}

#[test]
fn toml_yaml_and_json_give_nested_tables_lists_and_maps() {
    let d = Dir::new("files-formats");
    let toml = d.write(
        "a.toml",
        "hosts = [\"a\", \"b\"]\n[db]\npool_size = 10\n[labels]\nteam = \"core\"\n[limits]\nburst = 5\n",
    );
    let yaml = d.write(
        "a.yaml",
        "hosts: [a, b]\ndb:\n  pool_size: 10\nlabels:\n  team: core\nlimits:\n  burst: 5\n",
    );
    let json = d.write(
        "a.json",
        r#"{"hosts": ["a", "b"], "db": {"pool_size": 10}, "labels": {"team": "core"}, "limits": {"burst": 5}}"#,
    );
    for file in [toml, yaml, json] {
        let s = loader().no_files().file(&file).load().unwrap();
        assert_eq!(s.hosts, ["a", "b"], "{file}");
        assert_eq!(s.db.pool_size, 10, "{file}");
        assert_eq!(s.labels.get("team").map(String::as_str), Some("core"));
        assert_eq!(s.limits, Limits { burst: 5 });
    }
}

/// The struct's own `files` and `dotenv`, relative to the working directory (the package
/// root under `cargo test`), with `{profile}` chosen by the env or by the `.env` file.
#[derive(Debug, VaultConfig)]
#[config(
    env_prefix = "PF_",
    files = ["tests/fixtures/files/default.toml", "tests/fixtures/files/{profile}.toml"],
    dotenv = "tests/fixtures/files/dev.env"
)]
struct Profiled {
    #[config(default = "none")]
    name: String,
    #[config(default = 0)]
    workers: u32,
    #[config(secret)]
    token: SecretString,
}

#[test]
fn the_structs_files_follow_the_profile_and_dotenv_may_choose_it() {
    // tests/fixtures/files/dev.env sets PF_PROFILE=staging and the token.
    let s = Profiled::loader()
        .env_vars::<_, String, String>([])
        .no_vault()
        .load()
        .unwrap();
    assert_eq!((s.name.as_str(), s.workers), ("staging", 2));
    assert_eq!(s.token.expose_secret(), "dotenv-token-of-the-fixture");
    let s = Profiled::loader()
        .env_vars([("PF_PROFILE", "prod")])
        .no_vault()
        .load()
        .unwrap();
    assert_eq!((s.name.as_str(), s.workers), ("prod", 2));
    // A profile without a file: the default file alone, and explain says the other is missing.
    let explained = Profiled::loader()
        .env_vars([("PF_PROFILE", "qa")])
        .no_vault()
        .explain();
    assert_eq!(explained.row("name").unwrap().value, "default");
    let missing: Vec<_> = explained
        .files
        .iter()
        .filter(|f| f.status == FileStatus::Missing)
        .map(|f| f.file.as_str())
        .collect();
    assert_eq!(missing, ["tests/fixtures/files/qa.toml"]);
    assert!(
        explained
            .to_string()
            .contains("tests/fixtures/files/qa.toml (missing, skipped)")
    );
}

#[test]
fn a_missing_file_is_skipped_and_a_required_one_is_a_problem() {
    let d = Dir::new("files-missing");
    let absent = d.path("absent.toml");
    let s = loader().no_files().file(&absent).load().unwrap();
    assert_eq!(s.port, 8080);
    let err = loader()
        .no_files()
        .required_file(&absent)
        .load()
        .unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let problem = &err.problems()[0];
    assert_eq!(problem.kind, ProblemKind::File);
    assert!(problem.message.contains(&absent), "{problem}");
    assert!(problem.message.contains("does not exist"), "{problem}");
}

#[test]
fn a_file_that_does_not_parse_is_one_problem_with_its_line_and_no_excerpt() {
    let d = Dir::new("files-parse");
    let bad = d.write(
        "bad.toml",
        "port = 1\nlog_level = \"canary-in-a-broken-line\n",
    );
    let err = loader().no_files().file(&bad).load().unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    let text = err.to_string();
    assert!(text.contains(&bad) && text.contains("line 2"), "{text}");
    assert!(!text.contains("canary"), "{text}");
    assert!(!format!("{err:?}").contains("canary"));
    let bad_yaml = d.write("bad.yaml", "port: [1\n");
    let err = loader().no_files().file(&bad_yaml).load().unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::File, "{err}");
    assert!(err.to_string().contains("line"), "{err}");
}

#[test]
fn a_value_that_does_not_parse_names_the_file_and_the_key() {
    let d = Dir::new("files-value");
    let file = d.write("v.toml", "[db]\npool_size = \"many\"\n");
    let err = loader().no_files().file(&file).load().unwrap_err();
    let problem = err.for_field("db.pool_size").next().unwrap();
    assert_eq!(problem.kind, ProblemKind::Invalid);
    assert!(
        problem
            .message
            .contains(&format!("file {file} (db.pool_size)")),
        "{problem}"
    );
    assert_eq!(problem.file.as_deref(), Some("db.pool_size"));
    // The report names the field, its env var and its file key.
    let text = err.to_string();
    assert!(
        text.contains("[env APP_DB__POOL_SIZE, file key db.pool_size]"),
        "{text}"
    );
}

#[test]
fn an_unknown_key_is_a_problem_with_did_you_mean_unless_allowed() {
    let d = Dir::new("files-unknown");
    let file = d.write("u.toml", "prot = 1\n[db]\npool_sise = 3\n");
    let err = loader().no_files().file(&file).load().unwrap_err();
    let unknown: Vec<String> = err
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::UnknownKey)
        .map(|p| p.message.clone())
        .collect();
    assert_eq!(unknown.len(), 2, "{err}");
    assert!(
        unknown[0].contains("did you mean `db.pool_size`?"),
        "{unknown:?}"
    );
    assert!(unknown[1].contains("did you mean `port`?"), "{unknown:?}");

    #[derive(Debug, VaultConfig)]
    #[config(allow_unknown)]
    struct Lenient {
        #[config(default = 0)]
        port: u16,
    }
    let s = Lenient::loader()
        .env_vars::<_, String, String>([])
        .no_vault()
        .file(&file)
        .load()
        .unwrap();
    assert_eq!(s.port, 0);
}

#[test]
fn a_secret_in_a_config_file_is_refused_and_never_shown() {
    const CANARY: &str = "canary-secret-in-a-checked-in-file";
    let d = Dir::new("files-secret");
    let file = d.write("s.toml", format!("api_key = \"{CANARY}\"\n"));
    let err = loader().no_files().file(&file).load().unwrap_err();
    let problem = err.for_field("api_key").next().unwrap();
    assert_eq!(problem.kind, ProblemKind::SecretInFile);
    assert!(problem.message.contains(&file), "{problem}");
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        err.to_json().to_string(),
        loader().no_files().file(&file).explain().to_string(),
        loader().no_files().file(&file).check().to_string(),
    ] {
        assert!(!shown.contains(CANARY), "{shown}");
    }
    // The value is not used even where the field is optional: the explain row has none.
    let explained = loader().no_files().file(&file).explain();
    assert_eq!(explained.row("api_key").unwrap().value, "(none)");
}

#[test]
fn dotenv_may_hold_secrets_and_the_process_environment_is_never_changed() {
    let d = Dir::new("files-dotenv");
    let dotenv = d.write(
        ".env",
        "# local development\nAPP_API_KEY=from-dotenv\nAPP_DB__POOL_SIZE=\"9\"\n",
    );
    let s = loader().no_files().dotenv(&dotenv).load().unwrap();
    assert_eq!(s.api_key.unwrap().expose_secret(), "from-dotenv");
    assert_eq!(s.db.pool_size, 9);
    assert!(std::env::var_os("APP_API_KEY").is_none());
    assert!(std::env::var_os("APP_DB__POOL_SIZE").is_none());
    let explained = loader().no_files().dotenv(&dotenv).explain();
    assert_eq!(
        explained.row("db.pool_size").unwrap().source,
        format!("{dotenv} APP_DB__POOL_SIZE")
    );
    // A typo in .env is reported like one in the environment, naming the file.
    let typo = d.write(".env.typo", "APP_PROT=1\n");
    let err = loader().no_files().dotenv(&typo).load().unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "`APP_PROT` (in {typo}) matches no field of `Svc`; did you mean `APP_PORT`?"
        )),
        "{err}"
    );
    // A .env file that does not parse names the line, not its text.
    let broken = d.write(".env.broken", "APP_PORT=1\nAPP_API_KEY='unclosed-canary\n");
    let err = loader().no_files().dotenv(&broken).load().unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::File, "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    assert!(!err.to_string().contains("canary"), "{err}");
}

#[test]
fn a_figment_chain_is_a_file_source_of_its_own() {
    use figment::providers::{Format, Toml};
    let chain = figment::Figment::from(Toml::string(
        "port = 7\n[db]\npool_size = 2\nrocket_only = 1\n",
    ));
    let s = loader().no_files().figment(chain).load().unwrap();
    assert_eq!((s.port, s.db.pool_size), (7, 2));
}

#[test]
fn explain_shows_all_five_layers_and_their_files() {
    let d = Dir::new("files-explain");
    let base = d.write(
        "base.toml",
        "port = 1\nlog_level = \"file\"\nhosts = [\"h1\"]\n[db]\npool_size = 6\n",
    );
    let dotenv = d.write(".env", "APP_LOG_LEVEL=dotenv\nAPP_API_KEY=dotenv-secret\n");
    let explained = Svc::loader()
        .env_vars([("APP_PORT", "9000")])
        .vault(MockVault::new().secret("secret/svc", [("port", 4)]))
        .no_files()
        .file(&base)
        .file(d.path("absent.toml"))
        .dotenv(&dotenv)
        .explain();
    let text = explained.to_string();
    println!("{text}");
    assert!(
        text.starts_with("Svc (profile `default`, order env > dotenv > vault > file > default)"),
        "{text}"
    );
    let source = |field: &str| explained.row(field).unwrap().source.clone();
    assert_eq!(source("port"), "env APP_PORT");
    assert_eq!(
        explained.row("port").unwrap().overridden,
        [
            "vault secret/svc#port",
            &format!("file {base} (port)"),
            "default"
        ]
    );
    assert_eq!(source("log_level"), format!("{dotenv} APP_LOG_LEVEL"));
    assert_eq!(
        source("db.pool_size"),
        format!("file {base} (db.pool_size)")
    );
    assert_eq!(source("limits"), "default");
    assert_eq!(explained.row("api_key").unwrap().value, "[REDACTED]");
    assert!(!text.contains("dotenv-secret"));
    assert!(
        text.contains(&format!("files: {dotenv} (read), {base} (read), ")),
        "{text}"
    );
}

#[test]
fn a_struct_without_files_reads_none() {
    // Nothing in the working directory is read unless the struct or the loader names it.
    let explained = loader().explain();
    assert!(explained.files.is_empty());
    assert!(
        explained
            .to_string()
            .contains("order env > vault > default")
    );
}

#[test]
fn live_settings_reread_a_changed_file_at_once_and_the_dotenv_file_too() {
    use vault_config::live::Live;
    let d = Dir::new("files-live");
    let file = d.write("live.toml", "port = 1\n");
    let dotenv = d.write(".env", "APP_LOG_LEVEL=first\n");
    // An hour between refreshes: only the file watcher can bring the change in time.
    let live = Live::builder(loader().no_files().file(&file).dotenv(&dotenv))
        .refresh_every(std::time::Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(live.current().port, 1);
    let mut changes = live.subscribe();
    let wait_change = |changes: &mut tokio::sync::watch::Receiver<vault_config::live::Change>| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(20), changes.changed())
                .await
                .expect("a change notification within 20 s")
                .unwrap();
        });
        changes.borrow_and_update().fields.clone()
    };
    // Written the way editors do: a new file renamed over the old one.
    std::fs::write(d.0.join("live.toml.tmp"), "port = 2\n").unwrap();
    std::fs::rename(d.0.join("live.toml.tmp"), d.0.join("live.toml")).unwrap();
    assert_eq!(wait_change(&mut changes), ["port"]);
    assert_eq!(live.current().port, 2);
    std::fs::write(&dotenv, "APP_LOG_LEVEL=second\n").unwrap();
    assert_eq!(wait_change(&mut changes), ["log_level"]);
    assert_eq!(live.current().log_level, "second");
    assert_eq!(live.health().refreshes, 2);
    live.shutdown();
}

#[test]
fn the_file_template_lists_every_non_secret_key_and_parses_once_uncommented() {
    let template = Svc::schema().file_template();
    println!("{template}");
    assert!(
        template.contains("# Port the server binds.\n# type: u16\n# port = 8080\n"),
        "{template}"
    );
    assert!(template.contains("\n[db]\n"), "{template}");
    assert!(template.contains("# log_level = \"info\""), "{template}");
    assert!(
        !template.contains("api_key"),
        "a secret is never in a config file:\n{template}"
    );
    // Uncommented, the keys that have a value make a file the loader reads without a problem.
    let uncommented: String = template
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(kv) if kv.contains(" = ") && !kv.ends_with(" = ") => kv,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let d = Dir::new("files-template");
    let file = d.write("t.toml", &uncommented);
    let s = loader().no_files().file(&file).load().unwrap();
    assert_eq!(
        (s.port, s.db.pool_size, s.log_level.as_str()),
        (8080, 4, "info")
    );
}

#[test]
fn env_template_and_docs_name_the_file_keys_and_the_layers_in_force() {
    let env = Profiled::schema().env_template("default");
    assert!(
        env.contains("# Order of layers: env, then tests/fixtures/files/dev.env, then Vault, then config files, then defaults."),
        "{env}"
    );
    assert!(env.contains("# or set `workers` in a config file"), "{env}");
    assert!(!env.contains("# or set `token`"), "{env}");
    let docs = Profiled::schema().markdown("default");
    assert!(docs.contains("| env var | file key | Vault |"), "{docs}");
    assert!(docs.contains("| `PF_WORKERS` | `workers` |"), "{docs}");
    assert!(docs.contains("| `PF_TOKEN` | - |"), "{docs}");
}

/// The teams keep `VAULT_ADDR` and a token in `.env` for local development: the Vault client
/// is configured from it like from the environment, against the real server.
#[test]
fn vault_settings_in_the_dotenv_file_configure_the_client() {
    let Some(v) = crate::fixtures::dev_vault::DevVault::get() else {
        return;
    };
    let base = format!("dotenv-{}", std::process::id());
    v.write(
        &format!("secret/{base}"),
        serde_json::json!({ "api_key": "from-openbao", "port": 7070 }),
    );
    let d = Dir::new("files-dotenv-vault");
    let dotenv = d.write(
        ".env",
        format!(
            "VAULT_ADDR={}\nVAULT_TOKEN={}\nVAULT_BASE_PATH={base}\n",
            v.addr, v.root
        ),
    );
    let loader = || {
        Svc::loader()
            .env_vars::<_, String, String>([])
            .no_files()
            .dotenv(&dotenv)
    };
    let s = loader().load().unwrap();
    assert_eq!(s.api_key.unwrap().expose_secret(), "from-openbao");
    assert_eq!(s.port, 7070);
    let explained = loader().explain().to_string();
    assert!(
        explained.contains(&format!("vault secret/{base}#port")),
        "{explained}"
    );
    assert!(!explained.contains(&v.root), "{explained}");
}

/// The command line reads the struct's `.env` like a load does: `migrate` moves a developer's
/// local secrets from `.env` into Vault (what the teams' migration scripts did by hand).
#[cfg(feature = "cli")]
#[test]
fn the_command_line_reads_the_dotenv_file_and_migrate_copies_from_it() {
    #[derive(Debug, VaultConfig)]
    #[config(
        env_prefix = "MIG_",
        vault(path = "dotenv-migrate/{profile}"),
        dotenv = "tests/fixtures/files/migrate.env"
    )]
    struct Migrating {
        #[config(secret)]
        #[allow(dead_code, reason = "only migrated, never read here")]
        api_key: SecretString,
    }
    let Some(v) = crate::fixtures::dev_vault::DevVault::get() else {
        return;
    };
    let profile = format!("p{}", std::process::id());
    let env = vault_config::EnvSnapshot::from_iter([
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("MIG_PROFILE", profile.as_str()),
    ]);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = vault_config::cli::run_with::<Migrating>(
        ["admin", "migrate", "--dry-run"],
        env,
        &mut out,
        &mut err,
    );
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("secret/dotenv-migrate/{profile}")),
        "{out}"
    );
    assert!(out.contains("add: api_key"), "{out}");
    assert!(!out.contains("migrate-canary") && !err.contains("migrate-canary"));
}

/// A key written under the wrong table names the field it most likely meant, and says when
/// that field is a secret, which no config file may hold.
#[test]
fn a_key_under_the_wrong_table_names_the_field_and_that_a_secret_does_not_belong_there() {
    let d = Dir::new("files-wrong-table");
    let file = d.write(
        "app.toml",
        "[db]\npool_size = 2\napi_key = \"k\"\nprot = 1\n",
    );
    let err = loader().no_files().file(&file).load().unwrap_err();
    let messages: Vec<String> = err
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::UnknownKey)
        .map(|p| p.message.clone())
        .collect();
    assert_eq!(
        messages,
        [
            format!(
                "`db.api_key` in {file} matches no field of `Svc`; did you mean `api_key`? It is a secret, which a config file may not hold: set it in env, `.env` or Vault"
            ),
            format!("`db.prot` in {file} matches no field of `Svc`; did you mean `port`?"),
        ]
    );
    assert!(!err.to_string().contains("\"k\""));
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "TPL_")]
struct Templated {
    /// How long a request may take.
    #[config(default = "30s")]
    timeout: std::time::Duration,
    #[config(default = "info")]
    log_level: Level,
}

/// Defaults written as text show in the template as a file would hold them, and the
/// uncommented template loads back to the same values.
#[test]
fn the_file_template_shows_text_defaults_of_durations_and_enums() {
    let template = Templated::schema().file_template();
    assert!(
        template.contains(
            "# How long a request may take.\n# type: std::time::Duration\n# timeout = \"30s\"\n"
        ),
        "{template}"
    );
    assert!(template.contains("# log_level = \"info\"\n"), "{template}");
    let uncommented: String = template
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|kv| kv.contains(" = "))
                .unwrap_or(l)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let d = Dir::new("files-template-text");
    let file = d.write("t.toml", uncommented.replace("\"30s\"", "\"45s\""));
    let s = Templated::loader()
        .env_vars::<_, String, String>([])
        .no_vault()
        .file(&file)
        .load()
        .unwrap();
    assert_eq!((s.timeout.as_secs(), s.log_level), (45, Level::Info));
}

/// A bad value shadowed by a higher layer loads (lazily, as it should), and `check` and
/// `explain` still warn of it: the day the higher layer goes, it would break.
#[test]
fn check_and_explain_warn_of_a_shadowed_value_that_would_not_parse() {
    let d = Dir::new("files-shadowed");
    let file = d.write(
        "production.toml",
        "log_level = \"verbose\"\ntimeout = \"30s\"\n",
    );
    let loader = || {
        Templated::loader()
            .env_vars([("TPL_LOG_LEVEL", "debug")])
            .no_vault()
            .no_files()
            .file(&file)
    };
    let s = loader().load().unwrap();
    assert_eq!(s.log_level, Level::Debug);
    let report = loader().check();
    assert!(report.ok, "{report}");
    let warnings: Vec<String> = report.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [format!(
            "shadowed value would not parse `log_level`: `verbose` from file {file} (log_level) is not a valid `Level`: unknown variant, expected one of `debug`, `info`; env TPL_LOG_LEVEL wins now, so this loads, until that goes [env TPL_LOG_LEVEL, file key log_level]"
        )]
    );
    assert!(
        report
            .to_string()
            .contains(&format!("  warning: {}", warnings[0])),
        "{report}"
    );
    let explained = loader().explain().to_string();
    assert!(
        explained.contains(&format!("file {file} (log_level) (would not parse)")),
        "{explained}"
    );
}

/// Runs `load` on a thread of its own: its error text, or `None` when it did not end within
/// 5 s (the old reader blocked forever opening a FIFO).
fn within_5_s(load: impl FnOnce() -> Option<String> + Send + 'static) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(load());
    });
    rx.recv_timeout(std::time::Duration::from_secs(5))
        .ok()
        .flatten()
}

fn mkfifo(path: &str) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {path}");
}

/// A FIFO where a config file or the `.env` file should be is refused before it is opened:
/// opening it for reading would block the load until a writer came.
#[test]
fn a_fifo_at_a_config_file_or_dotenv_path_is_refused_without_hanging() {
    let d = Dir::new("files-fifo");
    let toml = d.path("app.toml");
    let env = d.path("app.env");
    mkfifo(&toml);
    mkfifo(&env);
    let file = toml.clone();
    let err = within_5_s(move || {
        loader()
            .no_files()
            .file(&file)
            .load()
            .err()
            .map(|e| e.to_string())
    })
    .expect("the load of a FIFO config file ended with an error within 5 s");
    assert!(
        err.contains(&format!(
            "{toml} is not a regular file; refusing to read it"
        )),
        "{err}"
    );
    let dotenv = env.clone();
    let err = within_5_s(move || loader().dotenv(&dotenv).load().err().map(|e| e.to_string()))
        .expect("the load of a FIFO .env ended with an error within 5 s");
    assert!(
        err.contains(&format!("{env} is not a regular file; refusing to read it")),
        "{err}"
    );
}

/// `VAULT_CACERT` naming a FIFO or a device is a configuration problem, never a read that
/// blocks or never ends.
#[test]
fn a_fifo_or_a_device_as_vault_cacert_is_refused() {
    let d = Dir::new("files-fifo-ca");
    let fifo = d.path("ca.pem");
    mkfifo(&fifo);
    for ca in [fifo, "/dev/zero".to_owned()] {
        let shown = ca.clone();
        let err = within_5_s(move || {
            crate::fixtures::common::Settings::loader()
                .env_vars([
                    ("VAULT_ADDR", "https://127.0.0.1:9"),
                    ("VAULT_TOKEN", "t"),
                    ("VAULT_CACERT", ca.as_str()),
                ])
                .load()
                .err()
                .map(|e| e.to_string())
        })
        .unwrap_or_else(|| panic!("VAULT_CACERT={shown}: no answer within 5 s"));
        assert!(
            err.contains(&format!(
                "{shown} is not a regular file; refusing to read it"
            )),
            "{err}"
        );
    }
}
