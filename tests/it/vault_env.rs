//! The Vault layer configured by env vars alone, against the real server where one answers:
//! VAULT_* / BAO_* names, the seeds' switches (VAULT_ENABLED, VAULT_MOUNT_POINT,
//! VAULT_BASE_PATH, VAULT_KV_VERSION, VAULT_FALLBACK, VAULT_SECRETS_PATH),
//! and misconfiguration reported in the load's one report.

use serde_json::json;
use vault_config::error::ProblemKind;
use vault_config::vault::VaultClient;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy;
use dev_vault::DevVault;
use fault_proxy::FaultProxy;

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "SP_", vault(path = "ibkr"))]
struct Broker {
    #[config(secret, vault(path = "original_strategy", key = "IB_USER", aliases = ["username"]))]
    ib_user: SecretString,
    #[config(default = 4002)]
    gateway_port: u16,
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The broker's secret on the real server, under a base path of the test's own (given to the
/// load as `VAULT_BASE_PATH`): `vault-user` in KV v2 `secret/`, `kv-user` in KV v1 `kv/`.
fn seeded(v: &DevVault, test: &str) -> String {
    let base = format!("ibkr-{test}-{}", std::process::id());
    v.write(
        &format!("secret/{base}/original_strategy"),
        json!({ "username": "vault-user" }),
    );
    v.write(
        &format!("kv/{base}/original_strategy"),
        json!({ "username": "kv-user" }),
    );
    base
}

fn user(pairs: &[(&str, &str)]) -> String {
    match Broker::loader().env_vars(env(pairs)).load() {
        Ok(b) => b.ib_user.expose_secret().to_owned(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn vault_addr_and_token_are_enough() {
    let Some(v) = DevVault::get() else { return };
    let base = seeded(&v, "addr");
    let pairs = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("VAULT_BASE_PATH", base.as_str()),
    ];
    assert_eq!(user(&pairs), "vault-user");
}

/// Proxies come from the load's env snapshot like every other variable, never from the process
/// env behind its back (reqwest reads the process env unless told not to).
#[test]
fn proxies_come_from_the_snapshot_only() {
    let Some(v) = DevVault::get() else { return };
    // The child run below: a proxy in its process env, none in the snapshot, the secret
    // seeded by the parent (the fixture's own HTTP calls would use the proxy).
    let child = std::env::var("VC_PROXY_CHILD").ok();
    let base = child.unwrap_or_else(|| seeded(&v, "proxy"));
    let direct = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("VAULT_BASE_PATH", base.as_str()),
    ];
    if std::env::var_os("VC_PROXY_CHILD").is_some() {
        assert_eq!(user(&direct), "vault-user");
        return;
    }
    let proxy = FaultProxy::start(&v.addr);
    let url = proxy.url();
    let mut via = direct.to_vec();
    via.push(("HTTP_PROXY", url.as_str()));
    assert_eq!(user(&via), "vault-user");
    let through = proxy.log().len();
    assert!(through > 0, "the snapshot's HTTP_PROXY was not used");

    via.push(("NO_PROXY", "127.0.0.1"));
    assert_eq!(user(&via), "vault-user");
    assert_eq!(
        proxy.log().len(),
        through,
        "the snapshot's NO_PROXY was not honoured"
    );

    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "vault_env::proxies_come_from_the_snapshot_only"])
        .env("VC_PROXY_CHILD", &base)
        .env("HTTP_PROXY", &url)
        .env("http_proxy", &url)
        .env("ALL_PROXY", &url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "the child load failed: {stdout}{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert_eq!(
        proxy.log().len(),
        through,
        "a load given its own snapshot went through the process env's proxy"
    );
}

#[test]
fn openbao_names_work_too() {
    let Some(v) = DevVault::get() else { return };
    let base = seeded(&v, "bao");
    let pairs = [
        ("BAO_ADDR", v.addr.as_str()),
        ("BAO_TOKEN", v.root.as_str()),
        ("BAO_BASE_PATH", base.as_str()),
    ];
    assert_eq!(user(&pairs), "vault-user");
}

#[test]
fn vault_mount_point_replaces_the_mount() {
    let Some(v) = DevVault::get() else { return };
    let base = seeded(&v, "mount");
    let pairs = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_TOKEN", v.root.as_str()),
        ("VAULT_BASE_PATH", base.as_str()),
        ("VAULT_MOUNT_POINT", "kv"),
    ];
    assert_eq!(user(&pairs), "kv-user");
}

