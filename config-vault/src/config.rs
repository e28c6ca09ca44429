//! Everything the client can be told: address, auth method, namespaces, TLS, timeouts,
//! retries, KV version. Built from code with [`VaultClientBuilder`] or from the standard
//! environment with [`VaultClientBuilder::from_env`](crate::VaultClientBuilder::from_env).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::RetryPolicy;

/// The most requests a client has in flight over plain HTTP (`http://`), where each needs a
/// connection of its own (HTTP/1.1); the lower of this and the client's concurrency applies.
/// Over HTTPS the requests share one HTTP/2 connection and only the concurrency bounds them.
pub const HTTP1_MAX_IN_FLIGHT: usize = 32;

/// The default path of a Kubernetes service account token.
pub const K8S_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// The KV secrets engine version of a mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KvVersion {
    /// KV v1: `GET {mount}/{path}`.
    V1,
    /// KV v2: `GET {mount}/data/{path}`.
    V2,
}

/// How the client gets its token.
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// A token given as is (`VAULT_TOKEN`, `~/.vault-token`). Never revoked by the client.
    Token(SecretString),
    /// AppRole login (`VAULT_ROLE_ID` + a secret id).
    AppRole {
        /// The auth mount, default `approle`.
        mount: String,
        /// The role id.
        role_id: SecretString,
        /// Where the secret id comes from.
        secret_id: SecretId,
    },
    /// Kubernetes login: the service account JWT, re-read from `jwt_path` at every login.
    Kubernetes {
        /// The auth mount, default `kubernetes`.
        mount: String,
        /// The Vault role.
        role: String,
        /// The JWT file.
        jwt_path: PathBuf,
    },
    /// JWT login: a JWT re-read from `jwt_path` at every login.
    Jwt {
        /// The auth mount, default `jwt`.
        mount: String,
        /// The Vault role; the mount's default role when `None`.
        role: Option<String>,
        /// The JWT file.
        jwt_path: PathBuf,
    },
    /// Username and password login (`VAULT_USERNAME` + `VAULT_PASSWORD` or
    /// `VAULT_PASSWORD_FILE`).
    Userpass {
        /// The auth mount, default `userpass`.
        mount: String,
        /// The user name.
        username: String,
        /// The password, or the file holding it (re-read at every login).
        password: Password,
    },
    /// TLS certificate login: the client certificate of [`Tls::client_cert`]
    /// (`VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY`) is the credential.
    Cert {
        /// The auth mount, default `cert`.
        mount: String,
        /// The certificate role to log in against; any matching one when `None`.
        name: Option<String>,
    },
    /// No credentials of the app's own: a Vault Agent or OpenBao Proxy with auto-auth in
    /// front of the server adds its token to every request, and renews it. Requests carry no
    /// token; nothing is renewed or revoked by the client.
    Proxy,
}

/// A credential given as a value or as a file to read (re-read at every login): a userpass
/// password, a wrapping token. `Debug` shows the file's path, never a value.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credential {
    /// The value itself (`VAULT_PASSWORD`, `VAULT_WRAPPED_SECRET_ID`).
    Value(SecretString),
    /// A file holding it (`VAULT_PASSWORD_FILE`, `VAULT_WRAPPED_SECRET_ID_FILE`).
    File(PathBuf),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Value(_) => f.write_str("Value([REDACTED])"),
            Credential::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

/// A userpass password, given or in a file.
pub type Password = Credential;

impl Auth {
    /// The method's name, as in `VAULT_AUTH_METHOD`.
    pub fn method(&self) -> &'static str {
        match self {
            Auth::Token(_) => "token",
            Auth::AppRole { .. } => "approle",
            Auth::Kubernetes { .. } => "kubernetes",
            Auth::Jwt { .. } => "jwt",
            Auth::Userpass { .. } => "userpass",
            Auth::Cert { .. } => "cert",
            Auth::Proxy => "proxy",
        }
    }

    /// Whether the token comes from a login (and so may be re-obtained and revoked).
    pub fn is_login(&self) -> bool {
        !matches!(self, Auth::Token(_) | Auth::Proxy)
    }
}

impl fmt::Debug for Auth {
    /// Method, mount and role only: never a token, secret id or JWT.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Token(_) => f.write_str("Token([REDACTED])"),
            Auth::AppRole {
                mount, secret_id, ..
            } => f
                .debug_struct("AppRole")
                .field("mount", mount)
                .field("secret_id", secret_id)
                .finish_non_exhaustive(),
            Auth::Kubernetes {
                mount,
                role,
                jwt_path,
            } => f
                .debug_struct("Kubernetes")
                .field("mount", mount)
                .field("role", role)
                .field("jwt_path", jwt_path)
                .finish(),
            Auth::Jwt {
                mount,
                role,
                jwt_path,
            } => f
                .debug_struct("Jwt")
                .field("mount", mount)
                .field("role", role)
                .field("jwt_path", jwt_path)
                .finish(),
            Auth::Userpass {
                mount,
                username,
                password,
            } => f
                .debug_struct("Userpass")
                .field("mount", mount)
                .field("username", username)
                .field("password", password)
                .finish(),
            Auth::Cert { mount, name } => f
                .debug_struct("Cert")
                .field("mount", mount)
                .field("name", name)
                .finish(),
            Auth::Proxy => f.write_str("Proxy"),
        }
    }
}

