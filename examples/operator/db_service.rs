//! A service on leased database credentials: OpenBao's database engine makes a PostgreSQL
//! user per lease; live settings renew the lease and read new credentials before its max TTL;
//! the service builds a new connection pool on each change and swaps it in without failing a
//! query. At the end the leases are given back and OpenBao drops the users.
//!
//! ```sh
//! eval "$(scripts/dev-vault start)"      # OpenBao + PostgreSQL, role `app`: TTL 3 s, max 6 s
//! DBSVC_PG_PORT=$DEV_VAULT_PG_PORT cargo run --example db_service
//! ```

use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use deadpool_postgres::{Pool, Runtime, tokio_postgres::NoTls};
use vault_config::live::Live;
use vault_config::{ExposeSecret, SecretString, VaultConfig};

/// The answer of `database/creds/app`: a user and its password.
#[derive(Debug, serde::Deserialize)]
pub struct DbCreds {
    username: String,
    password: SecretString,
}

/// The service's settings.
#[derive(Debug, VaultConfig)]
#[config(env_prefix = "DBSVC_")]
pub struct Settings {
    /// Leased credentials, renewed and replaced by live settings.
    #[config(lease = "database/creds/app")]
    db: DbCreds,
    /// The PostgreSQL port on 127.0.0.1.
    #[config(static, default = 5432)]
    pg_port: u16,
    /// How long the demo runs.
    #[config(default = "15s")]
    run_for: Duration,
}

/// A pool logging in with `settings`' current credentials.
fn pool(settings: &Settings) -> Result<Pool, String> {
    let mut config = deadpool_postgres::Config::new();
    config.host = Some("127.0.0.1".into());
    config.port = Some(settings.pg_port);
    config.dbname = Some("postgres".into());
    config.user = Some(settings.db.username.clone());
    config.password = Some(settings.db.password.expose_secret().to_owned());
    config
        .create_pool(Some(Runtime::Tokio1), NoTls)
        .map_err(|e| e.to_string())
}

async fn run() -> Result<(), String> {
    let live = Live::builder(Settings::loader())
        .lease_grace(Duration::from_secs(1))
        .start_async()
        .await
        .map_err(|e| e.to_string())?;
    let first = live.current();
    let current = Arc::new(RwLock::new(pool(&first)?));
    // On each change: a new pool with the new credentials, swapped in; the old one closes
    // once the queries holding its connections are done.
    let mut changes = live.subscribe();
    let swapper = {
        let (live, current) = (live.clone(), Arc::clone(&current));
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                match pool(&live.current()) {
                    Ok(fresh) => {
                        let old = std::mem::replace(
                            &mut *current.write().unwrap_or_else(|e| e.into_inner()),
                            fresh,
                        );
                        old.close();
                        println!("credentials rotated: new pool in use");
                    }
                    Err(e) => eprintln!("could not build a pool with the new credentials: {e}"),
                }
            }
        })
    };
    let started = Instant::now();
    let (mut queries, mut failed, mut users) = (0u32, 0u32, std::collections::BTreeSet::new());
    while started.elapsed() < first.run_for {
        let pool = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        queries += 1;
        let result = async {
            let client = pool.get().await.map_err(|e| e.to_string())?;
            let row = client
                .query_one("SELECT current_user::text", &[])
                .await
                .map_err(|e| e.to_string())?;
            Ok::<String, String>(row.get(0))
        }
        .await;
        match result {
            Ok(user) => {
                users.insert(user);
            }
            Err(e) => {
                failed += 1;
                eprintln!("query failed: {e}");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lease = live.health().leases.first().cloned().unwrap_or_default();
    swapper.abort();
    live.shutdown_async().await;
    println!(
        "{queries} queries, {failed} failed, {} database users seen, lease generation {}",
        users.len(),
        lease.generation
    );
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {queries} queries failed"))
    }
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
