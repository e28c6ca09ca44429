//! The client: what it can do against a server, each capability in its own file, all of them
//! methods of the shared [`Inner`] state over one [`Transport`](crate::http::transport::Transport):
//!
//! | file | what the client does there |
//! |---|---|
//! | [`auth`] | logs in (token, AppRole with wrapped secret ids, Kubernetes, JWT, userpass, cert, agent), re-logs in, learns the max TTL |
//! | [`token`] | looks up, renews and revokes its tokens, keeps replaced ones until their leases are done |
//! | [`kv`] | detects KV v1/v2 per mount, reads, lists and writes KV paths, reads versions |
//! | [`leases`] | reads leased secrets, renews and revokes their leases |
//! | [`health`] | asks `sys/health` what a node is (active, standby, sealed) |
//! | this file | the public [`VaultClient`], its builder, `fetch_all` (one login, every path in parallel) and the [`SecretSource`] the loader calls |

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt as _, StreamExt};
use secrecy::SecretString;
use vault_config_core::{
    BoxFuture, EnvSnapshot, FetchResult, PathKind, Renewal, SecretSource, SourceError, VaultPath,
};

pub(crate) mod auth;
pub(crate) mod health;
pub(crate) mod kv;
pub(crate) mod leases;
pub(crate) mod token;
pub(crate) mod transit;

use crate::config::{Auth, Config, KvVersion, SecretId, Tls};
use crate::http::transport::{Call, Reply, Transport};
use crate::{Error, RetryPolicy};

/// A Vault (or OpenBao) client for loading settings.
///
/// Cheap to clone: clones share the connection pool, the token and the KV version cache.
/// Build it from the standard environment with [`VaultClient::from_env`] or from code with
/// [`VaultClient::builder`]; hand it to a loader with `.vault(client)`.
///
/// ```
/// use vault_config_vault::{Auth, VaultClient};
/// let client = VaultClient::builder()
///     .address("http://127.0.0.1:8200")
///     .auth(Auth::Token("s.dev-token".into()))
///     .namespace("team-a/")
///     .build()
///     .unwrap();
/// assert!(!format!("{client:?}").contains("dev-token"));
/// ```
#[derive(Clone)]
pub struct VaultClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Every request goes through it.
    pub transport: Transport,
    pub config: Config,
    pub session: tokio::sync::Mutex<Session>,
    pub kv_versions: Mutex<HashMap<String, KvVersion>>,
}

/// The current token and what is known of it.
#[derive(Default)]
pub(crate) struct Session {
    pub token: Option<Arc<SecretString>>,
    /// A secret id unwrapped from a single-use wrapping token, kept for re-logins.
    pub unwrapped_secret_id: Option<SecretString>,
    /// The token's TTL when last issued or renewed, and whether it can be renewed.
    pub lease: Option<(Duration, bool)>,
    pub expires_at: Option<std::time::Instant>,
    /// When `maintain` should renew or log in again.
    pub next_action: Option<std::time::Instant>,
    /// The login the token came from: 1 for the first, one more per new login.
    pub generation: u64,
    /// When the token in use was obtained by login.
    pub logged_in_at: Option<std::time::Instant>,
    /// The longest life of a login token, once learned (a renewal capped, or refused past
    /// the max TTL): later tokens are replaced at about 2/3 of it, in good time for the leases
    /// they created to be replaced too.
    pub max_ttl: Option<Duration>,
    /// When the token in use is to be replaced by a new login (from the learned max TTL).
    pub relogin_at: Option<std::time::Instant>,
    /// Login tokens replaced by a newer login, kept alive for the leases they created.
    pub superseded: Vec<Superseded>,
}

/// A login token replaced by a newer login: revoked once none of its leases is in use
/// ([`SecretSource::release_tokens`]), or at close.
pub(crate) struct Superseded {
    pub generation: u64,
    pub token: Arc<SecretString>,
    pub expires_at: Option<std::time::Instant>,
}

impl fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("VaultClient")
            .field("address", &self.inner.transport.address_display)
            .field("auth", &c.auth)
            .field("namespace", &c.namespace)
            .field("auth_namespace", &c.auth_namespace)
            .field("kv_version", &c.kv_version)
            .finish_non_exhaustive()
    }
}

/// Builds a [`VaultClient`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct VaultClientBuilder {
    pub(crate) config: Config,
    pub(crate) errors: Vec<Error>,
}

impl VaultClient {
    /// A builder with the defaults: `https://127.0.0.1:8200`, 10 s timeout, 2 retries.
    pub fn builder() -> VaultClientBuilder {
        VaultClientBuilder::default()
    }

    /// A client configured from the standard environment (`VAULT_*`, or OpenBao's `BAO_*`).
    ///
    /// ```
    /// use vault_config_core::EnvSnapshot;
    /// use vault_config_vault::VaultClient;
    /// let env = EnvSnapshot::from_iter([("VAULT_ADDR", "http://127.0.0.1:8200"), ("VAULT_TOKEN", "t")]);
    /// assert!(VaultClient::from_env(&env).is_ok());
    /// let bad = EnvSnapshot::from_iter([("VAULT_TOKEN", "t"), ("VAULT_SKIP_VERIFY", "maybe")]);
    /// assert!(VaultClient::from_env(&bad).is_err());
    /// ```
    pub fn from_env(env: &EnvSnapshot) -> Result<VaultClient, Vec<Error>> {
        VaultClientBuilder::from_env(env).try_build()
    }

