//! Getting a token: a static one, none (a proxy with auto-auth adds its own), or a login
//! (AppRole, Kubernetes, JWT, userpass, TLS certificate) with credential files re-read at every
//! login and a wrapped secret id checked before it is unwrapped.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::Error;
use crate::client::{Inner, Session};
use crate::config::{Auth, Credential, SecretId};
use crate::files::read_secret_file;
use crate::http::transport::{Call, Ns};
use crate::http::wire::{Envelope, UnwrappedSecretId, WrapLookup};

/// A login's first step: see [`Inner::login_request`].
enum Login<'a> {
    Ready(Arc<SecretString>),
    Post {
        mount: &'a str,
        tail: String,
        body: serde_json::Value,
    },
}

impl Credential {
    /// The value, or the file's contents read now (trimmed).
    fn read(&self, method: &'static str) -> Result<SecretString, Error> {
        match self {
            Credential::Value(v) => Ok(v.clone()),
            Credential::File(path) => read_secret_file(path, method),
        }
    }
}

impl Inner {
    /// The current token, logging in first if there is none yet.
    pub(crate) async fn token(&self) -> Result<Arc<SecretString>, Error> {
        self.token_and_generation().await.map(|(token, _)| token)
    }

    /// The token in use and its generation (leases read with it record it), logging in first
    /// when there is none yet.
    pub(crate) async fn token_and_generation(&self) -> Result<(Arc<SecretString>, u64), Error> {
        let mut session = self.session.lock().await;
        if let Some(token) = &session.token {
            return Ok((Arc::clone(token), session.generation));
        }
        let token = self.login_replacing(&mut session, true).await?;
        Ok((token, session.generation))
    }

    /// Logs in again unless another task already replaced `stale`; `stale` is kept (it may
    /// own leases) until released. The new token and its generation.
    pub(crate) async fn relogin(
        &self,
        stale: &Arc<SecretString>,
    ) -> Result<(Arc<SecretString>, u64), Error> {
        let mut session = self.session.lock().await;
        if let Some(current) = &session.token {
            if !Arc::ptr_eq(current, stale) {
                return Ok((Arc::clone(current), session.generation));
            }
        }
        let token = self.login_replacing(&mut session, true).await?;
        Ok((token, session.generation))
    }

    /// Logs in and puts the new token in place. The token it replaces is kept while it may
    /// still be alive (`old_alive`): the leases it created end with it, so it is revoked
    /// only once none of them is in use ([`Session::release`]).
    pub(crate) async fn login_replacing(
        &self,
        session: &mut Session,
        old_alive: bool,
    ) -> Result<Arc<SecretString>, Error> {
        let previous = session
            .token
            .clone()
            .map(|token| (token, session.generation, session.expires_at));
        let token = self.login(session).await?;
        if let Some((old, generation, expires_at)) = previous {
            let still_valid = expires_at.is_none_or(|at| at > std::time::Instant::now());
            if old_alive && still_valid && !Arc::ptr_eq(&old, &token) {
                session.superseded.push(crate::client::Superseded {
                    generation,
                    token: old,
                    expires_at,
                });
            }
        }
        session.generation += 1;
        session.token = Some(Arc::clone(&token));
        Ok(token)
    }

    /// Logs in (a static token or a proxy's auto-auth needs none) and counts the login.
    pub(crate) async fn login(&self, session: &mut Session) -> Result<Arc<SecretString>, Error> {
        let result = self.login_once(session).await;
        if let Some(auth) = self.config.auth.as_ref().filter(|a| a.is_login()) {
            metrics::counter!(
                crate::metrics::LOGINS,
                "method" => auth.method(),
                "outcome" => if result.is_ok() { "ok" } else { "failed" },
            )
            .increment(1);
        }
        result
    }

    #[tracing::instrument(name = "vault.login", skip_all, fields(method))]
    async fn login_once(&self, session: &mut Session) -> Result<Arc<SecretString>, Error> {
        let Some(auth) = &self.config.auth else {
            return Err(Error::config(None, crate::config::NO_CREDENTIALS));
        };
        let method = auth.method();
        tracing::Span::current().record("method", method);
        let (mount, tail, body) = match self.login_request(auth, session).await? {
            Login::Ready(token) => return Ok(token),
            Login::Post { mount, tail, body } => (mount, tail, body),
        };
        let path = format!("auth/{}/{tail}", mount.trim_matches('/'));
        let mut call = Call::post(&path, None, body);
        call.ns = Ns::Auth;
        let reply = self.send(&call).await?;
        if !reply.is_success() {
            let err = reply.status_error(&path);
            return Err(match reply.status {
                400 | 401 | 403 => Error::Login {
                    method,
                    message: err.to_string(),
                },
                _ => err,
            });
        }
        let envelope: Envelope<serde_json::Value> = reply.json(&path)?;
        let auth = envelope.auth.ok_or_else(|| Error::Login {
            method,
            message: format!("{path} answered without an `auth` block"),
        })?;
        session.logged_in(&auth);
        tracing::info!(method, lease_secs = auth.lease_duration, "vault: logged in");
        Ok(Arc::new(auth.client_token))
    }

