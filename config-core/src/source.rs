//! The Vault layer as the loader sees it: the [`SecretSource`] trait and its request and answer types.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use zeroize::Zeroize;

/// A boxed, `Send` future, as returned by [`SecretSource::fetch`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The answer for one path of a batch.
pub type FetchResult = Result<SecretData, SourceError>;

/// What a [`VaultPath`] names, and so how a source reads it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// One KV secret: its key/values.
    #[default]
    Secret,
    /// A KV folder: the source lists it and answers with every secret directly inside it, as
    /// one [`SecretData`] of entry name to key/values.
    Folder,
    /// Any engine's path that answers with a lease (`database/creds/app`): read with a plain
    /// GET, answered with the `data` and the lease (id, TTL, renewability). Every read makes
    /// new credentials, so live settings read it again only to rotate.
    Lease,
    /// A secrets engine's path that makes a new item on each write: a PKI role's
    /// `pki/issue/<role>` (`pki = ".."`), asked with the [`IssueTerms`] of
    /// [`VaultPath::issue`] as the body of a POST, answered with the certificate's data and
    /// its end (`expiration`) as the TTL. Live settings issue again only when it is due.
    Issue,
    /// A transit key's decrypt endpoint (`transit/decrypt/<key>`), asked with every
    /// ciphertext of a load ([`VaultPath::ciphertexts`]) in one `batch_input` POST, answered
    /// with one entry per ciphertext under its index (`"0"`, `"1"`, ..): the plaintext, or
    /// `{"error": ".."}` for one that did not decrypt. The same ciphertexts give the same
    /// plaintexts, so live settings ask again only when a ciphertext changed.
    Decrypt,
}

impl PathKind {
    /// Whether every read makes something new (leased credentials, a certificate): live
    /// settings read such a path again only when what they hold is due, and keep it until
    /// then.
    ///
    /// ```
    /// use vault_config_core::PathKind;
    /// assert!(PathKind::Lease.is_made() && PathKind::Issue.is_made());
    /// assert!(!PathKind::Secret.is_made() && !PathKind::Folder.is_made());
    /// ```
    pub fn is_made(self) -> bool {
        matches!(self, PathKind::Lease | PathKind::Issue)
    }
}

/// What an issue path (`pki = "pki/issue/internal"`) asks for: the request's terms, as the
/// attribute writes them and the field's env vars override them (`<FIELD ENV>_COMMON_NAME`,
/// `_ALT_NAMES`, `_IP_SANS`, `_TTL`, `_RENEW_BEFORE`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub struct IssueTerms {
    /// The certificate's common name.
    pub common_name: String,
    /// DNS names and email addresses besides the common name.
    pub alt_names: Vec<String>,
    /// IP addresses in the certificate.
    pub ip_sans: Vec<String>,
    /// The validity asked for, as Vault reads it (`24h`); the role's `max_ttl` may cut it, and
    /// live settings schedule by the certificate's real end, never by this.
    pub ttl: Option<String>,
    /// Issue again this long before the certificate ends, instead of at about two thirds of
    /// its validity.
    pub renew_before: Option<Duration>,
}

impl IssueTerms {
    /// The suffixes of the env vars that override an issue path's terms, after the field's own
    /// env name: `API_TLS_COMMON_NAME`, `API_TLS_ALT_NAMES` (comma-separated), `API_TLS_IP_SANS`,
    /// `API_TLS_TTL`, `API_TLS_RENEW_BEFORE`.
    pub const ENV_SUFFIXES: [&'static str; 5] = [
        "_COMMON_NAME",
        "_ALT_NAMES",
        "_IP_SANS",
        "_TTL",
        "_RENEW_BEFORE",
    ];

    /// The terms for `profile`: `{profile}` replaced in the names.
    ///
    /// ```
    /// use vault_config_core::IssueTerms;
    /// let mut terms = IssueTerms::default();
    /// terms.common_name = "api.{profile}.internal".into();
    /// terms.alt_names = vec!["{profile}-api".into()];
    /// let staging = terms.for_profile("staging");
    /// assert_eq!(staging.common_name, "api.staging.internal");
    /// assert_eq!(staging.alt_names, ["staging-api"]);
    /// ```
    pub fn for_profile(&self, profile: &str) -> Self {
        let sub = |t: &String| crate::profile::substitute(t, profile);
        Self {
            common_name: sub(&self.common_name),
            alt_names: self.alt_names.iter().map(sub).collect(),
            ip_sans: self.ip_sans.iter().map(sub).collect(),
            ..self.clone()
        }
    }

