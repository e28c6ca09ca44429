//! The real OpenBao server that `scripts/test` starts (`scripts/dev-vault`), for the tests
//! that need one. Absent, those tests skip — except under CI or with `DEV_VAULT_REQUIRED`,
//! where an absent server fails them.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::collections::HashMap;

/// Connection details of the dev server, from `DEV_VAULT_*` (see `scripts/dev-vault`).
pub struct DevVault {
    /// Plain HTTP address.
    pub addr: String,
    /// TLS address (the same server), with `cacert` as its CA and `client_cert`/`client_key`
    /// registered for cert auth.
    pub tls_addr: String,
    pub cacert: String,
    pub client_cert: String,
    pub client_key: String,
    /// The root token (no TTL).
    pub root: String,
    /// AppRole `vault-config-demo` (policy `dev-tests`: read/list of `secret/` and `kv/`).
    pub role_id: String,
    pub secret_id: String,
    /// AppRole `short-lived`: the same policy, tokens of 6 s renewable up to 1 h.
    pub short_role_id: String,
    pub short_secret_id: String,
    /// userpass user with the same policy.
    pub username: String,
    pub password: String,
    /// A JWT for role `demo` of `auth/jwt`, and a service-account JWT for role `demo` of
    /// `auth/kubernetes`.
    pub jwt_path: String,
    pub k8s_token_path: String,
    /// The namespace `team-a` with its own KV v2 at `secret/` and AppRole role `ns-demo`.
    pub namespace: String,
    pub ns_role_id: String,
    pub ns_secret_id: String,
    /// The server binary (`bao`), which also runs as a proxy.
    pub bin: String,
}

impl DevVault {
    /// The running dev server, or `None` to skip.
    pub fn get() -> Option<DevVault> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter_map(|(k, v)| Some((k.strip_prefix("DEV_VAULT_")?.to_owned(), v)))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if !vars.contains_key("ADDR") {
            let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
            if var("CI").is_some() || var("DEV_VAULT_REQUIRED").is_some() {
                panic!(
                    "the dev OpenBao server is not running: run `scripts/dev-vault start` and export .dev-vault/env"
                )
            }
            eprintln!("skipped: no dev OpenBao server (scripts/test starts one)");
            return None;
        }
        Some(DevVault::from_vars(&vars))
    }

    /// Reads the details of a server from the `env` file `scripts/dev-vault` wrote.
    pub fn from_env_file(path: &std::path::Path) -> DevVault {
        let text = std::fs::read_to_string(path).unwrap();
        let vars: HashMap<String, String> = text
            .lines()
            .filter_map(|line| {
                let (k, v) = line.trim_start_matches("export ").split_once('=')?;
                Some((k.strip_prefix("DEV_VAULT_")?.to_owned(), v.to_owned()))
            })
            .collect();
        DevVault::from_vars(&vars)
    }

    fn from_vars(vars: &HashMap<String, String>) -> DevVault {
        let var = |name: &str| {
            vars.get(name)
                .cloned()
                .unwrap_or_else(|| panic!("DEV_VAULT_{name} is not set: restart scripts/dev-vault"))
        };
        DevVault {
            addr: var("ADDR"),
            tls_addr: var("TLS_ADDR"),
            cacert: var("CACERT"),
            client_cert: var("CLIENT_CERT"),
            client_key: var("CLIENT_KEY"),
            root: var("TOKEN"),
            role_id: var("ROLE_ID"),
            secret_id: var("SECRET_ID"),
            short_role_id: var("SHORT_ROLE_ID"),
            short_secret_id: var("SHORT_SECRET_ID"),
            username: var("USERNAME"),
            password: var("PASSWORD"),
            jwt_path: var("JWT_PATH"),
            k8s_token_path: var("K8S_TOKEN_PATH"),
            namespace: var("NAMESPACE"),
            ns_role_id: var("NS_ROLE_ID"),
            ns_secret_id: var("NS_SECRET_ID"),
            bin: var("BIN"),
        }
    }

    /// Writes a secret at `mount/path` with the root token: KV v2 under `secret/` (the
    /// `data/` envelope added here), KV v1 under `kv/`.
    pub fn write(&self, path: &str, data: serde_json::Value) {
        self.write_in(None, path, data);
    }

    /// [`write`](Self::write) in a namespace.
    pub fn write_in(&self, namespace: Option<&str>, path: &str, data: serde_json::Value) {
        let (api_path, body) = match path.strip_prefix("secret/") {
            Some(rest) => (
                format!("secret/data/{rest}"),
                serde_json::json!({ "data": data }),
            ),
            None => (path.to_owned(), data),
        };
        let (status, body) = self.call_in(namespace, "POST", &api_path, Some(&body));
        assert!(
            (200..300).contains(&status),
            "writing {path}: {status} {body}"
        );
    }

    /// A root-token call; the status and the JSON body (`null` when empty).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.call_in(None, method, path, body)
    }

    /// A root-token call in a namespace.
    pub fn call_in(
        &self,
        namespace: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        request(&self.addr, &self.root, namespace, method, path, body)
    }

    /// Loads an ACL policy.
    pub fn put_policy(&self, name: &str, hcl: &str) {
        let (status, body) = self.call(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            Some(&serde_json::json!({ "policy": hcl })),
        );
        assert!(
            (200..300).contains(&status),
            "policy {name}: {status} {body}"
        );
    }

    /// A new token holding `policies` and `default` (lookup, renewal), with a TTL.
    pub fn token_with(&self, policies: &[&str], ttl: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "auth/token/create",
            Some(&serde_json::json!({ "policies": policies, "ttl": ttl })),
        );
        assert_eq!(status, 200, "token create: {body}");
        body["auth"]["client_token"].as_str().unwrap().to_owned()
    }

    /// `VAULT_ADDR` and the root `VAULT_TOKEN`.
    pub fn token_env(&self) -> Vec<(String, String)> {
        vec![
            ("VAULT_ADDR".into(), self.addr.clone()),
            ("VAULT_TOKEN".into(), self.root.clone()),
        ]
    }

    /// `VAULT_ADDR` and the demo AppRole's `VAULT_ROLE_ID` / `VAULT_SECRET_ID`.
    pub fn approle_env(&self) -> Vec<(String, String)> {
        vec![
            ("VAULT_ADDR".into(), self.addr.clone()),
            ("VAULT_ROLE_ID".into(), self.role_id.clone()),
            ("VAULT_SECRET_ID".into(), self.secret_id.clone()),
        ]
    }
}

