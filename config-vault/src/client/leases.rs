//! Leased credentials ([leases](https://developer.hashicorp.com/vault/api-docs/system/leases)): a plain read of any engine's path that answers with a lease
//! (`database/creds/app`), and the renewal and revocation of such leases by id.

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use vault_config_core::{IssueTerms, Renewal, SecretData, VaultPath};

use crate::Error;
use crate::client::Inner;
use crate::http::transport::{Call, Reply};
use crate::http::wire::ttl_secs;

/// The envelope of a leased answer: the lease at the top, the credentials in `data`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LeasedReply {
    lease_id: String,
    lease_duration: u64,
    renewable: bool,
    data: Option<Map<String, Value>>,
}

impl Inner {
    /// Reads a leased path: every read makes new credentials (and a new lease).
    #[tracing::instrument(name = "vault.lease.read", skip_all, fields(path = %path))]
    pub(crate) async fn read_lease(
        &self,
        path: &VaultPath,
        token: &SecretString,
    ) -> Result<SecretData, Error> {
        let shown = path.to_string();
        let reply = self.send(&Call::get(&shown, Some(token))).await?;
        decode_lease(&reply, &shown)
    }

    /// `PUT sys/leases/renew` (in Vault's `default` policy): the TTL granted.
    #[tracing::instrument(name = "vault.lease.renew", skip_all)]
    pub(crate) async fn renew_lease(
        &self,
        lease_id: &str,
        increment: std::time::Duration,
    ) -> Result<Renewal, Error> {
        let token = self.token().await?;
        let path = "sys/leases/renew";
        let reply = self
            .send(&Call::post(
                path,
                Some(&token),
                json!({ "lease_id": lease_id, "increment": increment.as_secs() }),
            ))
            .await?;
        match reply.status {
            200..=299 => {}
            // "lease not found", "lease is not renewable": refused, not a server failure.
            400 | 404 => {
                return Err(Error::Denied {
                    path: path.to_owned(),
                    detail: crate::http::wire::error_message(&reply.body),
                });
            }
            _ => return Err(reply.status_error(path)),
        }
        let renewed: LeasedReply = reply.json(path)?;
        Ok(Renewal::new(
            ttl_secs(renewed.lease_duration),
            renewed.renewable,
        ))
    }

    /// `PUT sys/leases/revoke/<lease id>`: by URL, so that a policy can allow exactly the
    /// leases of one path (`sys/leases/revoke/database/creds/app/*`).
    #[tracing::instrument(name = "vault.lease.revoke", skip_all)]
    pub(crate) async fn revoke_lease(&self, lease_id: &str) -> Result<(), Error> {
        let token = self.token().await?;
        let path = format!("sys/leases/revoke/{}", lease_id.trim_matches('/'));
        let mut call = Call::post(&path, Some(&token), json!({}));
        call.retry = false;
        let reply = self.send(&call).await?;
        if reply.is_success() {
            Ok(())
        } else {
            // Named by the lease's path, not the whole id.
            Err(reply.status_error(&format!(
                "sys/leases/revoke/{}",
                vault_config_core::short_lease_id(lease_id)
            )))
        }
    }
}

impl Inner {
    /// Issues a certificate: a POST of the path's terms to `<mount>/issue/<role>`. Every
    /// call makes a new certificate.
    #[tracing::instrument(name = "vault.pki.issue", skip_all, fields(path = %path))]
    pub(crate) async fn issue(
        &self,
        path: &VaultPath,
        token: &SecretString,
    ) -> Result<SecretData, Error> {
        let shown = path.to_string();
        let body = path
            .issue
            .as_deref()
            .map_or_else(|| json!({}), IssueTerms::body);
        // Retried like a read: a second certificate for one answer lost holds nothing (no
        // lease) and, with the recommended `no_store`, stores nothing either.
        let reply = self.send(&Call::post(&shown, Some(token), body)).await?;
        decode_issue(&reply, &shown, vault_config_core::unix_now())
    }
}

/// What an issue answer means: the certificate's data, and the time to its end
/// (`expiration`, the certificate's `notAfter` as the server read it from what it signed,
/// never the TTL asked for, which the role's `max_ttl` may have cut) as the data's TTL. A 400
/// is the role refusing the request (`common name … not allowed by this role`).
pub(crate) fn decode_issue(reply: &Reply, shown: &str, now: u64) -> Result<SecretData, Error> {
    match reply.status {
        200 => {}
        400 => {
            return Err(Error::Refused {
                path: shown.to_owned(),
                detail: crate::http::wire::error_message(&reply.body),
            });
        }
        _ => return Err(reply.status_error(shown)),
    }
    let malformed = |reason: &str| Error::Malformed {
        path: shown.to_owned(),
        reason: reason.to_owned(),
    };
    let answer: LeasedReply = reply.json(shown)?;
    let data = answer
        .data
        .ok_or_else(|| malformed("the answer has no `data`"))?;
    for key in ["certificate", "private_key", "serial_number"] {
        if !data.get(key).is_some_and(Value::is_string) {
            return Err(malformed(&format!("the answer has no `{key}`")));
        }
    }
    let end = data
        .get("expiration")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("the answer has no `expiration`"))?;
    if end <= now {
        return Err(malformed("the certificate issued has already ended"));
    }
    Ok(SecretData::new(data.into_iter().collect())
        .with_lease(Some(std::time::Duration::from_secs(end - now))))
}

