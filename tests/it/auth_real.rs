//! Every login method against the real OpenBao server (`scripts/dev-vault`), a namespace, the
//! sidecar pattern behind a real `bao proxy` with auto-auth, and the token life of one-shot
//! loads: a login token is revoked when the load is done, a static token never.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vault_config::error::ProblemKind;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy;
use dev_vault::DevVault;

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "AR_", vault(path = "auth-real/{profile}"))]
struct App {
    #[config(secret, vault(path = "db", key = "password"))]
    db_password: SecretString,
}

/// A profile of this test's own, its secret written in the root namespace.
fn seeded(v: &DevVault, test: &str) -> (String, String) {
    let profile = crate::fixtures::unique(test);
    let value = format!("pw-{profile}");
    v.write(
        &format!("secret/auth-real/{profile}/db"),
        serde_json::json!({ "password": value }),
    );
    (profile, value)
}

fn env(pairs: &[(&str, &str)], profile: &str) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .chain([("AR_PROFILE".to_owned(), profile.to_owned())])
        .collect()
}

fn loads_with(v: &DevVault, test: &str, pairs: &[(&str, &str)]) {
    let (profile, value) = seeded(v, test);
    match App::loader().env_vars(env(pairs, &profile)).load() {
        Ok(app) => assert_eq!(app.db_password.expose_secret(), value),
        Err(e) => panic!("{test}: {e}"),
    }
}

#[test]
fn userpass_login_with_a_password_or_a_password_file() {
    let Some(v) = DevVault::get() else { return };
    loads_with(
        &v,
        "userpass",
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_USERNAME", &v.username),
            ("VAULT_PASSWORD", &v.password),
        ],
    );
    let file = std::env::temp_dir().join(format!("vc-userpass-{}", std::process::id()));
    std::fs::write(&file, format!("{}\n", v.password)).unwrap();
    loads_with(
        &v,
        "userpass-file",
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_USERNAME", &v.username),
            ("VAULT_PASSWORD_FILE", file.to_str().unwrap()),
        ],
    );
    std::fs::remove_file(file).unwrap();
}

#[test]
fn a_wrong_password_is_a_login_problem_without_the_password() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "userpass-bad");
    let pairs = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_USERNAME", v.username.as_str()),
        ("VAULT_PASSWORD", "canary-wrong-password-51f0"),
    ];
    let err = App::loader()
        .env_vars(env(&pairs, &profile))
        .load()
        .unwrap_err();
    let report = err.to_string();
    assert!(report.contains("login with userpass failed"), "{report}");
    assert!(!report.contains("canary-wrong-password"), "{report}");
}

#[test]
fn tls_certificate_login() {
    let Some(v) = DevVault::get() else { return };
    loads_with(
        &v,
        "cert",
        &[
            ("VAULT_ADDR", &v.tls_addr),
            ("VAULT_CACERT", &v.cacert),
            ("VAULT_AUTH_METHOD", "cert"),
            ("VAULT_CLIENT_CERT", &v.client_cert),
            ("VAULT_CLIENT_KEY", &v.client_key),
        ],
    );
}

#[test]
fn cert_auth_without_a_client_certificate_is_one_configuration_problem() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "cert-missing");
    let pairs = [
        ("VAULT_ADDR", v.tls_addr.as_str()),
        ("VAULT_CACERT", v.cacert.as_str()),
        ("VAULT_AUTH_METHOD", "cert"),
    ];
    let err = App::loader()
        .env_vars(env(&pairs, &profile))
        .load()
        .unwrap_err();
    let config: Vec<_> = err
        .problems()
        .iter()
        .filter(|p| p.kind == ProblemKind::Config)
        .collect();
    assert_eq!(config.len(), 1, "{err}");
    assert!(
        config[0]
            .message
            .contains("VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"),
        "{err}"
    );
}

#[test]
fn jwt_login_with_a_locally_minted_token() {
    let Some(v) = DevVault::get() else { return };
    loads_with(
        &v,
        "jwt",
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_ROLE", "demo"),
            ("VAULT_JWT_PATH", &v.jwt_path),
        ],
    );
}

#[test]
fn kubernetes_login_through_a_token_review() {
    let Some(v) = DevVault::get() else { return };
    loads_with(
        &v,
        "k8s",
        &[
            ("VAULT_ADDR", &v.addr),
            ("VAULT_ROLE", "demo"),
            ("VAULT_K8S_TOKEN_PATH", &v.k8s_token_path),
        ],
    );
}