    /// The body of the issue request: the terms Vault reads (never `renew_before`).
    ///
    /// ```
    /// use vault_config_core::IssueTerms;
    /// let mut terms = IssueTerms::default();
    /// terms.common_name = "api.internal".into();
    /// terms.alt_names = vec!["api".into(), "localhost".into()];
    /// let body = terms.body();
    /// assert_eq!(body["common_name"], "api.internal");
    /// assert_eq!(body["alt_names"], "api,localhost");
    /// assert!(body.get("ttl").is_none());
    /// ```
    pub fn body(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("common_name".into(), self.common_name.clone().into());
        if !self.alt_names.is_empty() {
            body.insert("alt_names".into(), self.alt_names.join(",").into());
        }
        if !self.ip_sans.is_empty() {
            body.insert("ip_sans".into(), self.ip_sans.join(",").into());
        }
        if let Some(ttl) = &self.ttl {
            body.insert("ttl".into(), ttl.clone().into());
        }
        Value::Object(body)
    }
}

/// One distinct Vault location to read: a KV mount and a path inside it, as the user writes it
/// (`secret` + `myapp/database`, never `secret/data/...`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VaultPath {
    /// The secrets engine mount, e.g. `secret`.
    pub mount: String,
    /// The path inside the mount, e.g. `myapp/production/database`.
    pub path: String,
    /// A secret, a folder, a leased path or an issue path.
    pub kind: PathKind,
    /// What an issue path asks for (`kind` is [`PathKind::Issue`]); `None` for the others.
    pub issue: Option<Box<IssueTerms>>,
    /// What a decrypt path asks to decrypt (`kind` is [`PathKind::Decrypt`]); empty for the
    /// others.
    pub ciphertexts: Ciphertexts,
}

/// The transit ciphertexts (`vault:v2:..`) a decrypt path asks for, in order. They are not
/// the secrets, yet never shown either: `Debug` gives their number.
///
/// ```
/// use vault_config_core::Ciphertexts;
/// let c = Ciphertexts(vec!["vault:v1:AAAA".into()]);
/// assert_eq!(format!("{c:?}"), "Ciphertexts(1)");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ciphertexts(pub Vec<String>);

impl fmt::Debug for Ciphertexts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ciphertexts({})", self.0.len())
    }
}

impl VaultPath {
    /// A path inside `mount`; leading and trailing `/` are trimmed from both parts.
    ///
    /// ```
    /// use vault_config_core::VaultPath;
    /// let p = VaultPath::new("/secret/", "myapp/db/");
    /// assert_eq!(p.to_string(), "secret/myapp/db");
    /// ```
    pub fn new(mount: impl AsRef<str>, path: impl AsRef<str>) -> Self {
        VaultPath {
            mount: mount.as_ref().trim_matches('/').to_owned(),
            path: path.as_ref().trim_matches('/').to_owned(),
            kind: PathKind::Secret,
            issue: None,
            ciphertexts: Ciphertexts::default(),
        }
    }

    /// A folder inside `mount`, shown with a trailing `/`.
    ///
    /// ```
    /// use vault_config_core::VaultPath;
    /// assert_eq!(VaultPath::folder("secret", "gpubroker").to_string(), "secret/gpubroker/");
    /// ```
    pub fn folder(mount: impl AsRef<str>, path: impl AsRef<str>) -> Self {
        VaultPath {
            kind: PathKind::Folder,
            ..VaultPath::new(mount, path)
        }
    }

    /// A path that answers with a lease, e.g. `database` + `creds/app`.
    ///
    /// ```
    /// use vault_config_core::{PathKind, VaultPath};
    /// let p = VaultPath::lease("database", "creds/app");
    /// assert_eq!((p.to_string().as_str(), p.kind), ("database/creds/app", PathKind::Lease));
    /// ```
    pub fn lease(mount: impl AsRef<str>, path: impl AsRef<str>) -> Self {
        VaultPath {
            kind: PathKind::Lease,
            ..VaultPath::new(mount, path)
        }
    }

