//! The transit engine's decrypt ([`transit/decrypt/<key>`](https://openbao.org/api-docs/secret/transit/#decrypt-data)):
//! every ciphertext of a load in one `batch_input` request per key.

use base64::Engine;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use vault_config_core::{SecretData, VaultPath};
use zeroize::Zeroize;

use crate::Error;
use crate::client::{Inner, VaultClient};
use crate::http::transport::{Call, Reply};
use vault_config_core::transit::TransitKey;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope {
    data: Option<Results>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Results {
    batch_results: Vec<Item>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item {
    plaintext: Option<Base64Text>,
    error: Option<String>,
}

/// A plaintext as sent (base64), zeroized when dropped.
#[derive(Deserialize)]
#[serde(transparent)]
struct Base64Text(String);

impl Drop for Base64Text {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Inner {
    /// Decrypts the ciphertexts of a decrypt path in one request.
    #[tracing::instrument(name = "vault.transit.decrypt", skip_all, fields(path = %path, ciphertexts = path.ciphertexts.0.len()))]
    pub(crate) async fn decrypt(
        &self,
        path: &VaultPath,
        token: &SecretString,
    ) -> Result<SecretData, Error> {
        let shown = path.to_string();
        let batch: Vec<Value> = path
            .ciphertexts
            .0
            .iter()
            .map(|c| json!({ "ciphertext": c }))
            .collect();
        // Decrypting changes nothing: retried like a read.
        let call = Call::post(&shown, Some(token), json!({ "batch_input": batch }));
        let reply = self.send(&call).await?;
        decode_decrypt(&reply, &shown, path.ciphertexts.0.len())
    }
}

/// One ciphertext of a batch answer (`encrypt`, `rewrap`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct Wrapped {
    ciphertext: String,
    error: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WrappedResults {
    batch_results: Vec<Wrapped>,
}

impl VaultClient {
    /// Encrypts `plaintext` with the transit key `key`: the ciphertext (`vault:v1:..`) to
    /// write in a config file. The plaintext is sent once, in a zeroized body.
    pub async fn transit_encrypt(
        &self,
        key: &TransitKey,
        plaintext: &SecretString,
    ) -> Result<String, Error> {
        use secrecy::ExposeSecret;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(plaintext.expose_secret().as_bytes());
        let item = json!({ "plaintext": encoded });
        let mut out = self.transit_batch(key, "encrypt", vec![item]).await?;
        out.pop().ok_or_else(|| Error::Malformed {
            path: format!("{}/encrypt/{}", key.mount, key.name),
            reason: "no ciphertext".into(),
        })
    }

    /// Re-encrypts `ciphertexts` with the key's latest version (after
    /// `transit/keys/<key>/rotate`), in one request; the new ciphertexts in the same order.
    pub async fn transit_rewrap(
        &self,
        key: &TransitKey,
        ciphertexts: &[String],
    ) -> Result<Vec<String>, Error> {
        let items = ciphertexts
            .iter()
            .map(|c| json!({ "ciphertext": c }))
            .collect();
        self.transit_batch(key, "rewrap", items).await
    }

    /// One `batch_input` request to `<mount>/<action>/<key>`: every ciphertext, or the first
    /// item's error (by its index, never its input).
    async fn transit_batch(
        &self,
        key: &TransitKey,
        action: &str,
        items: Vec<Value>,
    ) -> Result<Vec<String>, Error> {
        let shown = format!("{}/{action}/{}", key.mount, key.name);
        let count = items.len();
        let token = self.inner.token().await?;
        let call = Call::post(&shown, Some(&token), json!({ "batch_input": items }));
        let reply = self.inner.send(&call).await?;
        if !matches!(reply.status, 200 | 400) {
            return Err(reply.status_error(&shown));
        }
        let refused = |detail: String| Error::Refused {
            path: shown.clone(),
            detail,
        };
        let results: WrappedResults = match reply.json::<WrappedEnvelope>(&shown) {
            Ok(WrappedEnvelope { data: Some(r) }) => r,
            _ => return Err(refused(crate::http::wire::error_message(&reply.body))),
        };
        if results.batch_results.len() != count {
            return Err(Error::Malformed {
                path: shown,
                reason: format!("{} results for {count} items", results.batch_results.len()),
            });
        }
        let mut out = Vec::with_capacity(count);
        for (i, item) in results.batch_results.iter().enumerate() {
            if !item.error.is_empty()
                || vault_config_core::transit::version(&item.ciphertext).is_none()
            {
                let why = if item.error.is_empty() {
                    "no ciphertext"
                } else {
                    &item.error
                };
                return Err(refused(format!("item {i}: {why}")));
            }
            out.push(item.ciphertext.clone());
        }
        Ok(out)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WrappedEnvelope {
    data: Option<WrappedResults>,
}

/// What a batch decrypt answer means: one entry per ciphertext under its index, the
/// plaintext (base64-decoded, UTF-8) or `{"error": ..}`. The server answers 400 when any item
/// failed, with the items still in the body; a 400 without them is the request refused.
pub(crate) fn decode_decrypt(
    reply: &Reply,
    shown: &str,
    count: usize,
) -> Result<SecretData, Error> {
    let refused = || Error::Refused {
        path: shown.to_owned(),
        detail: crate::http::wire::error_message(&reply.body),
    };
    match reply.status {
        200 | 400 => {}
        _ => return Err(reply.status_error(shown)),
    }
    let results = match reply.json::<Envelope>(shown) {
        Ok(Envelope { data: Some(r) }) => r,
        _ if reply.status == 400 => return Err(refused()),
        Ok(_) => {
            return Err(Error::Malformed {
                path: shown.to_owned(),
                reason: "the answer has no `data`".into(),
            });
        }
        Err(e) => return Err(e),
    };
    if results.batch_results.len() != count {
        return Err(Error::Malformed {
            path: shown.to_owned(),
            reason: format!(
                "{} results for {count} ciphertexts",
                results.batch_results.len()
            ),
        });
    }
    let entries = results.batch_results.iter().enumerate().map(|(i, item)| {
        // A failed item comes with an empty `plaintext` beside its `error`.
        let entry = match (&item.error, &item.plaintext) {
            (Some(why), _) if !why.is_empty() => failed(why.clone()),
            (_, Some(b64)) => plain(&b64.0).map_or_else(failed, Value::String),
            _ => failed("the answer has neither a plaintext nor an error".into()),
        };
        (i.to_string(), entry)
    });
    Ok(SecretData::new(entries.collect()))
}

/// A plaintext as the server sends it (base64), as text.
fn plain(b64: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the plaintext is not base64".to_owned())?;
    String::from_utf8(bytes).map_err(|e| {
        e.into_bytes().zeroize();
        "the plaintext is not UTF-8 text".to_owned()
    })
}

fn failed(why: String) -> Value {
    let mut entry = Map::new();
    entry.insert("error".into(), Value::String(why));
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ciphertext_answers_its_plaintext_or_why_not() {
        let body = r#"{"data":{"batch_results":[{"plaintext":"aHVudGVyMg=="},{"plaintext":"","error":"cipher: message authentication failed"}]}}"#;
        let data = decode_decrypt(&Reply::text(400, body), "transit/decrypt/app", 2).unwrap();
        assert_eq!(data.get("0"), Some(&Value::String("hunter2".into())));
        assert_eq!(
            data.get("1").and_then(|e| e["error"].as_str()),
            Some("cipher: message authentication failed")
        );
    }

    #[test]
    fn a_refusal_a_short_answer_and_bad_plaintexts_are_errors_not_panics() {
        let refused = decode_decrypt(
            &Reply::text(400, r#"{"errors":["missing batch_input"]}"#),
            "transit/decrypt/app",
            1,
        );
        assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
        let short = decode_decrypt(
            &Reply::text(200, r#"{"data":{"batch_results":[]}}"#),
            "transit/decrypt/app",
            1,
        );
        assert!(matches!(short, Err(Error::Malformed { .. })), "{short:?}");
        let denied = decode_decrypt(&Reply::text(403, "{}"), "transit/decrypt/app", 1);
        assert!(matches!(denied, Err(Error::Denied { .. })), "{denied:?}");
        let body = r#"{"data":{"batch_results":[{"plaintext":"!!"},{"plaintext":"/w=="},{}]}}"#;
        let data = decode_decrypt(&Reply::text(200, body), "transit/decrypt/app", 3).unwrap();
        for i in ["0", "1", "2"] {
            assert!(data.get(i).is_some_and(Value::is_object), "{i}");
        }
    }
}
