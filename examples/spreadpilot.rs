//! SpreadPilot: per-strategy IBKR credentials at `secret/ibkr/<strategy>`, stored either as
//! `IB_USER`/`IB_PASS` or as `username`/`password`; `VAULT_ENABLED` and `VAULT_MOUNT_POINT`
//! as in the seed; env credentials when Vault is disabled, or unreachable with
//! `VAULT_FALLBACK=env`.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"
//! cargo run --example spreadpilot -- original_strategy vertical_spreads_strategy
//! VAULT_ENABLED=false IB_USER=u IB_PASS=p cargo run --example spreadpilot -- original_strategy
//! ```

use std::process::ExitCode;

use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The credentials of one strategy; the strategy is the profile in `ibkr/{profile}`.
#[derive(Debug, VaultConfig)]
#[config(vault(path = "ibkr/{profile}"))]
pub struct IbkrCredentials {
    /// IBKR user name (`IB_USER`, or `username` in older entries).
    #[config(secret, vault(key = "IB_USER", aliases = ["username"]))]
    pub ib_user: SecretString,
    /// IBKR password (`IB_PASS`, or `password` in older entries).
    #[config(secret, vault(key = "IB_PASS", aliases = ["password"]))]
    pub ib_pass: SecretString,
}

fn main() -> ExitCode {
    let strategies: Vec<String> = std::env::args().skip(1).collect();
    if strategies.is_empty() {
        eprintln!("usage: spreadpilot <strategy>...");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for strategy in strategies {
        match IbkrCredentials::loader().profile(strategy.clone()).load() {
            Ok(creds) => {
                let explained = IbkrCredentials::loader()
                    .profile(strategy.clone())
                    .explain();
                let from = explained
                    .row("ib_user")
                    .map(|r| r.source.clone())
                    .unwrap_or_default();
                println!(
                    "{strategy}: user of {} bytes, password of {} bytes, from {from}",
                    creds.ib_user.expose_secret().len(),
                    creds.ib_pass.expose_secret().len()
                );
            }
            Err(report) => {
                eprintln!("{strategy}: {report}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
