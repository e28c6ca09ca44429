//! The one error type of the Vault client. Messages name the Vault path and never carry a
//! token, a secret value or the raw body of a secret response.

use std::time::Duration;

use vault_config_core::{Problem, SourceError};

/// Why a Vault request or the client's configuration failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client's configuration is invalid.
    #[error("{message}")]
    Config {
        /// The env var to fix, when the value came from one.
        var: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// No connection could be made.
    #[error("cannot reach vault at {addr}: {reason}")]
    Unreachable {
        /// The server address.
        addr: String,
        /// The transport's reason.
        reason: String,
    },
    /// The server was reached, and its TLS certificate is not trusted by this client.
    #[error(
        "vault at {addr} presented a certificate this client does not trust ({reason}): {}",
        untrusted_fix(reason)
    )]
    Untrusted {
        /// The server address.
        addr: String,
        /// What TLS said of the certificate (`UnknownIssuer`, `Expired`, `NotValidForName`, ...).
        reason: String,
    },
    /// The server did not answer in time.
    #[error("vault did not answer {path} within {timeout:?}")]
    Timeout {
        /// The API path.
        path: String,
        /// The limit that was hit.
        timeout: Duration,
    },
    /// 403: the token may not read the path, or it is invalid or expired.
    #[error("permission denied on {path}{}", denied_hint(path, detail))]
    Denied {
        /// The API path.
        path: String,
        /// Vault's message.
        detail: String,
    },
    /// 400 on a write: the engine refused the request as asked (a PKI role that does not
    /// allow the common name, an unknown role).
    #[error("vault refused the request on {path}: {detail}")]
    Refused {
        /// The API path.
        path: String,
        /// Vault's message.
        detail: String,
    },
    /// 404 on a secret.
    #[error("no secret at {path}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    NotFound {
        /// The secret path as the user wrote it.
        path: String,
        /// A hint when the read looked like a KV version mix-up.
        hint: Option<String>,
    },
    /// 404 with KV v2 metadata: the latest version was deleted or destroyed.
    #[error("the latest version{} of {path} was {}", version.map(|v| format!(" ({v})")).unwrap_or_default(), if *destroyed { "destroyed" } else { "deleted" })]
    Deleted {
        /// The secret path.
        path: String,
        /// The deleted version.
        version: Option<u64>,
        /// Destroyed rather than soft-deleted.
        destroyed: bool,
    },
    /// 503 (or a sealed status): the server is sealed.
    #[error("vault is sealed (answering {path})")]
    Sealed {
        /// The API path.
        path: String,
    },
    /// 501: the server is not initialized.
    #[error("vault is not initialized (answering {path})")]
    Uninitialized {
        /// The API path.
        path: String,
    },
    /// Any other unexpected status.
    #[error("vault answered {status} on {path}: {message}")]
    Status {
        /// The API path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// Vault's message.
        message: String,
    },
    /// The answer could not be understood (bad JSON, wrong shape, too large).
    #[error("vault answered {path} with something unreadable: {reason}")]
    Malformed {
        /// The API path.
        path: String,
        /// What was wrong, never the body.
        reason: String,
    },
    /// A login failed.
    #[error("login with {method} failed: {message}")]
    Login {
        /// The auth method.
        method: &'static str,
        /// Why.
        message: String,
    },
}

/// The setting that fixes an untrusted server certificate.
fn untrusted_fix(reason: &str) -> &'static str {
    if reason.contains("not valid for name") {
        "set `VAULT_ADDR` to a name the certificate is valid for"
    } else {
        "set `VAULT_CACERT` to the CA certificate that signed it (or `VAULT_CAPATH` to a directory of them)"
    }
}

/// What a 403 on `path` most likely means, and what fixes it; Vault's own text only when it
/// says more than "permission denied".
fn denied_hint(path: &str, detail: &str) -> String {
    let own = detail.trim().trim_end_matches('.');
    let own = if own.is_empty() || own.eq_ignore_ascii_case("permission denied") {
        String::new()
    } else {
        format!(" ({own})")
    };
    let hint = if path.starts_with("auth/") {
        "the credentials were refused".to_owned()
    } else if path.starts_with("sys/") {
        "the token's policies do not allow it".to_owned()
    } else {
        let mount = path.split('/').next().unwrap_or(path);
        format!(
            "the token's policies do not cover this path, or no secrets engine is mounted at `{mount}/` (the mount comes from `VAULT_MOUNT_POINT` or `vault(mount = ..)`)"
        )
    };
    format!("{own}: {hint}")
}

impl Error {
    /// A configuration error naming the env var that holds the bad value.
    pub(crate) fn config(var: Option<&str>, message: impl Into<String>) -> Self {
        Error::Config {
            var: var.map(str::to_owned),
            message: message.into(),
        }
    }

    /// The error as a problem of the load's report.
    pub fn to_problem(&self) -> Problem {
        match self {
            Error::Config { var, message } => Problem::config(var.as_deref(), message.clone()),
            other => Problem::config(None, other.to_string()),
        }
    }
}

impl From<Error> for SourceError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            // Vault said no (a 403, or a login refused: wrong credentials, a bad wrapped secret
            // id, an unreadable credential file): a configuration error the operator must see,
            // never covered by fallback.
            Error::Denied { .. } | Error::Refused { .. } | Error::Login { .. } => {
                SourceError::denied(message)
            }
            Error::NotFound { hint: None, .. } => SourceError::not_found(message),
            // A version mix-up is a misconfiguration, not an absent secret: fail, don't default.
            Error::NotFound { hint: Some(_), .. } | Error::Malformed { .. } => {
                SourceError::malformed(message)
            }
            Error::Deleted { .. } => SourceError::deleted(message),
            _ => SourceError::unavailable(message),
        }
    }
}
