//! A test kit for your own unit tests: an in-memory [`SecretSource`] that records what it was
//! asked.
//!
//! ```
//! use vault_config_core::testing::MockVault;
//! use vault_config_core::{SecretSource, VaultPath};
//!
//! let vault = MockVault::new()
//!     .secret("secret/myapp/default/database", [("url", "postgres://localhost/app")])
//!     .deny("secret/myapp/default/admin");
//! let answers = pollster::block_on(vault.fetch(&[
//!     VaultPath::new("secret", "myapp/default/database"),
//!     VaultPath::new("secret", "myapp/default/admin"),
//! ]));
//! assert!(answers[0].is_ok());
//! assert!(answers[1].is_err());
//! assert_eq!(vault.calls(), 1);
//! assert_eq!(vault.reads_of("secret/myapp/default/database"), 1);
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::source::{BoxFuture, FetchResult, SecretData, SecretSource, SourceError, VaultPath};

/// An in-memory Vault: paths with key/values, paths that fail, and a record of every request.
///
/// Clones share state, so a test can keep one clone and hand another to the loader.
#[derive(Clone, Default, Debug)]
pub struct MockVault {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Default, Debug)]
struct Inner {
    secrets: BTreeMap<String, SecretData>,
    failures: BTreeMap<String, SourceError>,
    /// Plaintexts by (decrypt path, ciphertext).
    transit: BTreeMap<(String, String), String>,
    batches: usize,
    requested: Vec<VaultPath>,
}

fn key(path: &str) -> String {
    path.trim_matches('/').to_owned()
}

impl MockVault {
    /// An empty mock: every path is "not found".
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock must not hide its own failure.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores key/values at `mount/path` (e.g. `secret/myapp/default/database`), replacing
    /// what was there.
    pub fn secret<I, K, V>(self, path: &str, data: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        self.set(path, data);
        self
    }

    /// Replaces the key/values at `mount/path` on a shared mock, e.g. to simulate rotation.
    pub fn set<I, K, V>(&self, path: &str, data: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Value>,
    {
        self.lock()
            .secrets
            .insert(key(path), data.into_iter().collect());
    }

    /// Makes the transit key `key` (`myapp`, or `mount/myapp`) decrypt `ciphertext` (any text
    /// of the form `vault:v1:<base64>`) to `plaintext`; any other ciphertext of that key does
    /// not decrypt, as under a wrong key. `deny("transit/decrypt/myapp")` denies the key.
    ///
    /// ```
    /// use vault_config_core::testing::MockVault;
    /// use vault_config_core::{SecretSource, VaultPath};
    ///
    /// let vault = MockVault::new().decrypts("shop", "vault:v1:c2VjcmV0", "hunter2");
    /// let asked = vec!["vault:v1:c2VjcmV0".to_owned(), "vault:v1:b3RoZXI=".to_owned()];
    /// let answers = pollster::block_on(vault.fetch(&[VaultPath::decrypt("transit", "shop", asked)]));
    /// let data = answers[0].as_ref().unwrap();
    /// assert_eq!(data.get("0").and_then(|v| v.as_str()), Some("hunter2"));
    /// assert!(data.get("1").and_then(|v| v.get("error")).is_some());
    /// ```
    pub fn decrypts(self, key: &str, ciphertext: &str, plaintext: &str) -> Self {
        let written = crate::transit::TransitKey::parse(key);
        let (mount, name) = written
            .as_ref()
            .map_or(("transit", key), |k| (k.mount.as_str(), k.name.as_str()));
        let path = VaultPath::decrypt(mount, name, Vec::new()).to_string();
        self.lock()
            .transit
            .insert((path, ciphertext.trim().to_owned()), plaintext.to_owned());
        self
    }

    /// Makes `mount/path` answer "permission denied".
    pub fn deny(self, path: &str) -> Self {
        let err = SourceError::denied(format!("permission denied on {}", key(path)));
        self.fail(path, err)
    }

    /// Makes `mount/path` answer "unavailable", as if Vault were unreachable.
    pub fn unavailable(self, path: &str) -> Self {
        let err = SourceError::unavailable(format!("connection refused reading {}", key(path)));
        self.fail(path, err)
    }

    /// Makes `mount/path` answer with `error`.
    pub fn fail(self, path: &str, error: SourceError) -> Self {
        self.set_failure(path, Some(error));
        self
    }

    /// Makes `mount/path` fail from now on (`Some`), or answer normally again (`None`), on a
    /// shared mock: e.g. Vault going down and coming back while live settings run.
    pub fn set_failure(&self, path: &str, error: Option<SourceError>) {
        let mut inner = self.lock();
        match error {
            Some(error) => inner.failures.insert(key(path), error),
            None => inner.failures.remove(&key(path)),
        };
    }

    /// How many batches the loader sent (one per load that needed Vault).
    pub fn calls(&self) -> usize {
        self.lock().batches
    }

    /// Every path requested, in order, across all batches.
    pub fn requested(&self) -> Vec<VaultPath> {
        self.lock().requested.clone()
    }

    /// How many times `mount/path` was read.
    pub fn reads_of(&self, path: &str) -> usize {
        let wanted = key(path);
        self.lock()
            .requested
            .iter()
            .filter(|p| p.to_string() == wanted)
            .count()
    }

    fn answer(&self, paths: &[VaultPath]) -> Vec<FetchResult> {
        let mut inner = self.lock();
        inner.batches += 1;
        inner.requested.extend_from_slice(paths);
        paths
            .iter()
            .map(|p| {
                let k = key(&p.to_string());
                if let Some(err) = inner.failures.get(&k) {
                    return Err(err.clone());
                }
                if p.kind == crate::PathKind::Decrypt {
                    // One entry per ciphertext, as the real client answers.
                    let entries = p.ciphertexts.0.iter().enumerate().map(|(i, c)| {
                        let entry = match inner.transit.get(&(k.clone(), c.clone())) {
                            Some(plain) => Value::String(plain.clone()),
                            None => serde_json::json!({ "error": "cipher: message authentication failed" }),
                        };
                        (i.to_string(), entry)
                    });
                    return Ok(SecretData::new(entries.collect()));
                }
                if p.kind == crate::PathKind::Folder {
                    // Every secret directly inside the folder, by entry name.
                    let prefix = format!("{k}/");
                    let entries: BTreeMap<String, Value> = inner
                        .secrets
                        .iter()
                        .filter_map(|(path, data)| {
                            let name = path.strip_prefix(&prefix)?;
                            (!name.is_empty() && !name.contains('/'))
                                .then(|| (name.to_owned(), data.to_object()))
                        })
                        .collect();
                    return Ok(SecretData::new(entries));
                }
                inner
                    .secrets
                    .get(&k)
                    .cloned()
                    .ok_or_else(|| SourceError::not_found(format!("no secret at {k}")))
            })
            .collect()
    }
}

impl SecretSource for MockVault {
    fn fetch<'a>(&'a self, paths: &'a [VaultPath]) -> BoxFuture<'a, Vec<FetchResult>> {
        let answers = self.answer(paths);
        Box::pin(async move { answers })
    }
}