/// What a leased read's answer means. A dynamic role answers a lease; a static role
/// (`database/static-creds/..`) answers no lease and a `ttl` in its data until the next
/// rotation, which becomes the data's TTL (and leaves the data, so that a re-read that
/// finds the same password is no change); a `ttl` of 0 (rotation under way) counts as 1 s.
pub(crate) fn decode_lease(reply: &Reply, shown: &str) -> Result<SecretData, Error> {
    match reply.status {
        200 => {}
        404 => {
            return Err(Error::NotFound {
                path: shown.to_owned(),
                hint: None,
            });
        }
        _ => return Err(reply.status_error(shown)),
    }
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Malformed {
            path: shown.to_owned(),
            reason: "an empty answer".into(),
        });
    }
    let answer: LeasedReply = reply.json(shown)?;
    let Some(mut data) = answer.data else {
        return Err(Error::Malformed {
            path: shown.to_owned(),
            reason: "the answer has no `data`".into(),
        });
    };
    let ttl = if answer.lease_id.is_empty() {
        match data.remove("ttl") {
            // 0 s: the rotation is under way; read again in a second, not never.
            Some(Value::Number(n)) => n.as_u64().map(|s| ttl_secs(s.max(1))),
            _ => None,
        }
    } else {
        Some(ttl_secs(answer.lease_duration))
    };
    Ok(SecretData::new(data.into_iter().collect())
        .with_lease(ttl)
        .with_lease_id(answer.lease_id, answer.renewable))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_role_answers_a_lease() {
        let data = decode_lease(
            &Reply::text(
                200,
                r#"{"lease_id":"database/creds/app/abcdefghijklmnop","lease_duration":3,"renewable":true,"data":{"username":"v-app","password":"pw"}}"#,
            ),
            "database/creds/app",
        )
        .unwrap();
        assert_eq!(data.lease_id(), Some("database/creds/app/abcdefghijklmnop"));
        assert!(data.renewable());
        assert_eq!(data.lease(), Some(std::time::Duration::from_secs(3)));
        assert_eq!(data.keys().collect::<Vec<_>>(), ["password", "username"]);
    }

    #[test]
    fn an_issued_certificate_lives_until_its_expiration_not_the_ttl_asked() {
        let body = r#"{"lease_id":"","lease_duration":0,"data":{"certificate":"C","private_key":"K","serial_number":"1d:3f:a2","expiration":1100,"ttl":86400}}"#;
        let data = decode_issue(&Reply::text(200, body), "pki/issue/internal", 1000).unwrap();
        assert_eq!(data.lease(), Some(std::time::Duration::from_secs(100)));
        assert_eq!(data.lease_id(), None);
    }

    #[test]
    fn bad_issue_answers_are_clear_errors_without_the_key() {
        let refused = decode_issue(
            &Reply::text(
                400,
                r#"{"errors":["common name evil.com not allowed by this role"]}"#,
            ),
            "pki/issue/internal",
            1000,
        )
        .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "vault refused the request on pki/issue/internal: common name evil.com not allowed by this role"
        );
        assert_eq!(
            vault_config_core::SourceError::from(refused).kind(),
            vault_config_core::SourceErrorKind::Denied,
            "a refusal is never covered by fallback"
        );
        for (body, why) in [
            (
                r#"{"data":{"certificate":"C","serial_number":"s","expiration":1100}}"#,
                "no `private_key`",
            ),
            (
                r#"{"data":{"certificate":"C","private_key":"CANARY","serial_number":"s"}}"#,
                "no `expiration`",
            ),
            (
                r#"{"data":{"certificate":"C","private_key":"CANARY","serial_number":"s","expiration":900}}"#,
                "already ended",
            ),
            (r#"{"warnings":[]}"#, "no `data`"),
        ] {
            let err =
                decode_issue(&Reply::text(200, body), "pki/issue/internal", 1000).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(why) && !text.contains("CANARY"), "{text}");
        }
    }

    #[test]
    fn a_static_role_answers_its_ttl_and_no_lease() {
        let data = decode_lease(
            &Reply::text(
                200,
                r#"{"lease_id":"","lease_duration":0,"renewable":false,"data":{"username":"static_app","password":"pw","ttl":4,"rotation_period":5}}"#,
            ),
            "database/static-creds/app",
        )
        .unwrap();
        assert_eq!((data.lease_id(), data.renewable()), (None, false));
        assert_eq!(data.lease(), Some(std::time::Duration::from_secs(4)));
        assert!(
            data.get("ttl").is_none(),
            "the ttl is the data's TTL, not a value"
        );
    }

    #[test]
    fn absurd_and_zero_durations_do_not_panic() {
        let huge = format!(
            r#"{{"lease_id":"database/creds/app/x","lease_duration":{},"renewable":true,"data":{{}}}}"#,
            u64::MAX
        );
        let data = decode_lease(&Reply::text(200, &huge), "database/creds/app").unwrap();
        assert_eq!(
            data.lease(),
            Some(crate::schedule::bounded(std::time::Duration::MAX))
        );
        let zero =
            r#"{"lease_id":"database/creds/app/x","lease_duration":0,"renewable":false,"data":{}}"#;
        assert_eq!(
            decode_lease(&Reply::text(200, zero), "p").unwrap().lease(),
            None
        );
    }

    #[test]
    fn errors_name_the_path() {
        let err = decode_lease(
            &Reply::text(403, r#"{"errors":["permission denied"]}"#),
            "database/creds/app",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Denied { .. }), "{err}");
        assert!(matches!(
            decode_lease(&Reply::text(200, r#"{"lease_id":"x"}"#), "p").unwrap_err(),
            Error::Malformed { .. }
        ));
        assert!(matches!(
            decode_lease(&Reply::text(200, ""), "p").unwrap_err(),
            Error::Malformed { .. }
        ));
    }
}