#[test]
fn secrets_and_login_in_a_namespace_or_login_in_the_root() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "ns");
    let value = format!("ns-{profile}");
    v.write_in(
        Some(&v.namespace),
        &format!("secret/auth-real/{profile}/db"),
        serde_json::json!({ "password": value }),
    );
    // Both in the namespace: its own AppRole.
    let inside = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_NAMESPACE", v.namespace.as_str()),
        ("VAULT_ROLE_ID", v.ns_role_id.as_str()),
        ("VAULT_SECRET_ID", v.ns_secret_id.as_str()),
    ];
    let app = App::loader()
        .env_vars(env(&inside, &profile))
        .load()
        .unwrap();
    assert_eq!(app.db_password.expose_secret(), value);
    // Secrets in the namespace, login at the root's AppRole (VAULT_AUTH_NAMESPACE empty).
    let split = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_NAMESPACE", v.namespace.as_str()),
        ("VAULT_AUTH_NAMESPACE", ""),
        ("VAULT_ROLE_ID", v.role_id.as_str()),
        ("VAULT_SECRET_ID", v.secret_id.as_str()),
    ];
    let app = App::loader()
        .env_vars(env(&split, &profile))
        .load()
        .unwrap();
    assert_eq!(app.db_password.expose_secret(), value);
}

#[test]
fn no_credentials_and_no_proxy_is_reported_once() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "nocreds");
    let err = App::loader()
        .env_vars(env(
            &[("VAULT_ADDR", &v.addr), ("HOME", "/nonexistent")],
            &profile,
        ))
        .load()
        .unwrap_err();
    let mentions = err.to_string().matches("no Vault credentials").count();
    assert_eq!(mentions, 1, "{err}");
    // The cause comes first, before the field it leaves without a value.
    assert_eq!(err.problems()[0].kind, ProblemKind::Config, "{err}");
}

/// Tokens alive on the server before and after 100 one-shot AppRole loads in a process that
/// goes on: each load returns before its token is revoked, and the revocation follows on the
/// library's runtime. A static token is used, never revoked.
#[test]
fn one_shot_loads_leave_no_token_behind() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "revoke");
    let role = crate::fixtures::unique("revoke-count");
    let (role_id, secret_id) = v.approle(&role, serde_json::json!({ "token_ttl": "1h" }));
    let before = v.tokens_of_role(&role);
    let pairs = [
        ("VAULT_ADDR", v.addr.as_str()),
        ("VAULT_ROLE_ID", role_id.as_str()),
        ("VAULT_SECRET_ID", secret_id.as_str()),
    ];
    for _ in 0..100 {
        App::loader()
            .env_vars(env(&pairs, &profile))
            .load()
            .unwrap();
    }
    assert!(vault_config::vault::blocking::wait_for_give_backs(
        Duration::from_secs(10)
    ));
    let after = v.tokens_of_role(&role);
    println!("tokens of the role alive: before {before}, after 100 loads {after}");
    assert_eq!((before, after), (0, 0));

    let token = v.token_with(&["dev-tests"], "1h");
    App::loader()
        .env_vars(env(
            &[("VAULT_ADDR", &v.addr), ("VAULT_TOKEN", &token)],
            &profile,
        ))
        .load()
        .unwrap();
    assert!(vault_config::vault::blocking::wait_for_give_backs(
        Duration::from_secs(10)
    ));
    let (status, _) =
        dev_vault::request(&v.addr, &token, None, "GET", "auth/token/lookup-self", None);
    assert_eq!(status, 200, "a static token is never revoked");
}

/// A process that exits right after its load, as a one-shot job does: the load returns before
/// its token is revoked, and the process waits for the revocation at exit. The child is this
/// test binary running [`load_then_exit`] with the role's credentials in its environment; the
/// tokens of the role are counted the moment it has exited.
#[test]
fn a_process_that_exits_right_after_its_load_leaves_no_token() {
    let Some(v) = DevVault::get() else { return };
    let (profile, _) = seeded(&v, "exit");
    let role = crate::fixtures::unique("exit-count");
    let (role_id, secret_id) = v.approle(&role, serde_json::json!({ "token_ttl": "1h" }));
    for run in 0..5 {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "auth_real::load_then_exit"])
            .env_clear()
            .envs(env(
                &[
                    ("VAULT_ADDR", v.addr.as_str()),
                    ("VAULT_ROLE_ID", role_id.as_str()),
                    ("VAULT_SECRET_ID", secret_id.as_str()),
                    ("LOAD_THEN_EXIT", "1"),
                ],
                &profile,
            ))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}"
        );
        let alive = v.tokens_of_role(&role);
        println!("run {run}: tokens of the role alive right after the process exited: {alive}");
        assert_eq!(alive, 0);
    }
}

