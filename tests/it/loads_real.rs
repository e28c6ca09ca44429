//! Loads of whole settings structs against the real OpenBao server from `scripts/dev-vault`
//! (KV v2 at `secret/`, token and AppRole auth): env over Vault, fallback, denials, profiles.
//! (`vault_real.rs` is what the client sees of the server, below a load.) Under CI, or with
//! `DEV_VAULT_REQUIRED=1`, a missing server fails these tests instead of skipping them.

use vault_config::error::{Answer, ProblemKind};
use vault_config::vault::VaultClient;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::unique;
use dev_vault::{DevVault, closed_port};
/// An env with this test's profile added.
fn with_profile(mut env: Vec<(String, String)>, profile: &str) -> Vec<(String, String)> {
    env.push(("IT_PROFILE".into(), profile.into()));
    env
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "IT_", vault(path = "it/{profile}"))]
struct App {
    #[config(secret, vault(path = "database", key = "url"))]
    database_url: SecretString,
    #[config(secret, vault(path = "broker", key = "IB_USER", aliases = ["username"]))]
    broker_user: SecretString,
    #[config(default = 8080, vault(path = "service", key = "port"))]
    port: u16,
}

fn seed_app(v: &DevVault, profile: &str) {
    v.write(
        &format!("secret/it/{profile}/database"),
        serde_json::json!({ "url": "postgres://real/db" }),
    );
    v.write(
        &format!("secret/it/{profile}/broker"),
        serde_json::json!({ "username": "legacy-user" }),
    );
    v.write(
        &format!("secret/it/{profile}/service"),
        serde_json::json!({ "port": "9443" }),
    );
}

#[test]
fn token_auth_reads_secrets_from_env_vars_only() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("token");
    seed_app(&v, &profile);
    let app = App::loader()
        .env_vars(with_profile(v.token_env(), &profile))
        .load()
        .unwrap();
    assert_eq!(app.database_url.expose_secret(), "postgres://real/db");
    assert_eq!(
        app.broker_user.expose_secret(),
        "legacy-user",
        "alias `username` used"
    );
    assert_eq!(app.port, 9443, "a string in Vault parses into u16");
}

#[test]
fn approle_auth_reads_secrets_from_env_vars_only() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("approle");
    seed_app(&v, &profile);
    let app = App::loader()
        .env_vars(with_profile(v.approle_env(), &profile))
        .load()
        .unwrap();
    assert_eq!(app.database_url.expose_secret(), "postgres://real/db");
}

#[test]
fn a_wrong_secret_id_is_a_login_problem_without_the_credentials() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("badlogin");
    let mut env = with_profile(v.approle_env(), &profile);
    env[2].1 = "not-the-secret-id-canary".into();
    let err = App::loader().env_vars(env).load().unwrap_err();
    let report = err.to_string();
    assert!(report.contains("login with approle failed"), "{report}");
    assert!(
        !report.contains("not-the-secret-id-canary") && !report.contains(&v.role_id),
        "{report}"
    );
    // Vault said no: a credential problem, not an outage.
    assert!(
        err.problems().iter().all(|p| p.kind == ProblemKind::Denied),
        "{report}"
    );
}

#[test]
fn many_paths_are_read_in_one_load() {
    let Some(v) = DevVault::get() else { return };
    let client = VaultClient::builder()
        .address(&v.addr)
        .token(&v.root)
        .build()
        .unwrap();
    let profile = unique("many");
    let paths: Vec<_> = (0..40)
        .map(|i| {
            v.write(
                &format!("secret/many/{profile}/p{i}"),
                serde_json::json!({ "i": i }),
            );
            vault_config::source::VaultPath::new("secret", format!("many/{profile}/p{i}"))
        })
        .collect();
    let answers = vault_config::vault::blocking::block_on(async move {
        vault_config::source::SecretSource::fetch(&client, &paths).await
    })
    .unwrap();
    assert_eq!(answers.len(), 40);
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(
            answer.as_ref().unwrap().get("i"),
            Some(&serde_json::json!(i))
        );
    }
}

#[test]
fn a_denied_token_fails_the_load_naming_each_path() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("denied");
    seed_app(&v, &profile);
    let mut env = with_profile(v.token_env(), &profile);
    env[1].1 = "revoked-or-bogus".into();
    let err = App::loader().env_vars(env).load().unwrap_err();
    let denied: Vec<_> = err
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::Denied)
        .collect();
    assert_eq!(denied.len(), 3, "{err}");
    assert!(
        denied[0]
            .message
            .contains(&format!("secret/it/{profile}/database")),
        "{err}"
    );
}

#[test]
fn a_missing_path_is_reported_and_a_default_still_applies() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("missing");
    v.write(
        &format!("secret/it/{profile}/broker"),
        serde_json::json!({ "IB_USER": "u" }),
    );
    let err = App::loader()
        .env_vars(with_profile(v.token_env(), &profile))
        .load()
        .unwrap_err();
    let problems: Vec<_> = err
        .problems()
        .iter()
        .map(|p| (p.kind, p.field.as_deref()))
        .collect();
    assert_eq!(
        problems,
        [(ProblemKind::Missing, Some("database_url"))],
        "{err}"
    );
    assert_eq!(err.problems()[0].sources[1].answer, Answer::PathNotFound);
}

