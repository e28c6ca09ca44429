//! Keeping the token alive for long-running services: renew at about two thirds of the
//! remaining TTL with jitter (Go's `LifetimeWatcher` schedule), log in again when renewal is
//! denied or stops extending the lease, revoke a login-obtained token on close. A static token
//! is renewed while it can be and used until it fails; it is never revoked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use vault_config_core::SourceStatus;

use crate::Error;
use crate::client::{Inner, Session, Superseded};
use crate::http::transport::{Call, Reply};
use crate::http::wire::{AuthInfo, Envelope, TokenLookup};

/// How soon to try again after a failed login or renewal.
const RETRY_AFTER_FAILURE: Duration = crate::schedule::LONGEST_RETRY;

/// When to act on a token of `ttl` whose lease was `lease`: `2/3 × ttl + 1/3 × grace`, with
/// the grace of the one live schedule ([`grace`](crate::schedule::grace)).
pub(crate) fn schedule(ttl: Duration, lease: Duration) -> (Duration, Duration) {
    let grace = crate::schedule::grace(lease, fastrand::f64());
    (
        crate::schedule::bounded(ttl).mul_f64(2.0 / 3.0) + grace / 3,
        grace,
    )
}

impl Session {
    /// Records a login's `auth` block (its `lease_duration` clamped, see [`ttl_secs`]). Once
    /// the max TTL of login tokens is known, the next login is due at about 2/3 of it.
    ///
    /// [`ttl_secs`]: crate::http::wire::ttl_secs
    pub(crate) fn logged_in(&mut self, auth: &AuthInfo) {
        let now = Instant::now();
        self.logged_in_at = Some(now);
        self.relogin_at = self.max_ttl.map(|max| now + schedule(max, max).0);
        self.set_lease(
            crate::http::wire::ttl_secs(auth.lease_duration),
            auth.renewable,
        );
    }

    /// Records a static token's `lookup-self` data.
    pub(crate) fn looked_up(&mut self, data: &TokenLookup) {
        self.set_lease(
            crate::http::wire::ttl_secs(data.ttl.unwrap_or(0)),
            data.renewable.unwrap_or(false),
        );
    }

    /// Records a successful renewal to `ttl` of a token whose lease was `lease`. A login
    /// token whose renewal no longer extends it (capped by its max TTL) is at its end: its
    /// max TTL is learned, and the next action is a new login, now.
    pub(crate) fn renewed(&mut self, ttl: Duration, lease: Duration, is_login: bool) {
        if ttl >= lease.mul_f64(0.9) || !is_login {
            tracing::debug!(ttl_secs = ttl.as_secs(), "vault: token renewed");
            self.set_lease(ttl, true);
            return;
        }
        tracing::info!(
            ttl_secs = ttl.as_secs(),
            "vault: token hit its max TTL; logging in again"
        );
        let now = Instant::now();
        self.lease = Some((ttl, false));
        self.expires_at = Some(now + ttl);
        self.learn_max_ttl(now + ttl);
        self.relogin_at = Some(now);
        self.next_action = Some(now);
    }

    /// The token in use ends at `ends` and cannot be renewed past it: that is the max TTL
    /// of this auth's tokens, counted from the login.
    pub(crate) fn learn_max_ttl(&mut self, ends: Instant) {
        if let Some(at) = self.logged_in_at {
            self.max_ttl = Some(ends.saturating_duration_since(at));
        }
    }

    /// Whether the token in use is a login token at its max TTL (renewal no longer extends
    /// it, or it is past the point where a new login is due).
    pub(crate) fn at_max(&self) -> bool {
        matches!(self.lease, Some((_, false)))
            || self.relogin_at.is_some_and(|at| Instant::now() >= at)
    }

    /// How long until the next renewal or login; `None` when none is due.
    pub(crate) fn wait(&self) -> Option<Duration> {
        self.next_action
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Records a token's lease as learned from a login, lookup or renewal.
    pub(crate) fn set_lease(&mut self, ttl: Duration, renewable: bool) {
        let now = Instant::now();
        self.lease = Some((ttl, renewable));
        if ttl.is_zero() {
            // Non-expiring (a root token): nothing to schedule.
            self.expires_at = None;
            self.next_action = None;
        } else {
            self.expires_at = Some(now + ttl);
            let renew = now + schedule(ttl, ttl).0;
            self.next_action = Some(self.relogin_at.map_or(renew, |at| at.min(renew)));
        }
    }
}

/// Whether a renewal's failure says the token reached its max TTL (OpenBao answers 500
/// "past the max TTL, cannot renew" when a renewal would pass it): the token still lives
/// until its expiry.
fn past_max_ttl(err: &Error) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    text.contains("max ttl") || text.contains("max_ttl")
}

