//! Live settings against a real OpenBao server of the test's own (`scripts/dev-vault` with a
//! separate state directory): a rotated secret arrives; with the server stopped mid-run the
//! last good settings hold and health says disconnected; after a restart it recovers.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use vault_config::live::Live;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::eventually;
use dev_vault::DevVault;

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "LR_", vault(path = "live-real"))]
struct App {
    #[config(secret)]
    api_key: SecretString,
}

/// A dev server in a temporary state directory, stopped on drop.
struct OwnServer {
    state: PathBuf,
    dev: DevVault,
}

impl OwnServer {
    fn script(state: &std::path::Path, command: &str) {
        let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/dev-vault"))
            .arg(command)
            .env("DEV_VAULT_STATE", state)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/dev-vault {command} failed");
    }

    fn start() -> Option<OwnServer> {
        // The shared server's presence (or CI) says whether real-server tests run at all.
        DevVault::get()?;
        let state = std::env::temp_dir().join(format!("vc-live-real-{}", std::process::id()));
        OwnServer::script(&state, "start");
        let dev = DevVault::from_env_file(&state.join("env"));
        Some(OwnServer { state, dev })
    }

    fn write(&self, value: &str) {
        self.dev
            .write("secret/live-real", serde_json::json!({ "api_key": value }));
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        OwnServer::script(&self.state, "stop");
        let _ = std::fs::remove_dir_all(&self.state);
    }
}
#[test]
fn rotation_outage_and_recovery_against_the_real_server() {
    let Some(server) = OwnServer::start() else {
        return;
    };
    server.write("key-1");
    let live = Live::builder(App::loader().env_vars([
        ("VAULT_ADDR", server.dev.addr.as_str()),
        ("VAULT_TOKEN", server.dev.root.as_str()),
        ("VAULT_MAX_RETRIES", "0"),
        ("VAULT_CLIENT_TIMEOUT", "1s"),
    ]))
    .refresh_every(Duration::from_millis(100))
    .start()
    .unwrap();
    assert_eq!(live.current().api_key.expose_secret(), "key-1");
    eventually("connected", Duration::from_secs(5), || {
        live.health().vault_connected
    });

    server.write("key-2");
    eventually("the rotation", Duration::from_secs(10), || {
        live.current().api_key.expose_secret() == "key-2"
    });

    OwnServer::script(&server.state, "pause");
    eventually("the outage to show", Duration::from_secs(10), || {
        let h = live.health();
        !h.vault_connected && h.last_error.is_some()
    });
    assert_eq!(
        live.current().api_key.expose_secret(),
        "key-2",
        "last known good holds"
    );
    let error = live.health().last_error.unwrap();
    assert!(error.contains("cannot reach vault"), "{error}");

    OwnServer::script(&server.state, "resume");
    eventually("recovery", Duration::from_secs(10), || {
        let h = live.health();
        h.vault_connected && h.last_error.is_none()
    });
    server.write("key-3");
    eventually("the next rotation", Duration::from_secs(10), || {
        live.current().api_key.expose_secret() == "key-3"
    });
    live.shutdown();
}
