//! One `send` for every endpoint: headers (`X-Vault-Token`, `X-Vault-Namespace`,
//! `X-Vault-Request`, `X-Vault-Index`), timeouts, retries, a body size limit, and a `tracing`
//! span that records method and path only — never a token or a body.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Url};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::config::{Config, shown_address};
use crate::http::consistency::Consistency;
use crate::http::wire;
use crate::{Error, RetryPolicy};

/// Which namespace header a request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ns {
    /// The secrets namespace (`VAULT_NAMESPACE`).
    Secrets,
    /// The auth namespace (`VAULT_AUTH_NAMESPACE`, else the secrets one), for logins.
    Auth,
    /// None: root-only endpoints such as `sys/health` answer 404 with one.
    Root,
}

/// One API call.
pub(crate) struct Call<'a> {
    pub method: Method,
    /// The API path after `/v1/`, e.g. `secret/data/myapp`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub token: Option<&'a SecretString>,
    pub ns: Ns,
    /// A JSON body; may hold credentials: its bytes are zeroized when the HTTP stack lets go
    /// of the last handle (see [`zeroizing_bytes`]).
    pub body: Option<Bytes>,
    /// Whether transient failures are retried.
    pub retry: bool,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str, token: Option<&'a SecretString>) -> Self {
        Call {
            method: Method::GET,
            path,
            query: None,
            token,
            ns: Ns::Secrets,
            body: None,
            retry: true,
        }
    }

    /// A POST of `body`, which is serialized once and then zeroized (it may hold credentials).
    pub fn post(
        path: &'a str,
        token: Option<&'a SecretString>,
        mut body: serde_json::Value,
    ) -> Self {
        let serialized = zeroizing_json(&body);
        vault_config_core::zeroize_json(&mut body);
        Call {
            method: Method::POST,
            body: Some(zeroizing_bytes(serialized)),
            ..Call::get(path, token)
        }
    }
}

/// `value` as JSON in a buffer of exactly its size, so that no partly filled buffer is freed
/// (a `Vec` that grows frees its old block without zeroizing it).
fn zeroizing_json(value: &serde_json::Value) -> Zeroizing<Vec<u8>> {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serializing a `Value` to a writer that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    let mut out = Zeroizing::new(Vec::with_capacity(count.0));
    let _ = serde_json::to_writer(&mut *out, value);
    out
}

/// Bytes the HTTP stack can hold without copying them; zeroized when the last handle drops.
/// reqwest takes request bodies and header values as `Bytes`: a plain copy would be freed with
/// the secret still in it.
pub(crate) fn zeroizing_bytes(buffer: Zeroizing<Vec<u8>>) -> Bytes {
    Bytes::from_owner(ZeroizingOwner(buffer))
}

struct ZeroizingOwner(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

pub(crate) use vault_config_core::__private::read::append_zeroizing;

/// A response: status and body (zeroized on drop: it may hold secrets).
pub(crate) struct Reply {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
    retry_after: Option<Duration>,
}

impl Reply {
    /// A reply as if received (for decoding without a server).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn received(status: u16, body: Zeroizing<Vec<u8>>) -> Reply {
        Reply {
            status,
            body,
            retry_after: None,
        }
    }

    /// A reply with this text as its body, as if received (for the decoders' tests).
    #[cfg(test)]
    pub(crate) fn text(status: u16, body: &str) -> Reply {
        Reply::received(status, Zeroizing::new(body.as_bytes().to_vec()))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses the body as JSON; an empty body (204) parses as `T::default()`.
    pub fn json<T: serde::de::DeserializeOwned + Default>(&self, path: &str) -> Result<T, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::Malformed {
            path: path.to_owned(),
            // The position and category only: the body may hold secrets.
            reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        })
    }

    /// The error for a status the caller did not expect.
    pub fn status_error(&self, path: &str) -> Error {
        let message = wire::error_message(&self.body);
        let path = path.to_owned();
        match self.status {
            403 => Error::Denied {
                path,
                detail: if message.is_empty() {
                    "permission denied".into()
                } else {
                    message
                },
            },
            501 => Error::Uninitialized { path },
            503 if message.is_empty() || message.to_ascii_lowercase().contains("sealed") => {
                Error::Sealed { path }
            }
            status => Error::Status {
                path,
                status,
                message: if message.is_empty() {
                    "no error message".into()
                } else {
                    message
                },
            },
        }
    }
}