/// `POST /v1/{path}` with a token and a JSON body; the status.
pub fn post(addr: &str, token: &str, path: &str, body: &serde_json::Value) -> u16 {
    request(addr, token, None, "POST", path, Some(body)).0
}

/// One request with a token (none when empty); the status and the JSON body (`null` when
/// empty).
pub fn request(
    addr: &str,
    token: &str,
    namespace: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let ns: Vec<(&str, &str)> = namespace
        .map(|ns| ("X-Vault-Namespace", ns))
        .into_iter()
        .collect();
    request_with_headers(addr, token, &ns, method, path, body)
}

/// [`request`] with more headers (`X-Vault-Wrap-TTL`, `X-Vault-Namespace`). Runs on a thread
/// of its own so that async tests can call it.
pub fn request_with_headers(
    addr: &str,
    token: &str,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let url = format!("{addr}/v1/{path}");
    let token = token.to_owned();
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let body = body.map(serde_json::Value::to_string);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut req = reqwest::Client::new()
                .request(method, url)
                .header("X-Vault-Request", "true");
            if !token.is_empty() {
                req = req.header("X-Vault-Token", token);
            }
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(body) = body {
                req = req.body(body);
            }
            let reply = req.send().await.unwrap();
            let status = reply.status().as_u16();
            let text = reply.text().await.unwrap();
            let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
            (status, json)
        })
    })
    .join()
    .unwrap()
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Proves the `policy` command's output for `T`: loaded into the server, a token holding only
/// it (and `default`, which covers token lookup and renewal) passes `check`, `load()` and live
/// settings through a renewal and metadata reads, and is refused one path outside it.
/// `env` holds the app's own variables (profile and so on), without any `VAULT_*`.
#[cfg(feature = "cli")]
pub fn prove_policy<T>(v: &DevVault, name: &str, profile: &str, env: &[(String, String)])
where
    T: vault_config::VaultConfig + Send + Sync + 'static,
{
    use std::time::{Duration, Instant};
    let cli = |args: &[&str], env: Vec<(String, String)>| {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = std::iter::once("admin").chain(args.iter().copied());
        let code = vault_config::cli::run_with::<T>(
            argv,
            vault_config::EnvSnapshot::from_iter(env),
            &mut out,
            &mut err,
        );
        let text = String::from_utf8_lossy(&out).into_owned() + &String::from_utf8_lossy(&err);
        (code, text)
    };
    let with = |token: &str| {
        let mut all = env.to_vec();
        all.push(("VAULT_ADDR".into(), v.addr.clone()));
        all.push(("VAULT_TOKEN".into(), token.to_owned()));
        all
    };
    // The policy as an operator makes it: the command, with KV versions detected by the root.
    let (code, hcl) = cli(&["policy", "--profiles", profile], with(&v.root));
    assert_eq!(code, 0, "{name}: policy failed: {hcl}");
    v.put_policy(name, &hcl);
    // A short TTL, so live settings must renew it to keep working past it.
    let (status, body) = v.call(
        "POST",
        "auth/token/create",
        Some(&serde_json::json!({
            "policies": [name, "default"], "ttl": "4s",
        })),
    );
    assert_eq!(status, 200, "{body}");
    let token = body["auth"]["client_token"].as_str().unwrap().to_owned();

    let (code, report) = cli(&["check"], with(&token));
    assert_eq!(
        code, 0,
        "{name}: check with only the policy failed:\n{report}\n{hcl}"
    );
    if let Err(e) = T::loader().env_vars(with(&token)).load() {
        panic!("{name}: load() with only the policy failed:\n{e}\n{hcl}");
    }
    // Every KV v2 secret's metadata, which live settings read to skip unchanged secrets.
    for path in T::schema().vault_paths(profile) {
        if path.mount == "secret" && !path.folder {
            let meta = format!("secret/metadata/{}", path.path);
            let (status, _) = request(&v.addr, &token, None, "GET", &meta, None);
            assert_eq!(status, 200, "{name}: {meta} refused to the policy\n{hcl}");
        }
    }
    let live = vault_config::live::Live::builder(T::loader().env_vars(with(&token)))
        .refresh_every(Duration::from_millis(200))
        .start()
        .unwrap_or_else(|e| panic!("{name}: watch() with only the policy failed:\n{e}"));
    let started = Instant::now();
    // Past the token's first TTL: only a renewal keeps it alive.
    while started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = live.health();
    assert!(
        health.failed_refreshes == 0 && health.last_error.is_none() && health.refreshes >= 5,
        "{name}: live settings with only the policy: {}",
        serde_json::to_string(&health).unwrap()
    );
    live.shutdown();
    // One path outside the policy is refused.
    let (status, _) = request(
        &v.addr,
        &token,
        None,
        "GET",
        "secret/data/outside-every-policy",
        None,
    );
    assert_eq!(
        status, 403,
        "{name}: a path outside the policy was not refused"
    );
}