#[test]
fn vault_enabled_false_turns_the_vault_api_off() {
    let err = Broker::loader()
        .env_vars(env(&[
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_TOKEN", "t"),
            ("VAULT_ENABLED", "false"),
        ]))
        .load()
        .unwrap_err();
    let p = &err.problems()[0];
    assert_eq!(p.kind, ProblemKind::Missing);
    assert_eq!(p.sources[1].answer, vault_config::error::Answer::NoSource);
    let b = Broker::loader()
        .env_vars(env(&[
            ("VAULT_ENABLED", "false"),
            ("SP_IB_USER", "env-user"),
        ]))
        .load()
        .unwrap();
    assert_eq!(b.ib_user.expose_secret(), "env-user");
}

#[test]
fn misconfiguration_is_reported_with_every_other_problem() {
    let err = Broker::loader()
        .env_vars(env(&[
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_TOKEN", "t"),
            ("VAULT_SKIP_VERIFY", "maybe"),
            ("VAULT_KV_VERSION", "3"),
            ("VAULT_CLIENT_CERT", "/tmp/cert.pem"),
            ("VAULT_FALLBACK", "sometimes"),
            ("SP_GATEWAY_PORT", "x"),
        ]))
        .load()
        .unwrap_err();
    let config: Vec<_> = err
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::Config)
        .map(|p| p.env.as_deref().unwrap())
        .collect();
    assert_eq!(
        config,
        [
            "VAULT_FALLBACK",
            "VAULT_SKIP_VERIFY",
            "VAULT_CLIENT_CERT",
            "VAULT_KV_VERSION"
        ],
        "{err}"
    );
    assert!(
        err.problems()
            .iter()
            .any(|p| p.kind == ProblemKind::Invalid),
        "{err}"
    );
    assert!(
        err.to_string().contains(
            "vault config: VAULT_SKIP_VERIFY must be true or false [env VAULT_SKIP_VERIFY]"
        ),
        "{err}"
    );
}

#[test]
fn no_credentials_is_a_clear_problem() {
    let err = Broker::loader()
        .env_vars(env(&[("VAULT_ADDR", "http://127.0.0.1:9")]))
        .load()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("no Vault credentials: set VAULT_TOKEN"),
        "{err}"
    );
}

