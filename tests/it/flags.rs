//! Command-line flags (the `clap` feature): the top layer, `--help` from the struct, explain
//! naming the flag, a secret refused as a flag, an unknown flag with a did-you-mean, the
//! app's own flags and subcommands beside the settings'.

use vault_config::error::ProblemKind;
use vault_config::testing::MockVault;
use vault_config::{SecretString, VaultConfig};

const CANARY: &str = "canary-flag-secret";

#[derive(Debug, serde::Deserialize, PartialEq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    Info,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "APP_", vault(path = "svc"))]
struct Svc {
    /// Port the HTTP server binds.
    #[config(default = 8080, vault(key = "port"))]
    port: u16,
    /// How much to log.
    #[config(default = "info")]
    log_level: Level,
    /// Serve the debug endpoints.
    #[config(default)]
    debug: bool,
    #[config(nested)]
    db: Db,
    /// The database password.
    #[config(secret)]
    db_password: Option<SecretString>,
}

#[derive(Debug, VaultConfig)]
struct Db {
    /// Connections in the pool.
    #[config(default = 4)]
    pool_size: u32,
}

fn args(line: &[&str]) -> Vec<String> {
    std::iter::once("svc")
        .chain(line.iter().copied())
        .map(str::to_owned)
        .collect()
}

fn loader(line: &[&str]) -> vault_config::Loader<Svc> {
    Svc::loader()
        .env_vars([("APP_PORT", "1"), ("APP_DB__POOL_SIZE", "2")])
        .vault(MockVault::new().secret("secret/svc", [("port", "3")]))
        .args(args(line))
}

#[test]
fn flags_win_over_every_layer_and_explain_names_them() {
    let s = loader(&[
        "--port",
        "9000",
        "--db-pool-size=32",
        "--log-level",
        "debug",
        "--debug",
    ])
    .load()
    .unwrap();
    assert_eq!(
        (s.port, s.db.pool_size, s.log_level, s.debug),
        (9000, 32, Level::Debug, true)
    );
    assert!(s.db_password.is_none());
    let explained = loader(&["--port", "9000"]).explain();
    let order: Vec<&str> = explained.order.iter().map(|l| l.name()).collect();
    assert_eq!(order, ["flag", "env", "vault", "default"]);
    let row = explained.row("port").unwrap();
    assert_eq!(row.source, "flag --port");
    assert_eq!(
        row.overridden,
        ["env APP_PORT", "vault secret/svc#port", "default"]
    );
    // Without flags, env decides again.
    let s = loader(&[]).load().unwrap();
    assert_eq!((s.port, s.db.pool_size, s.debug), (1, 2, false));
    let s = loader(&["--debug=false"]).load().unwrap();
    assert!(!s.debug);
}

#[test]
fn a_bad_flag_value_is_one_problem_naming_the_flag() {
    let err = loader(&["--port", "ninety"]).load().unwrap_err();
    let problem = err.for_field("port").next().unwrap();
    assert_eq!(problem.kind, ProblemKind::Invalid);
    assert!(problem.to_string().contains("flag --port"), "{problem}");
}

#[test]
fn a_secret_is_never_taken_from_a_flag_nor_shown() {
    for line in [
        &["--db-password", CANARY][..],
        &[&format!("--db-password={CANARY}")],
    ] {
        let err = loader(line).load().unwrap_err();
        let problem = err.for_field("db_password").next().unwrap();
        assert!(
            problem.message.contains("APP_DB_PASSWORD") && problem.message.contains("`ps`"),
            "{problem}"
        );
        for shown in [
            err.to_string(),
            format!("{err:?}"),
            err.to_json().to_string(),
            loader(line).explain().to_string(),
        ] {
            assert!(!shown.contains(CANARY), "{shown}");
        }
    }
    let help = Svc::command().render_long_help().to_string();
    assert!(!help.contains("db-password"), "{help}");
}

#[test]
fn an_unknown_flag_is_a_problem_with_a_did_you_mean_and_no_value() {
    let err = loader(&["--prot=9000"]).load().unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("unknown flag `--prot`; did you mean `--port`?"),
        "{shown}"
    );
    assert!(!shown.contains("9000"), "{shown}");
    let err = loader(&["stray-canary-value"]).load().unwrap_err();
    assert!(!err.to_string().contains("canary"), "{err}");
    let err = loader(&["--port"]).load().unwrap_err();
    assert!(err.to_string().contains("`--port`"), "{err}");
}

#[test]
fn help_comes_from_the_doc_text_env_var_and_default() {
    let help = Svc::command().render_help().to_string();
    println!("{help}");
    for line in [
        "--port <U16>",
        "Port the HTTP server binds. [env: APP_PORT] [default: 8080]",
        "--db-pool-size <U32>",
        "Connections in the pool. [env: APP_DB__POOL_SIZE] [default: 4]",
        "--log-level <LEVEL>",
        "[default: info]",
        "--debug[=<BOOL>]",
    ] {
        assert!(help.contains(line), "{line:?} in:\n{help}");
    }
}

#[test]
fn the_apps_own_flags_and_subcommands_live_beside_the_settings() {
    let command = Svc::augment_args(
        clap::Command::new("svc")
            .arg(
                clap::Arg::new("dry-run")
                    .long("dry-run")
                    .action(clap::ArgAction::SetTrue),
            )
            .subcommand(clap::Command::new("migrate")),
    );
    let matches = command
        .try_get_matches_from(["svc", "--dry-run", "--port", "7000", "migrate"])
        .unwrap();
    assert!(matches.get_flag("dry-run"));
    assert_eq!(matches.subcommand_name(), Some("migrate"));
    let s = Svc::loader()
        .env_vars::<_, String, String>([])
        .no_vault()
        .arg_matches(&matches)
        .load()
        .unwrap();
    assert_eq!(s.port, 7000);
}
