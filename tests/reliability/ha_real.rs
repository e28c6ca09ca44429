//! A real three-node OpenBao cluster (integrated raft storage) on loopback, for what only
//! standbys show. Standbys serve reads since OpenBao 2.5, eventually consistent: right after a
//! write, about a third of the reads on a standby answer the previous version (measured on
//! this cluster), so every check below would fail now and then without `X-Vault-Index`.
//!
//! - `health()` against a standby reports it as a connected standby (it answers `sys/health`
//!   with 429 unless asked with `standbyok`), and a load through the standby reads the secrets;
//! - `migrate` through a load balancer over the three nodes, then a load: the load sees the
//!   write, every time;
//! - a rotation storm through the load balancer while live settings refresh every 50 ms: a
//!   reader thread never sees `current()` go back, with the servers' `X-Vault-Index` (a
//!   lagging standby forwards to the active node), and without it, behind a stale-standby
//!   proxy that answers every other metadata read with the previous version (live settings
//!   keep what they published).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use vault_config::live::Live;
use vault_config::source::{SecretSource, VaultPath};
use vault_config::vault::{MigrateOptions, VaultClient};
use vault_config::{EnvSnapshot, ExposeSecret, SecretString, VaultConfig};

use crate::fixtures::dev_vault;
use crate::fixtures::fault_proxy::{Action, FaultProxy, Rule};
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

/// [`crate::fixtures::eventually`] polling every 200 ms, not 20: each poll here is a load, an
/// unseal or health calls to a node.
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

/// Written by `migrate`, then loaded.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "HA_", vault(path = "ha/migrated"))]
struct Migrated {
    #[config(secret)]
    token: SecretString,
}

/// Rotated by the storm: each write a higher number.
#[derive(Debug, VaultConfig)]
struct Rotated {
    #[config(vault(path = "ha/rotated", key = "generation"))]
    generation: u64,
}

/// The three nodes, the root token and the cluster's directory (removed last).
struct Cluster {
    nodes: Vec<Node>,
    root: String,
    _dir: Dir,
}

