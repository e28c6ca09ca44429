//! The scripts a newcomer runs first: `scripts/dev-vault start` that fails says so in one line
//! and leaves nothing running.

use std::path::Path;
use std::process::Command;

/// The processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(needle) {
                found.push(cmdline);
            }
        }
    }
    found
}

/// Runs `scripts/dev-vault start` with a state directory of its own and `env`: the exit
/// status and what it printed.
fn start_with(name: &str, env: &[(&str, &str)]) -> (bool, String, String, String) {
    let state = std::env::temp_dir().join(format!("vc-dev-vault-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dev-vault");
    let out = Command::new(script)
        .arg("start")
        .env("DEV_VAULT_STATE", &state)
        .envs(env.iter().copied())
        .output()
        .expect("run scripts/dev-vault");
    let state = state.to_string_lossy().into_owned();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        state,
    )
}

#[test]
fn a_server_that_exits_at_once_is_one_line_and_nothing_is_left_running() {
    if crate::fixtures::dev_vault::DevVault::get().is_none() {
        return; // needs OpenBao and PostgreSQL installed, as scripts/test does
    }
    let (ok, stdout, stderr, state) = start_with("exits", &[("DEV_VAULT_BIN", "/bin/false")]);
    assert!(!ok);
    assert_eq!(stdout, "", "nothing for `eval`");
    assert_eq!(
        stderr,
        format!(
            "dev-vault: start failed: the server exited; see {state}/server.log (logs in {state}/)\n"
        )
    );
    assert_eq!(
        processes_mentioning(&state),
        Vec::<String>::new(),
        "left running"
    );
}

#[test]
fn postgresql_missing_is_one_line_and_nothing_is_left_running() {
    let (ok, stdout, stderr, state) = start_with("nopg", &[("DEV_VAULT_PG_BIN", "/nonexistent")]);
    assert!(!ok);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!(
            "dev-vault: start failed: no PostgreSQL server programs in DEV_VAULT_PG_BIN=/nonexistent (logs in {state}/)\n"
        )
    );
    assert_eq!(processes_mentioning(&state), Vec::<String>::new());
}