    /// The decrypt endpoint of the transit key `key` in `mount` for `ciphertexts`:
    /// `transit/decrypt/myapp`.
    ///
    /// ```
    /// use vault_config_core::{PathKind, VaultPath};
    /// let p = VaultPath::decrypt("transit", "myapp", vec!["vault:v1:AAAA".into()]);
    /// assert_eq!((p.to_string().as_str(), p.kind), ("transit/decrypt/myapp", PathKind::Decrypt));
    /// assert_eq!(p.transit_key(), Some("myapp"));
    /// ```
    pub fn decrypt(mount: impl AsRef<str>, key: &str, ciphertexts: Vec<String>) -> Self {
        VaultPath {
            kind: PathKind::Decrypt,
            ciphertexts: Ciphertexts(ciphertexts),
            ..VaultPath::new(mount, format!("decrypt/{}", key.trim_matches('/')))
        }
    }

    /// The transit key's name of a decrypt path (`None` for other paths).
    pub fn transit_key(&self) -> Option<&str> {
        (self.kind == PathKind::Decrypt)
            .then(|| self.path.strip_prefix("decrypt/"))
            .flatten()
    }

    /// The secret `name` directly inside this folder.
    pub fn child(&self, name: &str) -> VaultPath {
        VaultPath::new(
            &self.mount,
            format!("{}/{}", self.path, name.trim_matches('/')),
        )
    }
}

impl fmt::Display for VaultPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}{}",
            self.mount,
            self.path,
            if self.kind == PathKind::Folder {
                "/"
            } else {
                ""
            }
        )
    }
}

/// Seconds since the Unix epoch now (0 on a clock before it): the one wall clock that
/// certificate ends (`expiration`) are compared with.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The key/value data read from one Vault path.
///
/// Values are secrets: `Debug` lists only the keys, and every string inside is zeroized when
/// the data is dropped.
///
/// ```
/// use vault_config_core::SecretData;
/// let data: SecretData = [("url", "postgres://canary")].into_iter().collect();
/// assert_eq!(data.get("url").and_then(|v| v.as_str()), Some("postgres://canary"));
/// assert!(!format!("{data:?}").contains("canary"));
/// ```
#[derive(Default, Clone)]
pub struct SecretData {
    map: BTreeMap<String, Value>,
    version: Option<u64>,
    lease: Option<Duration>,
    lease_id: Option<String>,
    renewable: bool,
    owner: Option<u64>,
}

impl SecretData {
    /// Data from a map of keys to JSON values (KV values may be any JSON).
    pub fn new(map: BTreeMap<String, Value>) -> Self {
        SecretData {
            map,
            version: None,
            lease: None,
            lease_id: None,
            renewable: false,
            owner: None,
        }
    }

    /// The same data, marked with the login that read it (the token's
    /// [generation](SourceStatus::token_generation)): a token's expiry or revocation revokes
    /// every lease it created, so live settings replace leased credentials before their owner
    /// goes away.
    ///
    /// ```
    /// use vault_config_core::SecretData;
    /// assert_eq!(SecretData::default().with_owner(Some(3)).owner(), Some(3));
    /// ```
    pub fn with_owner(mut self, owner: Option<u64>) -> Self {
        self.owner = owner;
        self
    }

    /// The generation of the token that read the data, when the source tells it.
    pub fn owner(&self) -> Option<u64> {
        self.owner
    }

    /// The same data, marked with the lease it was issued under (an empty id is no lease) and
    /// whether that lease can be renewed. Its TTL is [`with_lease`](Self::with_lease).
    ///
    /// ```
    /// use vault_config_core::SecretData;
    /// let data = SecretData::default().with_lease_id("database/creds/app/abc123", true);
    /// assert_eq!((data.lease_id(), data.renewable()), (Some("database/creds/app/abc123"), true));
    /// assert_eq!(SecretData::default().with_lease_id("", true).lease_id(), None);
    /// ```
    pub fn with_lease_id(mut self, id: impl Into<String>, renewable: bool) -> Self {
        let id = id.into();
        self.renewable = renewable && !id.is_empty();
        self.lease_id = (!id.is_empty()).then_some(id);
        self
    }

    /// The lease the data was issued under, when it has one. Not a secret, but never shown in
    /// full: see [`short_lease_id`].
    pub fn lease_id(&self) -> Option<&str> {
        self.lease_id.as_deref()
    }

    /// Whether the lease can be renewed.
    pub fn renewable(&self) -> bool {
        self.renewable
    }

    /// The same data, marked with the KV v2 version it was read at.
    pub fn with_version(mut self, version: Option<u64>) -> Self {
        self.version = version;
        self
    }

