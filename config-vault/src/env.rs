//! The standard environment: `VAULT_*` names (OpenBao's `BAO_*` accepted too) and the common
//! switches (`VAULT_ENABLED`, `VAULT_FALLBACK`), read from an env snapshot — never from the
//! process directly.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use vault_config_core::location::Overrides;
use vault_config_core::{EnvSnapshot, Fallback, VaultSetup};

use crate::config::{Auth, K8S_TOKEN_PATH, KvVersion, Password, SecretId, Tls, WrappingToken};

use crate::{Error, RetryPolicy, VaultClient, VaultClientBuilder, agent};

/// Every `VAULT_{suffix}` / `BAO_{suffix}` this crate reads (live settings read
/// `REFRESH_INTERVAL`): a set variable close to one of these but not one of them is a typo.
pub(crate) const KNOWN: &[&str] = &[
    "ADDR",
    "AGENT_ADDR",
    "ENABLED",
    "TOKEN",
    "AUTH_METHOD",
    "AUTH_MOUNT",
    "ROLE_ID",
    "SECRET_ID",
    "SECRET_ID_FILE",
    "WRAPPED_SECRET_ID",
    "WRAPPED_SECRET_ID_FILE",
    "SECRET_ID_WRAPPING_PATH",
    "ROLE",
    "K8S_TOKEN_PATH",
    "JWT_PATH",
    "USERNAME",
    "PASSWORD",
    "PASSWORD_FILE",
    "NAMESPACE",
    "AUTH_NAMESPACE",
    "CACERT",
    "CAPATH",
    "CLIENT_CERT",
    "CLIENT_KEY",
    "SKIP_VERIFY",
    "CLIENT_TIMEOUT",
    "MAX_RETRIES",
    "KV_VERSION",
    "MOUNT_POINT",
    "BASE_PATH",
    "FALLBACK",
    "REFRESH_INTERVAL",
    "SECRETS_PATH",
];

/// `VAULT_*` / `BAO_*` variables that are set, are not read here, and are one typo away from
/// one that is (`VAULT_SECRETID`, `VAULT_ADR`) while that one is unset: a Config problem
/// each, with the name meant. Other tools' variables (`VAULT_FORMAT`) are too far to match.
fn misspelled(env: &EnvSnapshot) -> Vec<Error> {
    let mut errors = Vec::new();
    for name in env.names() {
        let Some((prefix, suffix)) = ["VAULT_", "BAO_"]
            .into_iter()
            .find_map(|p| name.strip_prefix(p).map(|s| (p, s)))
        else {
            continue;
        };
        if KNOWN.contains(&suffix) || env.is_alias(name) {
            continue;
        }
        let Some(meant) = vault_config_core::nearest_name(suffix, KNOWN.iter().copied()) else {
            continue;
        };
        let meant = format!("{prefix}{meant}");
        if env.get(&meant).is_none() {
            errors.push(Error::config(
                Some(name),
                format!("{name} is not a variable vault-config reads; did you mean {meant}?"),
            ));
        }
    }
    errors
}

/// Reads `VAULT_{suffix}`, then `BAO_{suffix}`; an empty value counts as unset.
struct Vars<'a> {
    env: &'a EnvSnapshot,
    errors: Vec<Error>,
}

impl<'a> Vars<'a> {
    fn get(&mut self, suffix: &str) -> Option<(String, &'a str)> {
        debug_assert!(
            KNOWN.contains(&suffix),
            "VAULT_{suffix} is missing from KNOWN"
        );
        for prefix in ["VAULT_", "BAO_"] {
            let name = format!("{prefix}{suffix}");
            match self.env.get(&name) {
                Some(Ok(v)) if !v.trim().is_empty() => return Some((name, v)),
                Some(Err(_)) => {
                    self.errors.push(Error::config(
                        Some(&name),
                        format!("{name} is not valid UTF-8"),
                    ));
                    return None;
                }
                _ => {}
            }
        }
        None
    }

