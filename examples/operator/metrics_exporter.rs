//! Live settings with their metrics exported for Prometheus: the library records through the
//! `metrics` facade, the app installs the exporter (here `metrics-exporter-prometheus`).
//!
//! `METRICS_ADDR` (default `127.0.0.1:9000`) serves `/metrics`; `EXAMPLE_SECONDS` (default 60)
//! is how long it runs. Vault from the standard `VAULT_*` env vars.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusBuilder;
use vault_config::live::Live;
use vault_config::{SecretString, VaultConfig};

/// The settings whose refreshes are graphed.
#[derive(Debug, VaultConfig)]
#[config(vault(path = "metrics-demo"))]
pub struct Settings {
    /// Key of the upstream API.
    #[config(secret)]
    pub api_key: SecretString,
}

fn main() -> ExitCode {
    let addr: SocketAddr = std::env::var("METRICS_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:9000".into())
        .parse()
        .expect("METRICS_ADDR is host:port");
    let seconds: u64 = std::env::var("EXAMPLE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    // The exporter's HTTP listener runs on a runtime of its own here: main is synchronous.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    if let Err(e) = PrometheusBuilder::new().with_http_listener(addr).install() {
        eprintln!("cannot install the exporter: {e}");
        return ExitCode::FAILURE;
    }
    let live = match Live::builder(Settings::loader())
        .refresh_every(Duration::from_millis(500))
        .start()
    {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    println!("serving metrics on http://{addr}/metrics");
    std::thread::sleep(Duration::from_secs(seconds));
    live.shutdown();
    ExitCode::SUCCESS
}