    /// The address the client talks to.
    pub fn address(&self) -> &str {
        &self.inner.transport.address_display
    }
}

impl VaultClientBuilder {
    /// The server address, e.g. `https://vault.internal:8200`.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.config.address = address.into();
        self
    }

    /// How the client gets its token.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.config.auth = Some(auth);
        self
    }

    /// A static token.
    pub fn token(self, token: impl Into<String>) -> Self {
        self.auth(Auth::Token(SecretString::from(token.into())))
    }

    /// AppRole login with a role id and a secret id, at the default `approle` mount.
    pub fn approle(self, role_id: impl Into<String>, secret_id: impl Into<String>) -> Self {
        self.auth(Auth::AppRole {
            mount: "approle".into(),
            role_id: SecretString::from(role_id.into()),
            secret_id: SecretId::Value(SecretString::from(secret_id.into())),
        })
    }

    /// The namespace of the secrets (`X-Vault-Namespace`), e.g. `team-a/`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.config.namespace = Some(namespace.into());
        self
    }

    /// The namespace of the auth mount, when it differs from the secrets' (empty for root).
    pub fn auth_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.config.auth_namespace = Some(namespace.into());
        self
    }

    /// TLS settings.
    pub fn tls(mut self, tls: Tls) -> Self {
        self.config.tls = tls;
        self
    }

    /// The limit for one request, from connect to the end of the body (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// The limit for opening a connection (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// The KV version of every mount, skipping detection.
    pub fn kv_version(mut self, version: KvVersion) -> Self {
        self.config.kv_version = Some(version);
        self
    }

    /// How many requests are in flight at once (default 250, the number of streams Go's
    /// HTTP/2 server, and so Vault and OpenBao, lets one connection have open: a load of up
    /// to 250 requests, detections and reads together, is one wave on one connection);
    /// folder entries count against the same limit. Over plain `http://` (HTTP/1.1, a
    /// connection per request in flight) at most [`HTTP1_MAX_IN_FLIGHT`](crate::HTTP1_MAX_IN_FLIGHT)
    /// are in flight, whatever this says.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// The largest response body accepted (default 4 MiB).
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.config.max_response_bytes = n;
        self
    }

    /// Sends every request through the HTTP proxy at `url` (`http://` or `https://` proxy
    /// URL, credentials allowed: they never print). Without it, and unless [`from_env`]
    /// found `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` in the env snapshot, requests go
    /// directly: the process environment is not consulted behind the snapshot's back.
    ///
    /// [`from_env`]: VaultClientBuilder::from_env
    ///
    /// ```
    /// use vault_config_vault::VaultClient;
    /// let client = VaultClient::builder()
    ///     .address("https://vault.internal:8200")
    ///     .proxy("http://user:pw@proxy.internal:3128")
    ///     .no_proxy("localhost,.svc.cluster.local")
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("pw@"));
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        self.config.proxy.http = Some(url.clone());
        self.config.proxy.https = Some(url);
        self
    }

    /// Hosts reached without the proxy, in `NO_PROXY` syntax: comma-separated names,
    /// `.domain` suffixes, IP addresses, CIDR blocks, or `*` for all.
    pub fn no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.config.proxy.no_proxy = Some(hosts.into());
        self
    }

    /// Builds the client; the first configuration error if any.
    pub fn build(self) -> Result<VaultClient, Error> {
        self.try_build().map_err(|mut errors| errors.swap_remove(0))
    }

    /// Builds the client; every configuration error if any.
    pub fn try_build(self) -> Result<VaultClient, Vec<Error>> {
        let mut errors = self.errors;
        let transport = Transport::new(&self.config).map_err(|e| errors.extend(e));
        let (Ok(transport), true) = (transport, errors.is_empty()) else {
            return Err(errors);
        };
        Ok(VaultClient {
            inner: Arc::new(Inner {
                transport,
                config: self.config,
                session: tokio::sync::Mutex::new(Session::default()),
                kv_versions: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl Inner {
    /// Sends `call` through the transport (headers, retries, limits, metrics).
    pub(crate) async fn send(&self, call: &Call<'_>) -> Result<Reply, Error> {
        self.transport.send(call).await
    }

    /// Reads every path: one login at most, one KV detection per mount, all reads in
    /// parallel; a login-obtained token that is denied gets one re-login.
    #[tracing::instrument(name = "vault.fetch", skip_all, fields(paths = paths.len()))]
    pub(crate) async fn fetch_all(
        &self,
        paths: &[VaultPath],
    ) -> Vec<Result<vault_config_core::SecretData, Error>> {
        let (token, generation) = match self.token_and_generation().await {
            Ok(token) => token,
            Err(err) => return paths.iter().map(|_| Err(err.clone())).collect(),
        };
        let mut results = self.read_batch(paths, &token, generation).await;
        let denied: Vec<usize> = (0..results.len())
            .filter(|&i| matches!(results[i], Err(Error::Denied { .. })))
            .collect();
        let is_login = self.config.auth.as_ref().is_some_and(Auth::is_login);
        if is_login && !denied.is_empty() {
            tracing::info!(
                denied = denied.len(),
                "vault: token denied, logging in again once"
            );
            if let Ok((fresh, generation)) = self.relogin(&token).await {
                let again: Vec<VaultPath> = denied.iter().map(|&i| paths[i].clone()).collect();
                for (i, result) in denied
                    .into_iter()
                    .zip(self.read_batch(&again, &fresh, generation).await)
                {
                    results[i] = result;
                }
            }
        }
        results
    }

    async fn read_batch(
        &self,
        paths: &[VaultPath],
        token: &SecretString,
        generation: u64,
    ) -> Vec<Result<vault_config_core::SecretData, Error>> {
        // Leased, issue and decrypt paths are no KV mount: nothing to detect.
        let mounts: BTreeSet<&str> = paths
            .iter()
            .filter(|p| matches!(p.kind, PathKind::Secret | PathKind::Folder))
            .map(|p| p.mount.as_str())
            .collect();
        // One detection per mount, shared by its reads: each read starts as soon as its own
        // mount's answer is in, not after every mount's.
        let versions: HashMap<&str, Detection<'_>> = mounts
            .into_iter()
            .map(|m| {
                let detect: BoxFuture<'_, Result<KvVersion, Error>> =
                    Box::pin(self.kv_version(m, token));
                (m, detect.shared())
            })
            .collect();
        // At most `concurrency` reads in flight, answers kept in request order.
        let mut queue = paths.iter();
        let mut in_flight = FuturesOrdered::new();
        for path in queue.by_ref().take(self.config.concurrency) {
            in_flight.push_back(self.read_detected(path, &versions, token, generation));
        }
        let mut results = Vec::with_capacity(paths.len());
        while let Some(result) = in_flight.next().await {
            results.push(result);
            if let Some(path) = queue.next() {
                in_flight.push_back(self.read_detected(path, &versions, token, generation));
            }
        }
        results
    }

    /// One path's read once its mount's KV version is known (`VAULT_KV_VERSION`, an earlier
    /// detection, or the detection this batch shares). Never guessed: a KV v2-style read sent
    /// before the answer would, on a KV v1 mount, be a denial in the server's audit log for a
    /// least-privilege token and, for a broad one, the read of an unrelated secret at
    /// `<mount>/data/<path>`. The detection costs a load one round trip per mount the first
    /// time; `VAULT_KV_VERSION` saves it.
    async fn read_detected(
        &self,
        path: &VaultPath,
        versions: &HashMap<&str, Detection<'_>>,
        token: &SecretString,
        generation: u64,
    ) -> Result<vault_config_core::SecretData, Error> {
        if path.kind == PathKind::Lease {
            let data = self.read_lease(path, token).await?;
            return Ok(data.with_owner(Some(generation)));
        }
        if path.kind == PathKind::Issue {
            return self.issue(path, token).await;
        }
        if path.kind == PathKind::Decrypt {
            return self.decrypt(path, token).await;
        }
        let Some(detection) = versions.get(path.mount.as_str()) else {
            return Err(Error::config(None, "internal: mount not detected"));
        };
        let version = detection.clone().await?;
        match path.kind {
            PathKind::Folder => self.read_folder(path, version, token).await,
            _ => self.read(path, version, token).await,
        }
    }
}

/// A mount's KV version detection, awaited by each of its reads.
type Detection<'a> = futures_util::future::Shared<BoxFuture<'a, Result<KvVersion, Error>>>;

impl SecretSource for VaultClient {
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
        Box::pin(async move {
            self.inner
                .fetch_all(paths)
                .await
                .into_iter()
                .map(|r| r.map_err(SourceError::from))
                .collect()
        })
    }

    fn maintain(&self) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(self.inner.maintain())
    }

    fn versions<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<Option<u64>>> {
        Box::pin(self.inner.current_versions(paths))
    }

    fn monotonic_reads(&self) -> bool {
        self.inner.transport.consistency.known()
    }

    fn status(&self) -> BoxFuture<'_, vault_config_core::SourceStatus> {
        Box::pin(self.inner.status())
    }

    fn renew_lease<'a>(
        &'a self,
        lease_id: &'a str,
        increment: Duration,
    ) -> BoxFuture<'a, Result<Renewal, SourceError>> {
        Box::pin(async move {
            self.inner
                .renew_lease(lease_id, increment)
                .await
                .map_err(SourceError::from)
        })
    }

    fn revoke_lease<'a>(&'a self, lease_id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            self.inner
                .revoke_lease(lease_id)
                .await
                .map_err(SourceError::from)
        })
    }

    fn release_tokens<'a>(&'a self, in_use: &'a [u64]) -> BoxFuture<'a, ()> {
        Box::pin(self.inner.release_tokens(in_use))
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.inner.close())
    }
}
