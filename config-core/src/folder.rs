//! [`SecretFolder`]: a field loaded from every secret of a Vault folder (`vault(folder = ..)`),
//! with a `get_secret("runpod", "api_key")`-style lookup for code that needs it dynamically.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::source::SecretData;

/// The secrets of a Vault folder: entry name (e.g. a provider) to its key/values.
///
/// Values are secrets: `Debug` lists entry names and keys only, strings are zeroized on drop.
///
/// ```
/// use vault_config_core::SecretFolder;
/// let folder: SecretFolder = serde_json::from_value(serde_json::json!({
///     "runpod": { "api_key": "rp-123" },
///     "aws": { "access_key_id": "AKIA", "secret_access_key": "s3cr3t" },
/// })).unwrap();
/// assert_eq!(folder.get("runpod", "api_key"), Some("rp-123"));
/// assert_eq!(folder.names().collect::<Vec<_>>(), ["aws", "runpod"]);
/// assert!(!format!("{folder:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, Default)]
pub struct SecretFolder(BTreeMap<String, SecretData>);

impl SecretFolder {
    /// The string stored under `key` in entry `name` (`get_secret("runpod", "api_key")`).
    pub fn get(&self, name: &str, key: &str) -> Option<&str> {
        self.0.get(name)?.get(key)?.as_str()
    }

    /// Every key/value of entry `name`.
    pub fn entry(&self, name: &str) -> Option<&SecretData> {
        self.0.get(name)
    }

    /// The entry names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// How many entries the folder holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the folder is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretFolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .map(|(name, data)| (name, data.keys().collect::<Vec<_>>())),
            )
            .finish()
    }
}

impl<'de> Deserialize<'de> for SecretFolder {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = BTreeMap::<String, BTreeMap<String, Value>>::deserialize(deserializer)?;
        Ok(SecretFolder(
            entries
                .into_iter()
                .map(|(name, map)| (name, SecretData::new(map)))
                .collect(),
        ))
    }
}