    fn value(&mut self, suffix: &str) -> Option<&'a str> {
        self.get(suffix).map(|(_, v)| v)
    }

    /// A variable an auth method cannot do without; its absence is reported.
    fn require(&mut self, suffix: &str, method: &str) -> Option<&'a str> {
        let value = self.value(suffix);
        if value.is_none() {
            let name = format!("VAULT_{suffix}");
            self.errors.push(Error::config(
                Some(&name),
                format!("{method} auth needs {name}"),
            ));
        }
        value
    }

    fn path(&mut self, suffix: &str) -> Option<PathBuf> {
        self.value(suffix).map(|v| PathBuf::from(v.trim()))
    }

    /// Go's `strconv.ParseBool`: an invalid value is an error, never "true".
    fn bool(&mut self, suffix: &str) -> Option<bool> {
        let (name, raw) = self.get(suffix)?;
        match raw.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
            _ => {
                self.errors.push(Error::config(
                    Some(&name),
                    format!("{name} must be true or false"),
                ));
                None
            }
        }
    }

    fn parse<T: std::str::FromStr>(&mut self, suffix: &str, what: &str) -> Option<T> {
        let (name, raw) = self.get(suffix)?;
        raw.trim().parse().ok().or_else(|| {
            self.errors
                .push(Error::config(Some(&name), format!("{name} must be {what}")));
            None
        })
    }

    /// `VAULT_MOUNT_POINT` and `VAULT_BASE_PATH`.
    fn overrides(&mut self) -> Overrides {
        Overrides::new(
            self.value("MOUNT_POINT").map(str::to_owned),
            self.value("BASE_PATH").map(str::to_owned),
        )
    }

    /// A duration by the one grammar (`vault_config_core::duration`).
    fn duration(&mut self, suffix: &str) -> Option<Duration> {
        let (name, raw) = self.get(suffix)?;
        vault_config_core::duration::parse(raw).or_else(|| {
            self.errors.push(Error::config(
                Some(&name),
                format!("{name} must be {}", vault_config_core::duration::EXPECTED),
            ));
            None
        })
    }
}

impl VaultClientBuilder {
    /// A builder configured from the standard environment. Configuration errors are kept and
    /// returned together by [`try_build`](Self::try_build).
    ///
    /// | var | meaning |
    /// |---|---|
    /// | `VAULT_ADDR` (`VAULT_AGENT_ADDR` wins) | server address |
    /// | `VAULT_TOKEN`, else `$HOME/.vault-token` | static token |
    /// | `VAULT_AUTH_METHOD` | `token`, `approle`, `userpass`, `cert`, `kubernetes`, `jwt` or `proxy`; inferred when unset |
    /// | `VAULT_AUTH_MOUNT` | auth mount path, when not the method's name |
    /// | `VAULT_ROLE_ID` + `VAULT_SECRET_ID` / `VAULT_SECRET_ID_FILE` | AppRole |
    /// | `VAULT_WRAPPED_SECRET_ID` / `..._FILE`, `VAULT_SECRET_ID_WRAPPING_PATH` | AppRole with a response-wrapped secret id |
    /// | `VAULT_ROLE` + `VAULT_K8S_TOKEN_PATH` | Kubernetes (JWT file default `/var/run/secrets/kubernetes.io/serviceaccount/token`) |
    /// | `VAULT_ROLE` + `VAULT_JWT_PATH` | JWT |
    /// | `VAULT_USERNAME` + `VAULT_PASSWORD` / `VAULT_PASSWORD_FILE` | userpass |
    /// | `VAULT_AUTH_METHOD=cert` + `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY` (`VAULT_ROLE`: the certificate role) | TLS certificate |
    /// | `VAULT_AGENT_ADDR` and no credentials | a Vault Agent or OpenBao Proxy with auto-auth adds the token |
    /// | `VAULT_NAMESPACE`, `VAULT_AUTH_NAMESPACE` | namespaces of secrets and of the auth mount |
    /// | `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY`, `VAULT_SKIP_VERIFY` | TLS |
    /// | `VAULT_CLIENT_TIMEOUT`, `VAULT_MAX_RETRIES`, `VAULT_KV_VERSION` | limits and KV version |
    pub fn from_env(env: &EnvSnapshot) -> VaultClientBuilder {
        let mut v = Vars {
            env,
            errors: Vec::new(),
        };
        let mut b = VaultClient::builder();
        if let Some(addr) = v.value("AGENT_ADDR").or_else(|| v.value("ADDR")) {
            b = b.address(addr.trim());
        }
        if let Some(ns) = v.value("NAMESPACE") {
            b = b.namespace(ns.trim());
        }
        if let Some(ns) = env
            .get("VAULT_AUTH_NAMESPACE")
            .or_else(|| env.get("BAO_AUTH_NAMESPACE"))
            .and_then(Result::ok)
        {
            // Set but empty means "the root namespace", unlike the other variables.
            b = b.auth_namespace(ns.trim());
        }
        b = b.tls(tls(&mut v));
        b.config.proxy = proxies(env);
        if let Some(t) = v.duration("CLIENT_TIMEOUT") {
            b = b.timeout(t);
        }
        if let Some(n) = v.parse::<u32>("MAX_RETRIES", "a whole number") {
            let d = RetryPolicy::default();
            b = b.retry(RetryPolicy::new(n, d.initial, d.max));
        }
        match v.get("KV_VERSION") {
            Some((_, "1")) => b = b.kv_version(KvVersion::V1),
            Some((_, "2")) => b = b.kv_version(KvVersion::V2),
            Some((name, _)) => v
                .errors
                .push(Error::config(Some(&name), format!("{name} must be 1 or 2"))),
            None => {}
        }
        if let Some(auth) = auth(&mut v) {
            b = b.auth(auth);
        }
        b.errors.extend(v.errors);
        b
    }
}

