//! Health: can the service reach Vault and use its token? Reported as the `vault_enabled` /
//! `vault_connected` pair that health endpoints commonly expose, with a little more detail.

use serde::Serialize;

use crate::VaultClient;
use crate::http::transport::{Call, Ns};
use crate::http::wire::HealthBody;

/// The Vault side of a service's health endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Whether a Vault client is configured at all.
    pub vault_enabled: bool,
    /// Whether Vault answered, initialized and unsealed, and accepted the token.
    pub vault_connected: bool,
    /// Whether the token (static or from login) was accepted by `lookup-self`.
    pub authenticated: bool,
    /// `initialized` as the server reports it, when it does.
    pub initialized: Option<bool>,
    /// `sealed` as the server reports it, when it does.
    pub sealed: Option<bool>,
    /// `standby` as the server reports it, when it does.
    pub standby: Option<bool>,
    /// The server's version, when it reports one.
    pub server_version: Option<String>,
    /// Why the client is not connected, when it is not.
    pub error: Option<String>,
}

impl Health {
    /// The health of a service that has no Vault client.
    pub fn disabled() -> Self {
        Health::default()
    }
}

impl VaultClient {
    /// Checks the server (`sys/health` with `standbyok`, no namespace header, no retries;
    /// `sys/seal-status` where `sys/health` does not exist) and the token (`lookup-self`).
    pub async fn health(&self) -> Health {
        let inner = &self.inner;
        let mut health = Health {
            vault_enabled: true,
            ..Health::default()
        };
        // `sys/seal-status` answers where `sys/health` does not exist (404/405).
        let endpoints = ["sys/health", "sys/seal-status"];
        let mut server: Option<HealthBody> = None;
        for path in endpoints {
            let mut call = Call::get(path, None);
            call.ns = Ns::Root;
            call.retry = false;
            if path == "sys/health" {
                call.query = Some("standbyok=true&perfstandbyok=true");
            }
            match inner.send(&call).await {
                Err(err) => {
                    health.error = Some(err.to_string());
                    return health;
                }
                // Not implemented here: try the next status endpoint.
                Ok(reply) if matches!(reply.status, 404 | 405) => {}
                Ok(reply) => {
                    server = Some(reply.json(path).unwrap_or_default());
                    if reply.status >= 500 {
                        health.error = Some(reply.status_error(path).to_string());
                    }
                    break;
                }
            }
        }
        if let Some(body) = server {
            health.initialized = body.initialized;
            health.sealed = body.sealed;
            health.standby = body.standby;
            health.server_version = body.version;
        }
        if health.error.is_some()
            || health.sealed == Some(true)
            || health.initialized == Some(false)
        {
            health
                .error
                .get_or_insert_with(|| "vault is sealed or not initialized".into());
            return health;
        }
        match inner.token().await {
            Ok(token) => {
                let path = "auth/token/lookup-self";
                let mut call = Call::get(path, Some(&token));
                call.retry = false;
                match inner.send(&call).await {
                    Ok(reply) if reply.is_success() => health.authenticated = true,
                    Ok(reply) => health.error = Some(reply.status_error(path).to_string()),
                    Err(err) => health.error = Some(err.to_string()),
                }
            }
            Err(err) => health.error = Some(err.to_string()),
        }
        health.vault_connected = health.authenticated;
        health
    }
}
