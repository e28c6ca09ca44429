//! The KV secrets engine: version detection per mount ([internal UI mounts](https://developer.hashicorp.com/vault/api-docs/system/internal-ui-mounts)) and reads ([KV v2 read](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version), [KV v1 read](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v1#read-secret)), with
//! precise errors and hints for KV version mix-ups.

use secrecy::SecretString;
use serde_json::{Map, Value};
use vault_config_core::{SecretData, VaultPath};

use crate::Error;
use crate::client::Inner;
use crate::config::KvVersion;
use crate::http::transport::{Call, Reply};
use crate::http::wire::{Envelope, Kv2Read, MountInfo};

/// The warning a KV v2 mount gives a v1-style read ([errors](https://developer.hashicorp.com/vault/api-docs#http-status-codes)).
const V1_ON_V2_WARNING: &str = "Invalid path for a versioned K/V";

impl Inner {
    /// The KV version of `mount`: the override, the cache, or `sys/internal/ui/mounts`.
    /// 403 and 404 mean KV v1, as for the Vault CLI; only definite answers are cached.
    #[tracing::instrument(name = "vault.detect", skip_all, fields(mount = %mount))]
    pub(crate) async fn kv_version(
        &self,
        mount: &str,
        token: &SecretString,
    ) -> Result<KvVersion, Error> {
        if let Some(version) = self.known_version(mount) {
            return Ok(version);
        }
        let path = format!("sys/internal/ui/mounts/{mount}");
        let reply = self.send(&Call::get(&path, Some(token))).await?;
        let version = match reply.status {
            200 => {
                let info: Envelope<MountInfo> = reply.json(&path)?;
                let info = info.data.unwrap_or_default();
                let v2 = info.kind.as_deref() == Some("kv")
                    && info.options.and_then(|o| o.version).as_deref() == Some("2");
                if v2 { KvVersion::V2 } else { KvVersion::V1 }
            }
            404 => KvVersion::V1,
            // Denied: the token may lack access to the mount, or the mount may not exist.
            // Read as v1 without caching; the read itself reports what is wrong.
            403 => return Ok(KvVersion::V1),
            _ => return Err(reply.status_error(&path)),
        };
        tracing::debug!(mount, ?version, "vault: detected KV version");
        if let Ok(mut cache) = self.kv_versions.lock() {
            cache.insert(mount.to_owned(), version);
        }
        Ok(version)
    }

    /// The KV version of `mount` without asking: the override (`VAULT_KV_VERSION`), or what an
    /// earlier detection found.
    pub(crate) fn known_version(&self, mount: &str) -> Option<KvVersion> {
        if let Some(version) = self.config.kv_version {
            return Some(version);
        }
        self.kv_versions.lock().ok()?.get(mount).copied()
    }

    /// Reads one secret as the user wrote it (`secret` + `myapp/db`).
    #[tracing::instrument(name = "vault.read", skip_all, fields(path = %secret))]
    pub(crate) async fn read(
        &self,
        secret: &VaultPath,
        version: KvVersion,
        token: &SecretString,
    ) -> Result<SecretData, Error> {
        let shown = secret.to_string();
        let api_path = match version {
            // A path already written v2-style is left as is (as consul-template does).
            KvVersion::V2 if secret.path.starts_with("data/") => shown.clone(),
            KvVersion::V2 => format!("{}/data/{}", secret.mount, secret.path),
            KvVersion::V1 => shown.clone(),
        };
        let reply = self.send(&Call::get(&api_path, Some(token))).await?;
        decode_read(&reply, secret, version)
    }