/// Where an AppRole secret id comes from.
#[derive(Clone)]
#[non_exhaustive]
pub enum SecretId {
    /// No secret id (`bind_secret_id=false` roles).
    None,
    /// The value (`VAULT_SECRET_ID`).
    Value(SecretString),
    /// A file, re-read at every login (`VAULT_SECRET_ID_FILE`).
    File(PathBuf),
    /// A response-wrapping token (`VAULT_WRAPPED_SECRET_ID` or `..._FILE`): its creation path is
    /// checked, then it is unwrapped once and the secret id kept for later logins.
    Wrapped {
        /// The wrapping token, or the file holding it.
        token: WrappingToken,
        /// The exact creation path expected; by default any `auth/{mount}/role/*/secret-id`.
        expected_path: Option<String>,
    },
}

/// A wrapping token, given or in a file.
pub type WrappingToken = Credential;

impl fmt::Debug for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretId::None => f.write_str("None"),
            SecretId::Value(_) => f.write_str("Value([REDACTED])"),
            SecretId::File(p) => f.debug_tuple("File").field(p).finish(),
            SecretId::Wrapped { expected_path, .. } => f
                .debug_struct("Wrapped")
                .field("expected_path", expected_path)
                .finish_non_exhaustive(),
        }
    }
}

/// TLS settings. Verification is on unless `skip_verify` is explicitly true.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Tls {
    /// A PEM CA file (`VAULT_CACERT`); wins over `ca_path`.
    pub ca_cert: Option<PathBuf>,
    /// A directory of PEM CA files (`VAULT_CAPATH`).
    pub ca_path: Option<PathBuf>,
    /// Client certificate and key, PEM (`VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY`).
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Accept any server certificate (`VAULT_SKIP_VERIFY=true`). Never the default.
    pub skip_verify: bool,
}

/// Everything a [`VaultClient`](crate::VaultClient) is built from.
#[derive(Clone)]
pub(crate) struct Config {
    pub address: String,
    pub auth: Option<Auth>,
    pub namespace: Option<String>,
    pub auth_namespace: Option<String>,
    pub tls: Tls,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    pub kv_version: Option<KvVersion>,
    pub concurrency: usize,
    pub max_response_bytes: usize,
    pub proxy: Proxies,
}

/// The HTTP proxies requests go through. Never read from the process environment behind the
/// env snapshot's back: set in code, or by `from_env` from the snapshot's `HTTP(S)_PROXY`.
#[derive(Clone, Default)]
pub(crate) struct Proxies {
    /// For `http://` addresses.
    pub http: Option<String>,
    /// For `https://` addresses.
    pub https: Option<String>,
    /// Hosts reached directly (`NO_PROXY` syntax: names, domains, IPs, CIDR blocks, `*`).
    pub no_proxy: Option<String>,
}

impl fmt::Debug for Proxies {
    /// Proxy URLs without the credentials they may carry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |url: &Option<String>| {
            url.as_deref().map(|u| match reqwest::Url::parse(u.trim()) {
                Ok(url) => shown_address(&url),
                Err(_) => "(not a URL)".to_owned(),
            })
        };
        f.debug_struct("Proxies")
            .field("http", &shown(&self.http))
            .field("https", &shown(&self.https))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl fmt::Debug for Config {
    /// The address without credentials in it; auth as its own `Debug` shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = match reqwest::Url::parse(self.address.trim()) {
            Ok(url) => shown_address(&url),
            Err(_) => "(not a URL)".to_owned(),
        };
        f.debug_struct("Config")
            .field("address", &address)
            .field("auth", &self.auth)
            .field("namespace", &self.namespace)
            .field("auth_namespace", &self.auth_namespace)
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("kv_version", &self.kv_version)
            .field("concurrency", &self.concurrency)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("proxy", &self.proxy)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            address: "https://127.0.0.1:8200".to_owned(),
            auth: None,
            namespace: None,
            auth_namespace: None,
            tls: Tls::default(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            kv_version: None,
            concurrency: 250,
            max_response_bytes: 4 * 1024 * 1024,
            proxy: Proxies::default(),
        }
    }
}

/// The address as every output shows it: credentials in it (`https://user:pass@host`) removed.
pub(crate) fn shown_address(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.as_str().trim_end_matches('/').to_owned()
}

/// What a load says when Vault is on but nothing says how to authenticate.
pub(crate) const NO_CREDENTIALS: &str = "no Vault credentials: set VAULT_TOKEN, VAULT_ROLE_ID (AppRole), VAULT_USERNAME (userpass), VAULT_ROLE (Kubernetes), VAULT_JWT_PATH (JWT) or VAULT_AUTH_METHOD=cert, or point VAULT_AGENT_ADDR at a Vault Agent or OpenBao Proxy with auto-auth";