#[test]
fn env_overrides_the_real_vault() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("override");
    seed_app(&v, &profile);
    let mut env = with_profile(v.token_env(), &profile);
    env.push(("IT_DATABASE_URL".into(), "postgres://from-env".into()));
    let explained = App::loader().env_vars(env).explain();
    let row = explained.row("database_url").unwrap();
    assert_eq!(row.source, "env IT_DATABASE_URL");
    assert_eq!(
        row.overridden,
        [format!("vault secret/it/{profile}/database#url")]
    );
}

#[test]
fn fallback_mode_loads_from_env_when_vault_is_unreachable() {
    // A closed port: bind, note the port, drop the listener.
    let port = closed_port();
    let env = |fallback: bool| {
        let mut env = vec![
            ("VAULT_ADDR".to_owned(), format!("http://127.0.0.1:{port}")),
            ("VAULT_TOKEN".to_owned(), "t".to_owned()),
            ("VAULT_MAX_RETRIES".to_owned(), "0".to_owned()),
            ("IT_DATABASE_URL".to_owned(), "postgres://env".to_owned()),
            ("IT_BROKER_USER".to_owned(), "env-user".to_owned()),
        ];
        if fallback {
            env.push(("VAULT_FALLBACK".into(), "env".into()));
        }
        env
    };
    let err = App::loader().env_vars(env(false)).load().unwrap_err();
    assert_eq!(err.problems()[0].kind, ProblemKind::Unavailable, "{err}");
    assert!(err.to_string().contains("cannot reach vault"), "{err}");
    let app = App::loader().env_vars(env(true)).load().unwrap();
    assert_eq!(
        (app.database_url.expose_secret(), app.port),
        ("postgres://env", 8080)
    );
}

#[test]
fn health_reports_connected_against_the_real_server() {
    let Some(v) = DevVault::get() else { return };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let good = VaultClient::builder()
        .address(&v.addr)
        .token(&v.root)
        .build()
        .unwrap();
    let health = rt.block_on(good.health());
    assert!(
        health.vault_enabled && health.vault_connected && health.authenticated,
        "{health:?}"
    );
    assert_eq!(health.sealed, Some(false));
    let bad = VaultClient::builder()
        .address(&v.addr)
        .token("bogus")
        .build()
        .unwrap();
    let health = rt.block_on(bad.health());
    assert!(
        !health.vault_connected && !health.authenticated,
        "{health:?}"
    );
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(
        (
            json["vault_enabled"].clone(),
            json["vault_connected"].clone()
        ),
        (true.into(), false.into())
    );
}

#[tokio::test(flavor = "current_thread")]
async fn load_inside_a_current_thread_runtime_with_the_real_client() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("rt-current");
    seed_app(&v, &profile);
    let app = App::loader()
        .env_vars(with_profile(v.token_env(), &profile))
        .load()
        .unwrap();
    assert_eq!(app.port, 9443);
    let app = App::loader()
        .env_vars(with_profile(v.approle_env(), &profile))
        .load_async()
        .await
        .unwrap();
    assert_eq!(app.port, 9443);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_inside_a_multi_thread_runtime_with_the_real_client() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("rt-multi");
    seed_app(&v, &profile);
    let app = App::loader()
        .env_vars(with_profile(v.token_env(), &profile))
        .load()
        .unwrap();
    assert_eq!(app.broker_user.expose_secret(), "legacy-user");
}

#[test]
fn a_client_built_in_code_is_accepted_by_the_loader() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("builder");
    seed_app(&v, &profile);
    let client = VaultClient::builder()
        .address(&v.addr)
        .approle(&v.role_id, &v.secret_id)
        .build()
        .unwrap();
    // No VAULT_* in the env: the client comes from code.
    let app = App::loader()
        .env_vars([("IT_PROFILE", profile.as_str())])
        .vault(client.clone())
        .load()
        .unwrap();
    assert_eq!(app.database_url.expose_secret(), "postgres://real/db");
    // The same client serves a second load with its pooled connections and token.
    assert!(
        App::loader()
            .env_vars([("IT_PROFILE", profile.as_str())])
            .vault(client)
            .load()
            .is_ok()
    );
}

/// Fallback covers Vault being unreachable (the test above), never Vault saying no: with
/// `VAULT_FALLBACK=env` and every value in env, a refused AppRole login and a 403 on the path
/// still fail the load, naming the field.
#[test]
fn fallback_does_not_cover_a_refused_login_or_a_denied_path() {
    let Some(v) = DevVault::get() else { return };
    let profile = unique("fallback-no");
    seed_app(&v, &profile);
    let in_env = [
        ("VAULT_FALLBACK", "env"),
        ("IT_BROKER_USER", "env-user"),
        ("IT_PROFILE", profile.as_str()),
    ];
    let refused = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_ROLE_ID", v.role_id.as_str()),
        ("VAULT_SECRET_ID", "wrong-secret-id"),
    ];
    let err = App::loader()
        .env_vars(in_env.iter().chain(&refused).copied())
        .load()
        .unwrap_err();
    let p = err.for_field("database_url").next().unwrap();
    assert_eq!(p.kind, ProblemKind::Denied, "{err}");
    assert!(
        err.to_string().contains("login with approle failed"),
        "{err}"
    );

    let no_access = v.token_with(&["default"], "1h");
    let denied = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", no_access.as_str()),
    ];
    let err = App::loader()
        .env_vars(in_env.iter().chain(&denied).copied())
        .load()
        .unwrap_err();
    let p = err.for_field("database_url").next().unwrap();
    assert_eq!(p.kind, ProblemKind::Denied, "{err}");
}