/// The proxy variables of the snapshot, as curl and Go read them: upper case, then lower case;
/// `ALL_PROXY` for both schemes; `HTTP_PROXY` ignored under CGI (`REQUEST_METHOD` set), where
/// a request's `Proxy:` header would arrive as it ("httpoxy").
fn proxies(env: &EnvSnapshot) -> crate::config::Proxies {
    let first = |names: &[&str]| {
        names.iter().find_map(|name| {
            env.get(name)
                .and_then(Result::ok)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        })
    };
    let all = first(&["ALL_PROXY", "all_proxy"]);
    let http_names: &[&str] = if env.get("REQUEST_METHOD").is_some() {
        &["http_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy"]
    };
    crate::config::Proxies {
        http: first(http_names).or_else(|| all.clone()),
        https: first(&["HTTPS_PROXY", "https_proxy"]).or(all),
        no_proxy: first(&["NO_PROXY", "no_proxy"]),
    }
}

fn tls(v: &mut Vars<'_>) -> Tls {
    let mut tls = Tls {
        ca_cert: v.path("CACERT"),
        ca_path: v.path("CAPATH"),
        skip_verify: v.bool("SKIP_VERIFY").unwrap_or(false),
        ..Tls::default()
    };
    match (v.path("CLIENT_CERT"), v.path("CLIENT_KEY")) {
        (Some(cert), Some(key)) => tls.client_cert = Some((cert, key)),
        (None, None) => {}
        _ => v.errors.push(Error::config(
            Some("VAULT_CLIENT_CERT"),
            "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY must be set together",
        )),
    }
    tls
}

/// The auth method `VAULT_AUTH_METHOD` names, else the one the set variables imply, with its
/// settings; every missing or contradictory setting is recorded in `v.errors`.
fn auth(v: &mut Vars<'_>) -> Option<Auth> {
    let explicit = v
        .get("AUTH_METHOD")
        .map(|(n, m)| (n, m.trim().to_ascii_lowercase()));
    let method = match &explicit {
        Some((_, m)) => m.clone(),
        None if v.value("TOKEN").is_some() => "token".into(),
        None if v.value("ROLE_ID").is_some() => "approle".into(),
        None if v.value("USERNAME").is_some() => "userpass".into(),
        None if v.value("JWT_PATH").is_some() => "jwt".into(),
        None if v.value("ROLE").is_some() => "kubernetes".into(),
        None => "token".into(),
    };
    match method.as_str() {
        "token" => token_auth(v, explicit.is_none()),
        "proxy" | "agent" => Some(Auth::Proxy),
        "userpass" => userpass_auth(v),
        "cert" => cert_auth(v),
        "approle" => approle_auth(v),
        "kubernetes" | "k8s" => {
            let role = v.require("ROLE", "Kubernetes")?;
            Some(Auth::Kubernetes {
                mount: auth_mount(v, "kubernetes"),
                role: role.trim().to_owned(),
                jwt_path: v
                    .path("K8S_TOKEN_PATH")
                    .unwrap_or_else(|| PathBuf::from(K8S_TOKEN_PATH)),
            })
        }
        "jwt" => {
            let jwt_path = PathBuf::from(v.require("JWT_PATH", "JWT")?.trim());
            Some(Auth::Jwt {
                mount: auth_mount(v, "jwt"),
                role: v.value("ROLE").map(|r| r.trim().to_owned()),
                jwt_path,
            })
        }
        other => {
            let name = explicit.map_or_else(|| "VAULT_AUTH_METHOD".to_owned(), |(n, _)| n);
            v.errors.push(Error::config(
                Some(&name),
                format!(
                    "{name} `{other}` is not one of token, approle, userpass, cert, kubernetes, jwt, proxy"
                ),
            ));
            None
        }
    }
}