/// A renewal's answer: the new TTL (clamped, see [`ttl_secs`]) and renewability.
///
/// [`ttl_secs`]: crate::http::wire::ttl_secs
pub(crate) fn decode_renewal(reply: &Reply, path: &str) -> Result<(Duration, bool), Error> {
    if !reply.is_success() {
        return Err(reply.status_error(path));
    }
    let auth = reply
        .json::<Envelope<serde_json::Value>>(path)?
        .auth
        .ok_or_else(|| Error::Malformed {
            path: path.into(),
            reason: "no `auth` block".into(),
        })?;
    Ok((
        crate::http::wire::ttl_secs(auth.lease_duration),
        auth.renewable,
    ))
}

impl Inner {
    /// Logs in if needed, then renews or re-logs in when due; returns when to call again.
    #[tracing::instrument(name = "vault.maintain", skip_all)]
    pub(crate) async fn maintain(&self) -> Option<Duration> {
        if matches!(self.config.auth, Some(crate::Auth::Proxy)) {
            // The proxy keeps its own token alive.
            return None;
        }
        let mut session = self.session.lock().await;
        if session.token.is_none() {
            match self.login_replacing(&mut session, true).await {
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "vault: login failed; retrying later");
                    return Some(RETRY_AFTER_FAILURE);
                }
            }
        }
        let is_login = self.config.auth.as_ref().is_some_and(crate::Auth::is_login);
        if session.lease.is_none() && !is_login {
            self.lookup_static(&mut session).await;
        }
        let due = session.next_action?;
        let now = Instant::now();
        if now < due {
            return Some(due - now);
        }
        let token = Arc::clone(session.token.as_ref()?);
        let (lease, renewable) = session.lease.unwrap_or_default();
        if is_login && session.at_max() {
            // At its max TTL: the old token lives on until then, with its leases, which the
            // live engine replaces under the new one.
            return self.relogin_now(&mut session, true).await;
        }
        if !renewable {
            session.next_action = None;
            return session.wait();
        }
        match self.renew(&token, lease).await {
            Ok((ttl, _)) => {
                session.renewed(ttl, lease, is_login);
                if is_login && session.at_max() {
                    return self.relogin_now(&mut session, true).await;
                }
            }
            Err(err) if is_login && past_max_ttl(&err) => {
                tracing::info!(error = %err, "vault: the token reached its max TTL; logging in again");
                if let Some(ends) = session.expires_at {
                    session.learn_max_ttl(ends);
                }
                return self.relogin_now(&mut session, true).await;
            }
            Err(err @ (Error::Denied { .. } | Error::Status { status: 400, .. })) if is_login => {
                tracing::info!(error = %err, "vault: renewal refused; logging in again");
                // Refused: the token is gone, and the leases it created with it.
                return self.relogin_now(&mut session, false).await;
            }
            Err(err @ (Error::Denied { .. } | Error::Status { status: 400, .. })) => {
                tracing::warn!(error = %err, "vault: static token renewal refused; using it until it fails");
                session.next_action = None;
            }
            Err(err) => {
                let now = Instant::now();
                if is_login && session.expires_at.is_some_and(|at| at <= now) {
                    // Renewing a dead token cannot work; a login can.
                    tracing::warn!(error = %err, "vault: renewal failed and the token expired; logging in again");
                    return self.relogin_now(&mut session, false).await;
                }
                tracing::warn!(error = %err, "vault: renewal failed; retrying");
                let left = session
                    .expires_at
                    .map_or(RETRY_AFTER_FAILURE, |e| e.saturating_duration_since(now));
                return Some(
                    RETRY_AFTER_FAILURE
                        .min(left / 2)
                        .max(Duration::from_millis(100)),
                );
            }
        }
        session.wait()
    }

    async fn relogin_now(&self, session: &mut Session, old_alive: bool) -> Option<Duration> {
        match self.login_replacing(session, old_alive).await {
            Ok(_) => session.wait(),
            Err(err) => {
                tracing::warn!(error = %err, "vault: login failed; retrying later");
                Some(RETRY_AFTER_FAILURE)
            }
        }
    }

    /// Learns a static token's TTL and renewability (`lookup-self`).
    async fn lookup_static(&self, session: &mut Session) {
        let Some(token) = session.token.clone() else {
            return;
        };
        let path = "auth/token/lookup-self";
        let reply = match self.send(&Call::get(path, Some(&token))).await {
            Ok(reply) if reply.is_success() => reply,
            Ok(reply) => {
                tracing::warn!(error = %reply.status_error(path), "vault: token lookup failed");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "vault: token lookup failed");
                return;
            }
        };
        let data = reply
            .json::<Envelope<TokenLookup>>(path)
            .ok()
            .and_then(|e| e.data)
            .unwrap_or_default();
        session.looked_up(&data);
    }

    /// `POST auth/token/renew-self` ([token renew-self](https://developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self)): the new TTL and renewability.
    async fn renew(
        &self,
        token: &SecretString,
        increment: Duration,
    ) -> Result<(Duration, bool), Error> {
        let path = "auth/token/renew-self";
        let reply = self
            .send(&Call::post(
                path,
                Some(token),
                json!({ "increment": increment.as_secs() }),
            ))
            .await?;
        decode_renewal(&reply, path)
    }

    /// Revokes every token obtained by login (`revoke-self`): the one in use and those it
    /// replaced; a static token is left alone.
    pub(crate) async fn close(&self) {
        if !self.config.auth.as_ref().is_some_and(crate::Auth::is_login) {
            return;
        }
        let tokens: Vec<Arc<SecretString>> = {
            let mut session = self.session.lock().await;
            let superseded = std::mem::take(&mut session.superseded);
            session
                .token
                .take()
                .into_iter()
                .chain(superseded.into_iter().map(|s| s.token))
                .collect()
        };
        futures_util::future::join_all(tokens.iter().map(|t| self.revoke_token(t))).await;
    }

    /// Revokes the replaced login tokens that own none of the leases in use (`in_use` lists
    /// their owners' generations); forgets those that expired. One whose revocation failed
    /// (Vault away) is kept for the next call, or for `close`.
    pub(crate) async fn release_tokens(&self, in_use: &[u64]) {
        let released: Vec<Superseded> = {
            let mut session = self.session.lock().await;
            let now = Instant::now();
            let (keep, release): (Vec<_>, Vec<_>) = std::mem::take(&mut session.superseded)
                .into_iter()
                .filter(|s| s.expires_at.is_none_or(|at| at > now))
                .partition(|s| in_use.contains(&s.generation));
            session.superseded = keep;
            release
        };
        let revoked =
            futures_util::future::join_all(released.iter().map(|s| self.revoke_token(&s.token)))
                .await;
        let failed: Vec<Superseded> = released
            .into_iter()
            .zip(revoked)
            .filter_map(|(s, ok)| (!ok).then_some(s))
            .collect();
        if !failed.is_empty() {
            self.session.lock().await.superseded.extend(failed);
        }
    }

    /// `revoke-self` with `token`, once (no retry: shutdown must not wait on a dead server);
    /// whether it worked.
    async fn revoke_token(&self, token: &SecretString) -> bool {
        let mut call = Call::post("auth/token/revoke-self", Some(token), json!({}));
        call.retry = false;
        match self.send(&call).await {
            Ok(reply) if reply.is_success() => {
                tracing::info!("vault: login token revoked");
                true
            }
            Ok(reply) => {
                tracing::warn!(error = %reply.status_error("auth/token/revoke-self"), "vault: revoking the token failed");
                false
            }
            Err(err) => {
                tracing::warn!(error = %err, "vault: revoking the token failed");
                false
            }
        }
    }

    /// Health from what the client last saw: no request is made.
    pub(crate) async fn status(&self) -> SourceStatus {
        let session = self.session.lock().await;
        let ttl = session
            .expires_at
            .map(|at| at.saturating_duration_since(Instant::now()).as_secs());
        let mut status = match self.transport.last_contact() {
            Some(error) => SourceStatus::disconnected(error),
            None if session.token.is_some() => SourceStatus::connected(),
            None => SourceStatus::disconnected("not logged in yet"),
        };
        if ttl == Some(0) {
            status = SourceStatus::disconnected("the token has expired");
        }
        status.token_ttl_remaining = ttl;
        status.token_generation = session.token.is_some().then_some(session.generation);
        let now = Instant::now();
        status.superseded_tokens = session
            .superseded
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| {
                vault_config_core::TokenLife::new(
                    s.generation,
                    s.expires_at.map(|at| at.saturating_duration_since(now)),
                )
            })
            .collect();
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(ttl: u64) -> AuthInfo {
        serde_json::from_value(
            json!({ "client_token": "t", "lease_duration": ttl, "renewable": true }),
        )
        .unwrap()
    }

    #[test]
    fn a_capped_renewal_means_a_new_login_now_and_later_tokens_are_replaced_at_two_thirds_of_the_max()
     {
        let mut session = Session::default();
        session.logged_in(&login(60));
        assert!(!session.at_max());
        assert!(session.max_ttl.is_none());
        // Renewed in full, then capped (10 s of the 60 asked): at its end.
        session.renewed(Duration::from_secs(60), Duration::from_secs(60), true);
        assert!(!session.at_max());
        session.renewed(Duration::from_secs(10), Duration::from_secs(60), true);
        assert!(session.at_max());
        let max = session.max_ttl.expect("learned");
        assert!(
            max >= Duration::from_secs(10) && max < Duration::from_secs(11),
            "{max:?}"
        );
        // The next token: renewed as usual, replaced at 2/3 of the max at the latest.
        session.logged_in(&login(60));
        assert!(!session.at_max());
        let wait = session.wait().unwrap();
        assert!(
            wait <= max.mul_f64(0.75) && wait >= max.mul_f64(0.65),
            "{wait:?}"
        );
    }

    #[test]
    fn past_the_max_ttl_is_told_apart_from_a_refusal() {
        let past = Error::Status {
            path: "auth/token/renew-self".into(),
            status: 500,
            message: "1 error occurred: past the max TTL, cannot renew".into(),
        };
        assert!(past_max_ttl(&past));
        let denied = Error::Denied {
            path: "auth/token/renew-self".into(),
            detail: "permission denied".into(),
        };
        assert!(!past_max_ttl(&denied));
    }
}