/// The connection to one server: the HTTP client, its address, the settings every request
/// carries, and the last contact's outcome (for health).
pub(crate) struct Transport {
    http: reqwest::Client,
    base: Url,
    /// The address as every output shows it (no credentials).
    pub address_display: String,
    retry: RetryPolicy,
    timeout: Duration,
    max_response_bytes: usize,
    namespace: Option<String>,
    auth_namespace: Option<String>,
    /// Why the last request failed to reach a working server; `None` after a good answer.
    contact: std::sync::Mutex<Option<String>>,
    /// One permit per request in flight: `concurrency` bounds every request of the client,
    /// path reads and the entries of folders alike.
    permits: tokio::sync::Semaphore,
    /// The newest `X-Vault-Index` answered, sent with every later request.
    pub(crate) consistency: Consistency,
}

impl Transport {
    /// The transport `config` describes; every problem with its address and TLS settings.
    pub(crate) fn new(config: &Config) -> Result<Transport, Vec<Error>> {
        let mut errors = Vec::new();
        let base = match Url::parse(config.address.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base() => {
                Some(url)
            }
            Ok(_) => {
                errors.push(Error::config(
                    Some("VAULT_ADDR"),
                    "the address must be an http:// or https:// URL",
                ));
                None
            }
            Err(e) => {
                errors.push(Error::config(
                    Some("VAULT_ADDR"),
                    format!("the address is not a URL: {e}"),
                ));
                None
            }
        };
        let http = crate::http::tls::http_client(config).map_err(|e| errors.push(e));
        let (Some(base), Ok(http)) = (base, http) else {
            return Err(errors);
        };
        // Plain HTTP is HTTP/1.1: one connection per request in flight.
        let permits = if base.scheme() == "http" {
            config.concurrency.min(crate::config::HTTP1_MAX_IN_FLIGHT)
        } else {
            config.concurrency
        };
        Ok(Transport {
            http,
            address_display: shown_address(&base),
            base,
            retry: config.retry,
            timeout: config.timeout,
            max_response_bytes: config.max_response_bytes,
            namespace: config.namespace.clone(),
            auth_namespace: config.auth_namespace.clone(),
            contact: std::sync::Mutex::new(None),
            permits: tokio::sync::Semaphore::new(permits),
            consistency: Consistency::default(),
        })
    }

    /// Why the last request failed to reach a working server; `None` after a good answer.
    pub(crate) fn last_contact(&self) -> Option<String> {
        self.contact.lock().ok().and_then(|c| c.clone())
    }

    fn note_contact(&self, outcome: Option<String>) {
        if let Ok(mut contact) = self.contact.lock() {
            *contact = outcome;
        }
    }