/// `VAULT_AUTH_MOUNT`, else the method's standard mount.
fn auth_mount(v: &mut Vars<'_>, default: &str) -> String {
    v.value("AUTH_MOUNT").map_or_else(
        || default.to_owned(),
        |m| m.trim().trim_matches('/').to_owned(),
    )
}

/// `VAULT_TOKEN`, else `~/.vault-token`; with neither and no method named, behind a proxy
/// (`VAULT_AGENT_ADDR`), the proxy's auto-auth adds one.
fn token_auth(v: &mut Vars<'_>, implied: bool) -> Option<Auth> {
    v.value("TOKEN")
        .map(|t| SecretString::from(t.trim().to_owned()))
        .or_else(|| token_file(v.env))
        .map(Auth::Token)
        .or_else(|| (implied && v.value("AGENT_ADDR").is_some()).then_some(Auth::Proxy))
}

fn userpass_auth(v: &mut Vars<'_>) -> Option<Auth> {
    let username = v.require("USERNAME", "userpass")?.trim().to_owned();
    let password = if let Some(p) = v.value("PASSWORD") {
        Password::Value(SecretString::from(p.to_owned()))
    } else if let Some(p) = v.path("PASSWORD_FILE") {
        Password::File(p)
    } else {
        v.errors.push(Error::config(
            Some("VAULT_PASSWORD"),
            "userpass auth needs VAULT_PASSWORD or VAULT_PASSWORD_FILE",
        ));
        return None;
    };
    Some(Auth::Userpass {
        mount: auth_mount(v, "userpass"),
        username,
        password,
    })
}

fn cert_auth(v: &mut Vars<'_>) -> Option<Auth> {
    if v.value("CLIENT_CERT").is_none() || v.value("CLIENT_KEY").is_none() {
        v.errors.push(Error::config(
            Some("VAULT_CLIENT_CERT"),
            "cert auth needs VAULT_CLIENT_CERT and VAULT_CLIENT_KEY",
        ));
        return None;
    }
    Some(Auth::Cert {
        mount: auth_mount(v, "cert"),
        name: v.value("ROLE").map(|r| r.trim().to_owned()),
    })
}

/// AppRole: the role id, and a secret id as a value, a file, or response-wrapped (a value or
/// a file, with the wrapping path it must have been created at).
fn approle_auth(v: &mut Vars<'_>) -> Option<Auth> {
    let role_id = v.require("ROLE_ID", "AppRole")?;
    let wrapped = |v: &mut Vars<'_>, token| SecretId::Wrapped {
        token,
        expected_path: v
            .value("SECRET_ID_WRAPPING_PATH")
            .map(|p| p.trim().to_owned()),
    };
    let secret_id = if let Some(s) = v.value("SECRET_ID") {
        SecretId::Value(SecretString::from(s.trim().to_owned()))
    } else if let Some(p) = v.path("SECRET_ID_FILE") {
        SecretId::File(p)
    } else if let Some(t) = v.value("WRAPPED_SECRET_ID") {
        let token = WrappingToken::Value(SecretString::from(t.trim().to_owned()));
        wrapped(v, token)
    } else if let Some(p) = v.path("WRAPPED_SECRET_ID_FILE") {
        wrapped(v, WrappingToken::File(p))
    } else {
        SecretId::None
    };
    Some(Auth::AppRole {
        mount: auth_mount(v, "approle"),
        role_id: SecretString::from(role_id.trim().to_owned()),
        secret_id,
    })
}

/// `$HOME/.vault-token`, trimmed, as the Vault CLI's token helper writes it.
fn token_file(env: &EnvSnapshot) -> Option<SecretString> {
    let home = env.get("HOME")?.ok()?;
    let path = PathBuf::from(home).join(".vault-token");
    let token = crate::files::read_secret_file(&path, "token").ok()?;
    if crate::files::readable_by_others(&path) {
        tracing::warn!(
            path = %path.display(),
            "vault: the token file is readable by its group or others; `chmod 600` it"
        );
    }
    (!secrecy::ExposeSecret::expose_secret(&token).is_empty()).then_some(token)
}