/// The child of [`a_process_that_exits_right_after_its_load_leaves_no_token`]: one load from
/// the process environment, and the process exits.
#[test]
#[ignore = "a child process of a_process_that_exits_right_after_its_load_leaves_no_token"]
fn load_then_exit() {
    if std::env::var_os("LOAD_THEN_EXIT").is_some() {
        App::load().unwrap();
    }
}

/// `bao proxy` with AppRole auto-auth and `use_auto_auth_token = "force"`, on a port of its own.
struct BaoProxy {
    child: Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl BaoProxy {
    /// Started on a port that was free a moment ago: if another test took it meanwhile, the
    /// proxy exits and is started again on another port (three tries); a failure shows the
    /// tail of the proxy's log.
    fn start(v: &DevVault) -> BaoProxy {
        let dir = std::env::temp_dir().join(format!("vc-bao-proxy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("role-id"), &v.role_id).unwrap();
        std::fs::write(dir.join("secret-id"), &v.secret_id).unwrap();
        for _ in 0..3 {
            if let Some(proxy) = Self::try_start(v, &dir) {
                return proxy;
            }
        }
        let log = std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        panic!(
            "bao proxy did not start; its log ends with:\n{}",
            tail.join("\n")
        );
    }

    fn try_start(v: &DevVault, dir: &std::path::Path) -> Option<BaoProxy> {
        let port = dev_vault::closed_port();
        let config = format!(
            r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{dir}/role-id"
      secret_id_file_path = "{dir}/secret-id"
      remove_secret_id_file_after_reading = false
    }}
  }}
}}
api_proxy {{ use_auto_auth_token = "force" }}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
}}
"#,
            addr = v.addr,
            dir = dir.display()
        );
        std::fs::write(dir.join("proxy.hcl"), config).unwrap();
        let child = Command::new(&v.bin)
            .arg("proxy")
            .arg(format!("-config={}", dir.join("proxy.hcl").display()))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("proxy.log")).unwrap())
            .spawn()
            .unwrap();
        let mut proxy = BaoProxy {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        };
        // Ready when it answers a request with its auto-auth token.
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if proxy.child.try_wait().ok().flatten().is_some() {
                break;
            }
            let listening = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok();
            if listening
                && dev_vault::request(&proxy.addr, "", None, "GET", "auth/token/lookup-self", None)
                    .0
                    == 200
            {
                return Some(proxy);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Not dropped: `Drop` would remove the directory whose log `start` may still show.
        let _ = proxy.child.kill();
        let _ = proxy.child.wait();
        std::mem::forget(proxy);
        None
    }
}

impl Drop for BaoProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The sidecar pattern: the app has `VAULT_AGENT_ADDR` and no credentials; its requests carry
/// no token (a recording proxy sits between the app and `bao proxy`), and the proxy's own
/// token reads the secrets. Nothing is revoked: the token is the proxy's.
#[test]
fn behind_bao_proxy_with_auto_auth_requests_carry_no_token() {
    let Some(v) = DevVault::get() else { return };
    let (profile, value) = seeded(&v, "proxy");
    let bao_proxy = BaoProxy::start(&v);
    let recorder = fault_proxy::FaultProxy::start(&bao_proxy.addr);
    let url = recorder.url();
    let app = App::loader()
        .env_vars(env(
            &[("VAULT_AGENT_ADDR", &url), ("HOME", "/nonexistent")],
            &profile,
        ))
        .load()
        .unwrap();
    assert_eq!(app.db_password.expose_secret(), value);
    let seen = recorder.log();
    assert!(!seen.is_empty());
    for request in &seen {
        assert!(
            request.request.header("x-vault-token").is_none(),
            "{} carried a token",
            request.request.path
        );
        assert!(
            !request.request.path.contains("revoke"),
            "the proxy's token must not be revoked"
        );
    }
    // Still the proxy's token after the load.
    let (status, _) = dev_vault::request(
        &bao_proxy.addr,
        "",
        None,
        "GET",
        "auth/token/lookup-self",
        None,
    );
    assert_eq!(status, 200);
}