    /// What logging in with `auth` takes: a token at hand (static, or a proxy's), or the
    /// login request (the mount, the path's tail after `auth/{mount}/`, and the body), with
    /// credential files read now.
    async fn login_request<'a>(
        &self,
        auth: &'a Auth,
        session: &mut Session,
    ) -> Result<Login<'a>, Error> {
        let method = auth.method();
        let (mount, tail, body) = match auth {
            Auth::Token(token) => return Ok(Login::Ready(Arc::new(token.clone()))),
            // The proxy adds its own token: an empty one is never sent.
            Auth::Proxy => return Ok(Login::Ready(Arc::new(SecretString::from(String::new())))),
            Auth::Userpass {
                mount,
                username,
                password,
            } => {
                let password = password.read(method)?;
                (
                    mount,
                    format!("login/{username}"),
                    json!({ "password": password.expose_secret() }),
                )
            }
            Auth::Cert { mount, name } => {
                let mut body = json!({});
                if let Some(name) = name {
                    body["name"] = json!(name);
                }
                (mount, "login".to_owned(), body)
            }
            Auth::AppRole {
                mount,
                role_id,
                secret_id,
            } => {
                let mut body = json!({ "role_id": role_id.expose_secret() });
                if let Some(secret_id) = self.secret_id(mount, secret_id, session).await? {
                    body["secret_id"] = json!(secret_id.expose_secret());
                }
                (mount, "login".to_owned(), body)
            }
            Auth::Kubernetes {
                mount,
                role,
                jwt_path,
            } => {
                let jwt = read_secret_file(jwt_path, method)?;
                (
                    mount,
                    "login".to_owned(),
                    json!({ "role": role, "jwt": jwt.expose_secret() }),
                )
            }
            Auth::Jwt {
                mount,
                role,
                jwt_path,
            } => {
                let jwt = read_secret_file(jwt_path, method)?;
                let mut body = json!({ "jwt": jwt.expose_secret() });
                if let Some(role) = role {
                    body["role"] = json!(role);
                }
                (mount, "login".to_owned(), body)
            }
        };
        Ok(Login::Post { mount, tail, body })
    }

    /// The AppRole secret id: given, from a file (re-read), or unwrapped once and kept.
    async fn secret_id(
        &self,
        mount: &str,
        source: &SecretId,
        session: &mut Session,
    ) -> Result<Option<SecretString>, Error> {
        Ok(match source {
            SecretId::None => None,
            SecretId::Value(v) => Some(v.clone()),
            SecretId::File(path) => Some(read_secret_file(path, "approle")?),
            SecretId::Wrapped {
                token,
                expected_path,
            } => {
                if let Some(kept) = &session.unwrapped_secret_id {
                    return Ok(Some(kept.clone()));
                }
                let wrapping = token.read("approle")?;
                let secret_id = self
                    .unwrap_secret_id(mount, &wrapping, expected_path.as_deref())
                    .await?;
                session.unwrapped_secret_id = Some(secret_id.clone());
                Some(secret_id)
            }
        })
    }

    /// Looks the wrapping token up, checks where it was created, then unwraps it ([response wrapping](https://developer.hashicorp.com/vault/api-docs/system/wrapping-lookup)).
    async fn unwrap_secret_id(
        &self,
        mount: &str,
        wrapping: &SecretString,
        expected: Option<&str>,
    ) -> Result<SecretString, Error> {
        let fail = |message: String| Error::Login {
            method: "approle",
            message,
        };
        let lookup_path = "sys/wrapping/lookup";
        let mut call = Call::post(
            lookup_path,
            None,
            json!({ "token": wrapping.expose_secret() }),
        );
        call.ns = Ns::Auth;
        let reply = self.send(&call).await?;
        if !reply.is_success() {
            return Err(fail(format!(
                "wrapped secret id lookup failed: {}",
                reply.status_error(lookup_path)
            )));
        }
        let lookup: Envelope<WrapLookup> = reply.json(lookup_path)?;
        let created = lookup
            .data
            .and_then(|d| d.creation_path)
            .unwrap_or_default();
        let mount = mount.trim_matches('/');
        let ok = match expected {
            Some(exact) => created == exact.trim_matches('/'),
            None => {
                let prefix = format!("auth/{mount}/role/");
                created
                    .strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix("/secret-id"))
                    .is_some_and(|role| !role.is_empty() && !role.contains('/'))
            }
        };
        if !ok {
            tracing::warn!(creation_path = %created, "vault: wrapped secret id has an unexpected creation path; not unwrapping");
            return Err(fail(format!(
                "wrapped secret id was created at `{created}`, not by an AppRole secret-id endpoint of `{mount}`; refusing to unwrap (it may have been intercepted)"
            )));
        }
        let unwrap_path = "sys/wrapping/unwrap";
        // Form (a): the wrapping token in the header and no body; never in both places.
        let mut call = Call::get(unwrap_path, Some(wrapping));
        call.method = reqwest::Method::POST;
        call.ns = Ns::Auth;
        // A wrapping token is single-use: never retry an unwrap that may have reached Vault.
        call.retry = false;
        let reply = self.send(&call).await?;
        if !reply.is_success() {
            return Err(fail(format!(
                "unwrapping the secret id failed: {}",
                reply.status_error(unwrap_path)
            )));
        }
        let envelope: Envelope<UnwrappedSecretId> = reply.json(unwrap_path)?;
        envelope
            .data
            .map(|d| d.secret_id)
            .ok_or_else(|| fail("the unwrapped response holds no secret_id".into()))
    }
}
