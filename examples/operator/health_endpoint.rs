//! An axum `/health` endpoint from live settings: 200 with the health JSON while Vault is
//! reachable or was reachable recently, 503 once it has been unreachable longer than the
//! threshold (`LiveHealth::healthy_within`): what a Kubernetes readiness probe calls.
//!
//! `HEALTH_ADDR` (default `127.0.0.1:8081`), `HEALTH_THRESHOLD` (default `5m`), and
//! `VAULT_REFRESH_INTERVAL`; Vault from the standard `VAULT_*` env vars.

use std::process::ExitCode;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use vault_config::live::{Live, LiveHealth};
use vault_config::{LiveConfig, SecretString, VaultConfig};

/// The service's settings.
#[derive(Debug, VaultConfig)]
#[config(vault(path = "health-demo"))]
pub struct Settings {
    /// Key of the upstream API.
    #[config(secret)]
    pub api_key: SecretString,
}

/// What the handler needs: the live settings and how long Vault may be away.
#[derive(Clone)]
struct App {
    live: Live<Settings>,
    threshold: Duration,
}

/// `GET /health`: the health JSON, 503 when Vault has been unreachable too long.
async fn health(State(app): State<App>) -> impl IntoResponse {
    let health: LiveHealth = app.live.health();
    let status = if health.healthy_within(app.threshold) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::var("HEALTH_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let threshold = std::env::var("HEALTH_THRESHOLD")
        .ok()
        .and_then(|t| vault_config::duration::parse(&t))
        .unwrap_or(Duration::from_secs(300));
    // On this runtime: the refresh task runs beside the server, no extra thread.
    let live = match Settings::watch_async().await {
        Ok(live) => live,
        Err(report) => {
            eprintln!("{report}");
            return ExitCode::FAILURE;
        }
    };
    let app = axum::Router::new()
        .route("/health", axum::routing::get(health))
        .with_state(App {
            live: live.clone(),
            threshold,
        });
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("health on http://{addr}/health");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    live.shutdown_async().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