    fn url(&self, path: &str, query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("v1");
            segments.extend(path.split('/').filter(|s| !s.is_empty()));
        }
        url.set_query(query);
        url
    }

    /// Sends `call`, retrying transient failures per the retry policy.
    #[tracing::instrument(name = "vault.request", skip_all, fields(method = %call.method, path = %call.path))]
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, Error> {
        let policy = if call.retry {
            self.retry
        } else {
            RetryPolicy::none()
        };
        let mut retry = 0;
        loop {
            // Held for the attempt only, never across the backoff sleep.
            let outcome = match self.permits.acquire().await {
                Ok(_permit) => self.attempt(call).await,
                Err(_) => Err(Error::config(None, "the client is closed")),
            };
            let (transient, retry_after) = match &outcome {
                Ok(reply) => (
                    RetryPolicy::is_transient_status(reply.status),
                    reply.retry_after,
                ),
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) => (true, None),
                Err(_) => (false, None),
            };
            match &outcome {
                Ok(reply) => tracing::debug!(status = reply.status, "vault: answered"),
                Err(err) => tracing::debug!(error = %err, "vault: request failed"),
            }
            match &outcome {
                Ok(reply) if reply.status >= 500 && reply.status != 429 => {
                    self.note_contact(Some(reply.status_error(call.path).to_string()));
                }
                Ok(_) => self.note_contact(None),
                Err(
                    err @ (Error::Unreachable { .. }
                    | Error::Timeout { .. }
                    | Error::Untrusted { .. }),
                ) => {
                    self.note_contact(Some(err.to_string()));
                }
                Err(_) => {}
            }
            if !transient || retry >= policy.max_retries {
                metrics::counter!(
                    crate::metrics::REQUESTS,
                    "operation" => crate::metrics::operation(&call.method, call.path),
                    "outcome" => outcome_label(&outcome),
                )
                .increment(1);
                return outcome;
            }
            retry += 1;
            let wait = policy.backoff(retry, retry_after);
            tracing::debug!(retry, wait_ms = wait.as_millis() as u64, "vault: retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// The request for one attempt of `call`. Secrets go to reqwest only in zeroizing holders.
    pub(crate) fn request(&self, call: &Call<'_>) -> Result<reqwest::RequestBuilder, Error> {
        let mut request = self
            .http
            .request(call.method.clone(), self.url(call.path, call.query))
            .header("X-Vault-Request", "true");
        // An empty token is a proxy's auto-auth: the proxy adds its own header.
        if let Some(token) = call.token.filter(|t| !t.expose_secret().is_empty()) {
            let bytes = zeroizing_bytes(Zeroizing::new(token.expose_secret().as_bytes().to_vec()));
            let mut value = HeaderValue::from_maybe_shared(bytes).map_err(|_| {
                Error::config(None, "the token has characters not allowed in a header")
            })?;
            value.set_sensitive(true);
            request = request.header("X-Vault-Token", value);
        }
        let namespace = match call.ns {
            Ns::Secrets => self.namespace.as_deref(),
            Ns::Auth => self.auth_namespace.as_deref().or(self.namespace.as_deref()),
            Ns::Root => None,
        };
        if let Some(ns) = namespace.filter(|ns| !ns.is_empty()) {
            request = request.header("X-Vault-Namespace", ns);
        }
        // A health check describes the node asked: never forwarded to the active node.
        if call.ns != Ns::Root {
            for (name, value) in self.consistency.headers().into_iter().flatten() {
                request = request.header(name, value);
            }
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        Ok(request)
    }

    async fn attempt(&self, call: &Call<'_>) -> Result<Reply, Error> {
        let mut response = self
            .request(call)?
            .send()
            .await
            .map_err(|e| self.transport_error(call.path, &e))?;
        let status = response.status().as_u16();
        self.consistency.observe(response.headers());
        if response.status().is_redirection() {
            return Err(Error::Status {
                path: call.path.to_owned(),
                status,
                message: "redirect not followed: only one redirect to the same host and scheme is"
                    .into(),
            });
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let limit = self.max_response_bytes;
        let too_large = || Error::Malformed {
            path: call.path.to_owned(),
            reason: format!("body larger than the {limit}-byte limit"),
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        // Sized by Content-Length when the server sends one (checked against the limit above).
        let expected = response.content_length().unwrap_or(0) as usize;
        let mut body = Zeroizing::new(Vec::with_capacity(expected));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(call.path, &e))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            append_zeroizing(&mut body, &chunk);
        }
        Ok(Reply {
            status,
            body,
            retry_after,
        })
    }

    fn transport_error(&self, path: &str, err: &reqwest::Error) -> Error {
        if err.is_timeout() {
            return Error::Timeout {
                path: path.to_owned(),
                timeout: self.timeout,
            };
        }
        // The innermost cause ("connection refused", "unexpected EOF"), never the URL's query.
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        if err.is_body() || err.is_decode() {
            // The connection broke mid-answer: transient, like a refused connection.
            reason = format!("connection lost while reading the answer to {path}: {reason}");
        }
        // rustls: "invalid peer certificate: UnknownIssuer". Reached, but not trusted: say
        // which setting fixes it, and do not retry (the answer would be the same).
        if let Some(why) = reason.strip_prefix("invalid peer certificate: ") {
            return Error::Untrusted {
                addr: self.address_display.clone(),
                reason: why.to_owned(),
            };
        }
        Error::Unreachable {
            addr: self.address_display.clone(),
            reason,
        }
    }
}

/// The outcome of a request as a label: the status class, or the kind of transport failure.
fn outcome_label(result: &Result<Reply, Error>) -> &'static str {
    match result {
        Ok(reply) => match reply.status {
            200..=299 => "ok",
            403 => "denied",
            404 => "not_found",
            429 | 500..=599 => "server_error",
            _ => "rejected",
        },
        Err(Error::Unreachable { .. }) => "unreachable",
        Err(Error::Timeout { .. }) => "timeout",
        Err(Error::Untrusted { .. }) => "untrusted",
        Err(_) => "error",
    }
}