/// What the environment changes in every field's Vault location (`VAULT_MOUNT_POINT`,
/// `VAULT_BASE_PATH`, or their `BAO_*` twins), for tools that compute paths without loading:
/// `policy` and `migrate` see exactly what a load reads.
///
/// ```
/// use vault_config_core::EnvSnapshot;
/// let env = EnvSnapshot::from_iter([("VAULT_MOUNT_POINT", "kv-prod/")]);
/// assert_eq!(vault_config_vault::overrides_from_env(&env).mount.as_deref(), Some("kv-prod"));
/// ```
pub fn overrides_from_env(env: &EnvSnapshot) -> Overrides {
    Vars {
        env,
        errors: Vec::new(),
    }
    .overrides()
}

/// The setup hook `Settings::load()` runs: reads the switches (`VAULT_ENABLED`,
/// `VAULT_FALLBACK`, …) and, when Vault is enabled, builds the client from the same snapshot.
///
/// | var | meaning |
/// |---|---|
/// | `VAULT_ENABLED` | `true`/`false`; default: on when `VAULT_ADDR` (or `VAULT_AGENT_ADDR`) is set |
/// | `VAULT_FALLBACK` | `env` to go on without Vault when it fails; `never` (default) to fail fast |
/// | `VAULT_MOUNT_POINT` | replaces the KV mount of every field |
/// | `VAULT_BASE_PATH` | replaces the struct's `vault_path` (the part of every field's path it gives) |
/// | `VAULT_SECRETS_PATH` | directory of Vault Agent injected files, read under the process env |
pub fn setup_from_env(env: &EnvSnapshot, with_source: bool) -> VaultSetup {
    let mut v = Vars {
        env,
        errors: Vec::new(),
    };
    let mut setup = VaultSetup::new();
    let has_addr = v.value("ADDR").is_some() || v.value("AGENT_ADDR").is_some();
    let enabled = v.bool("ENABLED").unwrap_or(has_addr);
    setup.fallback = match v.get("FALLBACK") {
        None => None,
        Some((_, f)) if f.trim().eq_ignore_ascii_case("env") => Some(Fallback::Env),
        Some((_, f)) if f.trim().eq_ignore_ascii_case("never") => Some(Fallback::Never),
        Some((name, _)) => {
            v.errors.push(Error::config(
                Some(&name),
                format!("{name} must be `env` or `never`"),
            ));
            None
        }
    };
    setup.overrides = v.overrides();
    if let Some(dir) = v.path("SECRETS_PATH") {
        match agent::read_dir(&dir) {
            Ok(files) => setup.files = files,
            Err(errors) => v.errors.extend(errors),
        }
    }
    if enabled && with_source {
        let builder = VaultClientBuilder::from_env(env);
        if builder.config.auth.is_none() && builder.errors.is_empty() {
            // Said once here, not once per field by every read.
            v.errors
                .push(Error::config(None, crate::config::NO_CREDENTIALS));
        } else {
            match builder.try_build() {
                Ok(client) => setup.source = Some(std::sync::Arc::new(client)),
                Err(errors) => v.errors.extend(errors),
            }
        }
    }
    // After the problems they may explain ("no credentials"), which then block the fields.
    v.errors.extend(misspelled(env));
    setup.problems = v.errors.iter().map(Error::to_problem).collect();
    setup
}

/// `VAULT_REFRESH_INTERVAL` (or `BAO_REFRESH_INTERVAL`) for live settings: `None` when unset;
/// zero or a value outside the duration grammar is a configuration error naming the variable.
pub(crate) fn refresh_interval(env: &EnvSnapshot) -> Result<Option<Duration>, Error> {
    let mut v = Vars {
        env,
        errors: Vec::new(),
    };
    let interval = v.duration("REFRESH_INTERVAL");
    if let Some(error) = v.errors.pop() {
        return Err(error);
    }
    match interval {
        Some(d) if d.is_zero() => Err(Error::config(
            Some("VAULT_REFRESH_INTERVAL"),
            "VAULT_REFRESH_INTERVAL must not be zero",
        )),
        other => Ok(other),
    }
}
