//! A real two-node OpenBao cluster (integrated raft storage) on loopback, for what only a
//! standby shows: `health()` against the standby reports it as a connected standby (it answers
//! `sys/health` with 429 unless asked with `standbyok`), and a load through the standby reads
//! the secrets (standbys serve reads since OpenBao 2.5).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::vault::VaultClient;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use dev_vault::{DevVault, closed_port, request};

struct Node {
    child: Child,
    addr: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster's state directory, removed on drop (after the nodes, which are declared later).
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start_node(bin: &str, dir: &Path, name: &str, leader: Option<&str>) -> Node {
    let (api, cluster) = (closed_port(), closed_port());
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    let join = leader.map_or_else(String::new, |l| {
        format!("  retry_join {{\n    leader_api_addr = \"{l}\"\n  }}\n")
    });
    let config = format!(
        "storage \"raft\" {{\n  path = \"{data}\"\n  node_id = \"{name}\"\n{join}}}\n\
         listener \"tcp\" {{\n  address = \"127.0.0.1:{api}\"\n  cluster_address = \"127.0.0.1:{cluster}\"\n  tls_disable = true\n}}\n\
         api_addr = \"http://127.0.0.1:{api}\"\ncluster_addr = \"https://127.0.0.1:{cluster}\"\n\
         ui = false\nlog_level = \"warn\"\n",
        data = data.display()
    );
    let file = dir.join(format!("{name}.hcl"));
    std::fs::write(&file, config).unwrap();
    let child = Command::new(bin)
        .arg("server")
        .arg(format!("-config={}", file.display()))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
        .spawn()
        .unwrap();
    let addr = format!("http://127.0.0.1:{api}");
    wait(Duration::from_secs(30), "the node to listen", || {
        std::net::TcpStream::connect(format!("127.0.0.1:{api}")).is_ok()
    });
    Node { child, addr }
}

fn wait(within: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `sys/health` of a node with `standbyok`: the JSON body.
fn health(node: &Node) -> serde_json::Value {
    request(
        &node.addr,
        "",
        None,
        "GET",
        "sys/health?standbyok=true",
        None,
    )
    .1
}

#[derive(Debug, VaultConfig)]
#[config(vault(path = "ha"))]
struct App {
    #[config(secret)]
    password: SecretString,
}

#[test]
fn a_standby_reports_itself_and_serves_reads() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(v) = DevVault::get() else { return };
    let dir = Dir(std::env::temp_dir().join(format!("vc-ha-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let leader = start_node(&v.bin, &dir.0, "n1", None);
    let (status, init) = request(
        &leader.addr,
        "",
        None,
        "PUT",
        "sys/init",
        Some(&json!({ "secret_shares": 1, "secret_threshold": 1 })),
    );
    assert_eq!(status, 200, "{init}");
    let key = init["keys"][0].as_str().unwrap().to_owned();
    let root = init["root_token"].as_str().unwrap().to_owned();
    let unseal = |node: &Node| {
        request(
            &node.addr,
            "",
            None,
            "PUT",
            "sys/unseal",
            Some(&json!({ "key": key })),
        )
    };
    unseal(&leader);
    wait(Duration::from_secs(60), "the leader to be active", || {
        health(&leader)["standby"] == json!(false) && health(&leader)["sealed"] == json!(false)
    });
    let standby = start_node(&v.bin, &dir.0, "n2", Some(&leader.addr));
    // The joining node is unsealed with the cluster's key once it has joined.
    wait(
        Duration::from_secs(60),
        "the second node to join as a standby",
        || {
            unseal(&standby);
            health(&standby)["standby"] == json!(true) && health(&standby)["sealed"] == json!(false)
        },
    );

    let (status, body) = request(
        &leader.addr,
        &root,
        None,
        "POST",
        "sys/mounts/secret",
        Some(&json!({ "type": "kv", "options": { "version": "2" } })),
    );
    assert!((200..300).contains(&status), "{body}");
    let (status, body) = request(
        &leader.addr,
        &root,
        None,
        "POST",
        "secret/data/ha",
        Some(&json!({ "data": { "password": "from-the-cluster" } })),
    );
    assert_eq!(status, 200, "{body}");

    let client = VaultClient::builder()
        .address(&standby.addr)
        .token(root.clone())
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(client.health());
    assert_eq!(h.standby, Some(true), "{h:?}");
    assert!(h.vault_connected && h.authenticated, "{h:?}");
    assert_eq!(h.sealed, Some(false));

    // A standby's reads are eventually consistent: the write arrives within moments.
    let mut loaded = None;
    wait(
        Duration::from_secs(30),
        "the standby to serve the secret",
        || {
            loaded = App::loader()
                .env_vars::<_, String, String>([])
                .vault(client.clone())
                .load()
                .ok();
            loaded.is_some()
        },
    );
    assert_eq!(loaded.unwrap().password.expose_secret(), "from-the-cluster");
    drop(standby);
    drop(leader);
}