    /// The same data, with the refresh hint a KV v1 read gave (`lease_duration`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use vault_config_core::SecretData;
    /// let data = SecretData::default().with_lease(Some(Duration::from_secs(3600))).with_version(Some(3));
    /// assert_eq!((data.lease(), data.version()), (Some(Duration::from_secs(3600)), Some(3)));
    /// ```
    pub fn with_lease(mut self, lease: Option<Duration>) -> Self {
        self.lease = lease.filter(|l| !l.is_zero());
        self
    }

    /// The KV v2 version read, when known.
    pub fn version(&self) -> Option<u64> {
        self.version
    }

    /// The refresh hint of a KV v1 read, or the TTL of a leased read, when it gave one.
    pub fn lease(&self) -> Option<Duration> {
        self.lease
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    /// The key/values as one JSON object (a copy; zeroize it when done).
    pub fn to_object(&self) -> Value {
        Value::Object(
            self.map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// The keys present, in order. Keys are names, not secrets.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// How many keys the path holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the path holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for SecretData {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        SecretData::new(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretData")
            .field("keys", &self.map.keys().collect::<Vec<_>>())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Drop for SecretData {
    fn drop(&mut self) {
        for value in self.map.values_mut() {
            zeroize_json(value);
        }
    }
}

/// Overwrites every string inside a JSON value, e.g. a request body that held credentials.
///
/// ```
/// let mut body = serde_json::json!({ "secret_id": "s3cr3t", "n": [ "x" ] });
/// vault_config_core::zeroize_json(&mut body);
/// assert_eq!(body, serde_json::json!({ "secret_id": "", "n": [ "" ] }));
/// ```
pub fn zeroize_json(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(zeroize_json),
        Value::Object(map) => map.values_mut().for_each(zeroize_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// What kind of failure a [`SourceError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The source refused access to the path (Vault 403).
    Denied,
    /// The path does not exist (Vault 404): fields fall through to their defaults.
    NotFound,
    /// The latest KV v2 version was deleted or destroyed: fields fall through as for
    /// `NotFound`, and the report says why.
    Deleted,
    /// The source could not be reached or was not ready (connect error, timeout, sealed).
    Unavailable,
    /// The source answered something that could not be understood.
    Malformed,
}

/// A lease id as every output shows it: the path it was issued for and the last 4
/// characters of its own part, never the whole id.
///
/// ```
/// use vault_config_core::short_lease_id;
/// assert_eq!(short_lease_id("database/creds/app/eEzXniH27Wm2iBofX5DK9rvi"), "database/creds/app/…9rvi");
/// assert_eq!(short_lease_id("abc"), "…");
/// ```
pub fn short_lease_id(id: &str) -> String {
    let (path, own) = id.rsplit_once('/').unwrap_or(("", id));
    let tail: String = if own.chars().count() >= 12 {
        own.chars().skip(own.chars().count() - 4).collect()
    } else {
        String::new()
    };
    if path.is_empty() {
        format!("…{tail}")
    } else {
        format!("{path}/…{tail}")
    }
}

/// A renewed lease: its new TTL and whether it can be renewed again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Renewal {
    /// The TTL the server granted; less than the increment asked for when the lease reached
    /// its max TTL.
    pub ttl: Duration,
    /// Whether the lease can be renewed again.
    pub renewable: bool,
}

impl Renewal {
    /// A renewal granting `ttl`.
    pub fn new(ttl: Duration, renewable: bool) -> Self {
        Renewal { ttl, renewable }
    }
}

/// Why one path could not be read. The message must name the path and never carry a token or
/// a secret value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    kind: SourceErrorKind,
    message: String,
}

impl SourceError {
    /// An error of `kind` with a message (lowercase, no trailing period, no secret).
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> Self {
        SourceError {
            kind,
            message: message.into(),
        }
    }

    /// Access was denied.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::Denied, message)
    }

    /// The path does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::NotFound, message)
    }

    /// The source could not be reached.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::Unavailable, message)
    }

    /// The latest version was deleted or destroyed.
    pub fn deleted(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::Deleted, message)
    }

    /// The answer could not be understood.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(SourceErrorKind::Malformed, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// The message, naming the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Where the loader gets Vault secrets from: the real client in `vault-config`'s Vault crate,
