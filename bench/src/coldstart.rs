//! Scenario 5: what an init container pays: exec of a release binary to settings loaded (and
//! the process gone), against a Python script doing the same with hvac. Both over TLS through
//! the delay proxy, 32 secrets on 8 paths.

use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vault_config::VaultConfig;

use crate::Server;
use crate::report::{Contender, Stats, stats};

/// Scenario 5's results.
#[derive(Debug, Serialize, Deserialize)]
pub struct ColdStart {
    pub ours: Stats,
    pub hvac: Option<Contender>,
    /// `python3 -c pass` with the same interpreter: what Python pays before any work.
    pub python_bare: Option<Stats>,
    /// Tokens alive on the server after our runs less before them: what processes that exit
    /// right after their load leave behind.
    #[serde(default)]
    pub tokens_left: Option<i64>,
}

/// The child: load `Paths8` from the env it was given, then exit.
pub fn child() {
    if let Err(report) = crate::Paths8::loader().load() {
        eprintln!("{report}");
        std::process::exit(1);
    }
}

const HVAC_SCRIPT: &str = r#"
import os, hvac
client = hvac.Client(url=os.environ["VAULT_ADDR"], verify=os.environ["VAULT_CACERT"])
client.auth.approle.login(role_id=os.environ["VAULT_ROLE_ID"], secret_id=os.environ["VAULT_SECRET_ID"])
for i in range(8):
    client.secrets.kv.v2.read_secret_version(path=f"bench/p8/s{i}", mount_point="secret",
                                             raise_on_deleted_version=True)
"#;

/// Exec to exit of `cmd`, `runs` times after one warm-up (which fills the page cache).
fn time_exec(mut cmd: impl FnMut() -> Command, runs: usize) -> Result<Vec<Duration>, String> {
    let mut samples = Vec::with_capacity(runs);
    for run in 0..=runs {
        let t = Instant::now();
        let out = cmd().output().map_err(|e| format!("cannot start: {e}"))?;
        let elapsed = t.elapsed();
        if !out.status.success() {
            return Err(format!(
                "exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if run > 0 {
            samples.push(elapsed);
        }
    }
    Ok(samples)
}

pub fn measure(server: &Server, addr: &str, python: Option<&str>, runs: usize) -> ColdStart {
    let env = [
        ("VAULT_ADDR", addr),
        ("VAULT_CACERT", server.cacert.as_str()),
        ("VAULT_ROLE_ID", server.role_id.as_str()),
        ("VAULT_SECRET_ID", server.secret_id.as_str()),
    ];
    let exe = std::env::current_exe().expect("current exe");
    let before = crate::fleet::tokens_alive(server);
    let ours = time_exec(
        || {
            let mut cmd = Command::new(&exe);
            cmd.arg("cold-child").env_clear().envs(env);
            cmd
        },
        runs,
    )
    .expect("the release binary's cold load");
    let tokens_left = Some(crate::fleet::tokens_alive(server) as i64 - before as i64);
    let hvac = python.map(|py| {
        Contender::from(
            "hvac 2.4",
            time_exec(
                || {
                    let mut cmd = Command::new(py);
                    cmd.args(["-c", HVAC_SCRIPT]).env_clear().envs(env);
                    cmd
                },
                runs,
            ),
        )
    });
    let python_bare = python.and_then(|py| {
        time_exec(
            || {
                let mut cmd = Command::new(py);
                cmd.args(["-c", "pass"]).env_clear();
                cmd
            },
            runs,
        )
        .ok()
        .map(|s| stats(&s))
    });
    ColdStart {
        ours: stats(&ours),
        hvac,
        python_bare,
        tokens_left,
    }
}