impl Cluster {
    fn start(bin: &str) -> Cluster {
        let dir = Dir(std::env::temp_dir().join(format!("vc-ha-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let leader = start_node(bin, &dir.0, "n1", None);
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
        let mut nodes = vec![leader];
        for name in ["n2", "n3"] {
            let standby = start_node(bin, &dir.0, name, Some(&nodes[0].addr));
            // A joining node is unsealed with the cluster's key once it has joined.
            wait(
                Duration::from_secs(60),
                "a node to join as a standby",
                || {
                    unseal(&standby);
                    health(&standby)["standby"] == json!(true)
                        && health(&standby)["sealed"] == json!(false)
                },
            );
            nodes.push(standby);
        }
        let cluster = Cluster {
            nodes,
            root,
            _dir: dir,
        };
        let (status, body) = cluster.write(
            "sys/mounts/secret",
            &json!({ "type": "kv", "options": { "version": "2" } }),
        );
        assert!((200..300).contains(&status), "{body}");
        cluster
    }

    /// A write to the active node.
    fn write(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        request(
            &self.nodes[0].addr,
            &self.root,
            None,
            "POST",
            path,
            Some(body),
        )
    }

    /// A load balancer over the three nodes.
    fn balancer(&self) -> FaultProxy {
        let addrs: Vec<&str> = self.nodes.iter().map(|n| n.addr.as_str()).collect();
        FaultProxy::balanced(&addrs)
    }

    fn client(&self, addr: &str) -> VaultClient {
        VaultClient::builder()
            .address(addr)
            .token(self.root.clone())
            .build()
            .unwrap()
    }
}

#[test]
fn a_three_node_cluster() {
    let _one_suite_at_a_time = crate::fixtures::exclusive();
    let Some(v) = DevVault::get() else { return };
    let cluster = Cluster::start(&v.bin);
    a_standby_reports_itself_and_serves_reads(&cluster);
    migrate_then_check_sees_the_write(&cluster);
    // Without the stale-standby proxy: the servers' own lag, and their index.
    let balancer = cluster.balancer();
    rotation_storm(&cluster, &balancer, 1);
    // With it, and without the index: live settings keep what they published.
    let balancer = cluster.balancer();
    balancer.strip_index();
    let stale = |previous: fn(&mut serde_json::Value)| {
        Action::Cycle(Arc::new(vec![Action::Forward, Action::patched(previous)]))
    };
    let rules = [
        balancer.rule(Rule::on(
            "secret/metadata/ha/rotated",
            stale(|v| step_back(&mut v["data"]["current_version"])),
        )),
        balancer.rule(Rule::on(
            "secret/data/ha/rotated",
            stale(|v| {
                step_back(&mut v["data"]["metadata"]["version"]);
                step_back(&mut v["data"]["data"]["generation"]);
            }),
        )),
    ];
    rotation_storm(&cluster, &balancer, 1_000);
    for rule in rules {
        let served = balancer.served_by(rule);
        assert!(served >= 10, "the stale standby answered {served} reads");
    }
}

/// The previous version of a number in an answer: what a standby one write behind answers.
fn step_back(n: &mut serde_json::Value) {
    if let Some(v) = n.as_u64() {
        *n = json!(v.saturating_sub(1).max(1));
    }
}

fn a_standby_reports_itself_and_serves_reads(cluster: &Cluster) {
    let (status, body) = cluster.write(
        "secret/data/ha",
        &json!({ "data": { "password": "from-the-cluster" } }),
    );
    assert_eq!(status, 200, "{body}");
    let client = cluster.client(&cluster.nodes[1].addr);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let h = rt.block_on(client.health());
    assert_eq!(h.standby, Some(true), "{h:?}");
    assert!(h.vault_connected && h.authenticated, "{h:?}");
    assert_eq!(h.sealed, Some(false));

    // The client has seen no index of this cluster yet: the write arrives within moments.
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
    // Health still describes the standby once the client holds an index.
    let h = rt.block_on(client.health());
    assert_eq!(h.standby, Some(true), "{h:?}");
}

/// `migrate`, then a read and a load with the same client, 20 times through the load balancer
/// (two requests in three reach a standby): each sees the value just written. (Without the
/// index, about one round in 60 reads the previous value.)
fn migrate_then_check_sees_the_write(cluster: &Cluster) {
    let balancer = cluster.balancer();
    let client = cluster.client(&balancer.url());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for round in 0..20 {
        let value = format!("written-{round}");
        let env = EnvSnapshot::from_iter([("HA_TOKEN", value.as_str())]);
        let report = rt.block_on(client.migrate(
            Migrated::schema(),
            &env,
            "",
            MigrateOptions::new().overwrite(true),
        ));
        assert!(report.ok, "{report}");
        // At once, as `check` reads, and through a whole load.
        let path = VaultPath::new("secret", "ha/migrated");
        let read = rt.block_on(client.fetch(std::slice::from_ref(&path)));
        let token = read[0].as_ref().ok().and_then(|d| d.get("token"));
        assert_eq!(token, Some(&json!(value)), "round {round}");
        let loaded = Migrated::loader()
            .env_vars::<_, String, String>([])
            .vault(client.clone())
            .load()
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(loaded.token.expose_secret(), value, "round {round}");
    }
}

/// Writes 30 generations (a base of `from`) of `ha/rotated` to the active node, one every
/// 100 ms, while live settings refresh every 50 ms through `balancer` and a reader thread
/// checks that no `current()` is older than one before it.
fn rotation_storm(cluster: &Cluster, balancer: &FaultProxy, from: u64) {
    let write = |generation: u64| {
        let (status, body) = cluster.write(
            "secret/data/ha/rotated",
            &json!({ "data": { "generation": generation } }),
        );
        assert_eq!(status, 200, "{body}");
    };
    write(from);
    let client = cluster.client(&balancer.url());
    // The client has no index of the write yet: a standby may not have it for a moment.
    let mut live = None;
    wait(Duration::from_secs(30), "the first load", || {
        let loader = Rotated::loader()
            .env_vars::<_, String, String>([])
            .vault(client.clone());
        live = Live::builder(loader)
            .refresh_every(Duration::from_millis(50))
            .start()
            .ok();
        live.is_some()
    });
    let live = live.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (live, stop) = (live.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut last, mut reads, mut back) = (0, 0u64, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                let seen = live.current().generation;
                if seen < last {
                    back.push(format!("current() went back from {last} to {seen}"));
                }
                last = seen;
                reads += 1;
            }
            (reads, back)
        })
    };
    let last = from + 30;
    for generation in from + 1..=last {
        std::thread::sleep(Duration::from_millis(100));
        write(generation);
    }
    wait(Duration::from_secs(30), "the last generation", || {
        live.current().generation == last
    });
    stop.store(true, Ordering::SeqCst);
    let (reads, back) = reader.join().unwrap();
    assert!(back.is_empty(), "{back:?}");
    assert!(reads > 1_000, "the reader read {reads} times");
    live.shutdown();
}