    /// Every secret directly inside a folder (LIST, then the entries in parallel), as one
    /// [`SecretData`] of entry name to key/values. An empty or missing folder is empty.
    #[tracing::instrument(name = "vault.list", skip_all, fields(path = %folder))]
    pub(crate) async fn read_folder(
        &self,
        folder: &VaultPath,
        version: KvVersion,
        token: &SecretString,
    ) -> Result<SecretData, Error> {
        let shown = folder.to_string();
        let api_path = match version {
            KvVersion::V2 => format!("{}/metadata/{}", folder.mount, folder.path),
            KvVersion::V1 => format!("{}/{}", folder.mount, folder.path),
        };
        let mut call = Call::get(&api_path, Some(token));
        call.method = reqwest::Method::from_bytes(b"LIST").unwrap_or(reqwest::Method::GET);
        let reply = self.send(&call).await?;
        let names: Vec<String> = match reply.status {
            200 => {
                let listed: Envelope<crate::http::wire::ListKeys> = reply.json(&shown)?;
                listed.data.unwrap_or_default().keys
            }
            // Vault answers an empty folder with 404.
            404 => Vec::new(),
            _ => return Err(reply.status_error(&shown)),
        };
        let entries: Vec<&String> = names.iter().filter(|n| !n.ends_with('/')).collect();
        let paths: Vec<VaultPath> = entries.iter().map(|name| folder.child(name)).collect();
        let reads =
            futures_util::future::join_all(paths.iter().map(|p| self.read(p, version, token)))
                .await;
        let mut map = std::collections::BTreeMap::new();
        for (name, read) in entries.into_iter().zip(reads) {
            match read {
                Ok(data) => {
                    map.insert(name.clone(), data.to_object());
                }
                // Deleted between the LIST and the read: not an entry any more.
                Err(Error::NotFound { hint: None, .. } | Error::Deleted { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(SecretData::new(map))
    }

    /// The current version of each path: KV v2 `metadata.current_version` ([KV v2 metadata](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-metadata)); `None`
    /// for KV v1 or when the metadata cannot be read (then the path is simply re-read).
    pub(crate) async fn current_versions(&self, paths: &[VaultPath]) -> Vec<Option<u64>> {
        let Ok(token) = self.token().await else {
            return vec![None; paths.len()];
        };
        futures_util::future::join_all(paths.iter().map(|p| self.current_version(p, &token))).await
    }

    async fn current_version(&self, secret: &VaultPath, token: &SecretString) -> Option<u64> {
        if secret.kind != vault_config_core::PathKind::Secret {
            return None;
        }
        if self.kv_version(&secret.mount, token).await.ok()? != KvVersion::V2 {
            return None;
        }
        let path = format!("{}/metadata/{}", secret.mount, secret.path);
        let reply = self.send(&Call::get(&path, Some(token))).await.ok()?;
        if !reply.is_success() {
            return None;
        }
        let envelope: Envelope<crate::http::wire::Kv2MetadataInfo> = reply.json(&path).ok()?;
        envelope.data?.live_version()
    }
}

/// What a KV read's answer means: the secret, or a precise error ([errors](https://developer.hashicorp.com/vault/api-docs#http-status-codes), [KV v2 read](https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version)). Pure, so the
/// fuzz target `vault_response` runs exactly this on arbitrary answers.
pub(crate) fn decode_read(
    reply: &Reply,
    secret: &VaultPath,
    version: KvVersion,
) -> Result<SecretData, Error> {
    let shown = secret.to_string();
    let blank = reply.body.iter().all(u8::is_ascii_whitespace);
    match (reply.status, version) {
        // A read always answers a body: an empty 200 is not "no secret".
        (200, _) if blank => Err(Error::Malformed {
            path: shown,
            reason: "an empty answer".into(),
        }),
        // A 404 that is not Vault's JSON (an HTML page from a misrouted proxy) says nothing
        // about the secret: the server was not reached.
        (404, _) if !blank && serde_json::from_slice::<Value>(&reply.body).is_err() => {
            Err(Error::Status {
                path: shown,
                status: 404,
                message: "the answer is not from Vault (not JSON)".into(),
            })
        }
        (200, KvVersion::V1) => {
            let envelope: Envelope<Map<String, Value>> = reply.json(&shown)?;
            let lease = envelope.lease_duration.map(crate::http::wire::ttl_secs);
            let data = envelope.data.unwrap_or_default().into_iter().collect();
            Ok(SecretData::new(data).with_lease(lease))
        }
        (200, KvVersion::V2) => {
            let envelope: Envelope<Kv2Read> = reply.json(&shown)?;
            let read = envelope.data.unwrap_or_default();
            let version = read.metadata.as_ref().and_then(|m| m.version);
            match read.data {
                Some(data) => Ok(SecretData::new(data.into_iter().collect()).with_version(version)),
                None => Err(
                    deleted(&shown, read.metadata.as_ref()).unwrap_or(Error::NotFound {
                        path: shown,
                        hint: None,
                    }),
                ),
            }
        }
        (404, _) => Err(not_found(&shown, secret, version, reply)),
        _ => Err(reply.status_error(&shown)),
    }
}

/// What a 404 means ([errors](https://developer.hashicorp.com/vault/api-docs#http-status-codes)): missing, a deleted v2 version, or a KV version mix-up.
fn not_found(
    shown: &str,
    secret: &VaultPath,
    version: KvVersion,
    reply: &crate::http::transport::Reply,
) -> Error {
    let envelope: Envelope<Kv2Read> = reply.json(shown).unwrap_or_default();
    if let Some(err) = envelope
        .data
        .as_ref()
        .and_then(|d| deleted(shown, d.metadata.as_ref()))
    {
        return err;
    }
    let v1_on_v2 = envelope
        .warnings
        .iter()
        .flatten()
        .any(|w| w.contains(V1_ON_V2_WARNING));
    let hint = if v1_on_v2 {
        Some(format!(
            "mount `{}` is KV v2 but was read as KV v1; remove the KV version override (VAULT_KV_VERSION) or set it to 2",
            secret.mount
        ))
    } else if version == KvVersion::V1 && secret.path.starts_with("data/") {
        Some(format!(
            "mount `{}` is KV v1, so `data/` is part of the path; write paths without `data/`, the KV version is detected",
            secret.mount
        ))
    } else {
        None
    };
    Error::NotFound {
        path: shown.to_owned(),
        hint,
    }
}

fn deleted(path: &str, metadata: Option<&crate::http::wire::Kv2Metadata>) -> Option<Error> {
    let m = metadata?;
    let destroyed = m.destroyed.unwrap_or(false);
    let deleted = m.deletion_time.as_deref().is_some_and(|t| !t.is_empty());
    (destroyed || deleted).then(|| Error::Deleted {
        path: path.to_owned(),
        version: m.version,
        destroyed,
    })
}
