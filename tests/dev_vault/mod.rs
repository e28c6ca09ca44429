//! The real Vault-API server that `scripts/test` starts (`scripts/dev-vault`), for the tests
//! that need one. Absent, those tests skip — except under CI or with `DEV_VAULT_REQUIRED`,
//! where an absent server fails them.
#![allow(dead_code, reason = "each test binary uses a different part")]

/// Connection details of the dev server, from `DEV_VAULT_*`.
pub struct DevVault {
    pub addr: String,
    pub root: String,
    pub role_id: String,
    pub secret_id: String,
}

impl DevVault {
    /// The running dev server, or `None` to skip.
    pub fn get() -> Option<DevVault> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            var("DEV_VAULT_ADDR"),
            var("DEV_VAULT_TOKEN"),
            var("DEV_VAULT_ROLE_ID"),
            var("DEV_VAULT_SECRET_ID"),
        ) {
            (Some(addr), Some(root), Some(role_id), Some(secret_id)) => Some(DevVault {
                addr,
                root,
                role_id,
                secret_id,
            }),
            _ if var("CI").is_some() || var("DEV_VAULT_REQUIRED").is_some() => {
                panic!(
                    "the dev Vault server is not running: run `scripts/dev-vault start` and export .dev-vault/env"
                )
            }
            _ => {
                eprintln!("skipped: no dev Vault server (scripts/test starts one)");
                None
            }
        }
    }

    /// Writes a secret at `mount/path` with the root token.
    pub fn write(&self, path: &str, data: serde_json::Value) {
        let status = post(&self.addr, &self.root, path, &data);
        assert!((200..300).contains(&status), "writing {path}: {status}");
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

/// `POST /v1/{path}` with a token and a JSON body; the status. Runs on a thread of its own so
/// that async tests can call it.
pub fn post(addr: &str, token: &str, path: &str, body: &serde_json::Value) -> u16 {
    let (url, token, body) = (
        format!("{addr}/v1/{path}"),
        token.to_owned(),
        body.to_string(),
    );
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest::Client::new()
                .post(url)
                .header("X-Vault-Token", token)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
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