/// [`MockVault`](crate::testing::MockVault) in tests, or your own store.
///
/// The loader calls it at most once per load with every distinct path the load still needs
/// (fields that env filled are not asked for), so an implementation can fetch them
/// concurrently. The answer holds one result per requested path, in request order.
///
/// Every method is async. Synchronous loads (`Settings::load()`) wait for them through the
/// loader's one blocking bridge: `vault-config` runs them on a small runtime of its own, so a
/// source built on Tokio's I/O works from synchronous code inside or outside a runtime.
pub trait SecretSource: Send + Sync {
    /// Reads every path of the batch.
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>>;

    /// Keeps the source's credentials alive (token renewal, re-login) for live settings, and
    /// says when to call again; `None` when there is nothing to maintain.
    fn maintain(&self) -> BoxFuture<'_, Option<Duration>> {
        Box::pin(async { None })
    }

    /// The current version of each path when the source can tell it cheaply (KV v2
    /// metadata), so live settings re-read only what changed; `None` means "read it again".
    fn versions<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<Option<u64>>> {
        Box::pin(async move { vec![None; paths.len()] })
    }

    /// Whether every answer reflects at least the state of every earlier answer of this
    /// source, whichever server of a cluster gives it (Vault's `X-Vault-Index`). When it does
    /// not, live settings read a KV v2 version older than the published one as a lagging
    /// standby's answer and keep what they published; when it does, an older version is real
    /// (the secret was deleted and written again) and is published.
    fn monotonic_reads(&self) -> bool {
        false
    }

    /// Whether the source is reachable and authenticated, for a health endpoint.
    fn status(&self) -> BoxFuture<'_, SourceStatus> {
        Box::pin(async { SourceStatus::connected() })
    }

    /// Renews the lease `lease_id` by `increment`, for live settings; a source without leases
    /// answers `Denied`.
    fn renew_lease<'a>(
        &'a self,
        lease_id: &'a str,
        increment: Duration,
    ) -> BoxFuture<'a, Result<Renewal, SourceError>> {
        let _ = (lease_id, increment);
        Box::pin(async { Err(SourceError::denied("this source does not renew leases")) })
    }

    /// Revokes the lease `lease_id` (credentials replaced, or given back at shutdown).
    fn revoke_lease<'a>(&'a self, lease_id: &'a str) -> BoxFuture<'a, Result<(), SourceError>> {
        let _ = lease_id;
        Box::pin(async { Err(SourceError::denied("this source does not revoke leases")) })
    }

    /// Revokes the tokens this source replaced by a newer login (after a refused renewal, its
    /// max TTL, or a 403) that own none of the leases in use: `in_use` lists the owners
    /// ([`SecretData::owner`]) of every lease still held. A source keeps a replaced token
    /// alive until then, since revoking it would revoke the credentials it leased.
    fn release_tokens<'a>(&'a self, in_use: &'a [u64]) -> BoxFuture<'a, ()> {
        let _ = in_use;
        Box::pin(async {})
    }

    /// Releases what the source holds: revokes every token it obtained by login (which takes
    /// any lease still under them).
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A source's own view of its health.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SourceStatus {
    /// Whether the source answered and accepted its credentials.
    pub connected: bool,
    /// Seconds left on the source's token, when it has one that expires.
    pub token_ttl_remaining: Option<u64>,
    /// Why the source is not connected.
    pub error: Option<String>,
    /// Which login the token in use came from (1 for the first, one more for each new
    /// login); leases read with it carry the same number ([`SecretData::owner`]).
    pub token_generation: Option<u64>,
    /// Tokens replaced by a newer login and kept alive for the leases they own; a token
    /// not listed here (and not the current one) is gone, and its leases with it.
    pub superseded_tokens: Vec<TokenLife>,
}

/// A login token the source still holds, by generation, and the time it has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TokenLife {
    /// The login it came from (see [`SourceStatus::token_generation`]).
    pub generation: u64,
    /// Time left before it expires; `None` when it does not.
    pub expires_in: Option<Duration>,
}

impl TokenLife {
    /// A token of `generation` with `expires_in` left.
    pub fn new(generation: u64, expires_in: Option<Duration>) -> Self {
        TokenLife {
            generation,
            expires_in,
        }
    }
}

impl SourceStatus {
    /// A reachable source with no expiring token.
    pub fn connected() -> Self {
        SourceStatus {
            connected: true,
            ..SourceStatus::default()
        }
    }

    /// An unreachable source, and why.
    pub fn disconnected(error: impl Into<String>) -> Self {
        SourceStatus {
            connected: false,
            error: Some(error.into()),
            ..SourceStatus::default()
        }
    }
}