#[test]
fn the_token_file_in_home_is_used_when_vault_token_is_unset() {
    let home = std::env::temp_dir().join(format!("vc-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join(".vault-token"), "  file-token\n").unwrap();
    let client = VaultClient::from_env(&vault_config::EnvSnapshot::from_iter([
        ("VAULT_ADDR", "http://127.0.0.1:9"),
        ("HOME", home.to_str().unwrap()),
    ]))
    .unwrap();
    assert_eq!(
        format!("{client:?}").matches("Token([REDACTED])").count(),
        1,
        "{client:?}"
    );
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn agent_injected_files_sit_under_the_process_env() {
    let dir = std::env::temp_dir().join(format!("vc-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("broker"),
        "export SP_IB_USER=\"agent-user\"\nexport SP_GATEWAY_PORT=4100\n",
    )
    .unwrap();
    let secrets = dir.to_str().unwrap();
    let b = Broker::loader()
        .env_vars(env(&[("VAULT_SECRETS_PATH", secrets)]))
        .load()
        .unwrap();
    assert_eq!(
        (b.ib_user.expose_secret(), b.gateway_port),
        ("agent-user", 4100)
    );

    let explained = Broker::loader()
        .env_vars(env(&[
            ("VAULT_SECRETS_PATH", secrets),
            ("SP_GATEWAY_PORT", "5000"),
        ]))
        .explain();
    assert_eq!(
        explained.row("gateway_port").unwrap().source,
        "env SP_GATEWAY_PORT",
        "the process env wins"
    );
    assert_eq!(
        explained.row("ib_user").unwrap().source,
        format!(
            "file {}/broker (SP_IB_USER)",
            dir.canonicalize().unwrap().display()
        )
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn agent_files_refuse_symlink_escapes_and_oversized_files() {
    let base = std::env::temp_dir().join(format!("vc-escape-{}", std::process::id()));
    let dir = base.join("secrets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(base.join("outside"), "SP_IB_USER=stolen\n").unwrap();
    std::os::unix::fs::symlink(base.join("outside"), dir.join("evil")).unwrap();
    std::fs::write(dir.join("SP_BIG"), vec![b'x'; 2 * 1024 * 1024]).unwrap();
    let err = Broker::loader()
        .env_vars(env(&[("VAULT_SECRETS_PATH", dir.to_str().unwrap())]))
        .load()
        .unwrap_err();
    let report = err.to_string();
    assert!(
        report.contains("links outside") && report.contains("refusing to read it"),
        "{report}"
    );
    assert!(report.contains("is larger than 1048576 bytes"), "{report}");
    assert!(!report.contains("stolen"));
    std::fs::remove_dir_all(base).unwrap();
}

/// A FIFO where a file is expected would block the load forever if it were opened: agent
/// files, the secret id file and the JWT file are read only when they are regular files, and
/// an oversized credential file is refused, not read whole.
#[test]
fn fifos_and_oversized_credential_files_are_refused_not_read() {
    let base = std::env::temp_dir().join(format!("vc-fifo-{}", std::process::id()));
    let dir = base.join("secrets");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("SP_IB_USER");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let big = base.join("big-jwt");
    std::fs::write(&big, vec![b'e'; 100 * 1024]).unwrap();

    let agent = Broker::loader()
        .env_vars(env(&[("VAULT_SECRETS_PATH", dir.to_str().unwrap())]))
        .load()
        .unwrap_err()
        .to_string();
    assert!(agent.contains("is not a regular file"), "{agent}");

    for (vars, why) in [
        (
            vec![
                ("VAULT_ROLE_ID", "r"),
                ("VAULT_SECRET_ID_FILE", fifo.to_str().unwrap()),
            ],
            "is not a regular file",
        ),
        (
            vec![
                ("VAULT_ROLE", "ci"),
                ("VAULT_JWT_PATH", big.to_str().unwrap()),
            ],
            "is larger than 65536 bytes",
        ),
    ] {
        let mut all = vec![
            ("VAULT_ADDR", "http://127.0.0.1:9"),
            ("VAULT_MAX_RETRIES", "0"),
        ];
        all.extend(vars);
        let report = Broker::loader()
            .env_vars(env(&all))
            .load()
            .unwrap_err()
            .to_string();
        assert!(report.contains(why), "{report}");
    }
    std::fs::remove_dir_all(base).unwrap();
}

/// A mount that does not exist (`VAULT_MOUNT_POINT=secrets` for `secret`) with a token whose
/// policy covers the right one: "permission denied" once, with the two likely causes and the
/// setting that picks the mount.
#[test]
fn a_wrong_mount_is_denied_once_with_the_likely_causes() {
    let Some(v) = DevVault::get() else { return };
    let env = [
        ("VAULT_ADDR".to_owned(), v.addr.clone()),
        (
            "VAULT_TOKEN".to_owned(),
            v.token_with(&["dev-tests"], "10m"),
        ),
        ("VAULT_MOUNT_POINT".to_owned(), "secrets".to_owned()),
        ("APP_PROFILE".to_owned(), "production".to_owned()),
    ];
    let err = crate::fixtures::common::Settings::loader()
        .env_vars(env)
        .load()
        .unwrap_err();
    let text = err.to_string();
    println!("{text}");
    assert!(
        text.contains(
            "vault secrets/myapp/production/database#url: permission denied on secrets/myapp/production/database: the token's policies do not cover this path, or no secrets engine is mounted at `secrets/` (the mount comes from `VAULT_MOUNT_POINT` or `vault(mount = ..)`)\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("permission denied (permission denied"),
        "{text}"
    );
    assert!(err.problems().iter().any(|p| p.kind == ProblemKind::Denied));
}
