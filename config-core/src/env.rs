//! The environment as one immutable snapshot, so that tests inject theirs instead of mutating
//! the process environment.

use std::collections::BTreeMap;
use std::fmt;

/// A snapshot of environment variables.
///
/// Values are kept as given. A process variable whose value is not UTF-8 is kept as a marker so
/// that a field reading it reports an error instead of silently seeing it as unset.
///
/// ```
/// use vault_config_core::EnvSnapshot;
/// let env = EnvSnapshot::from_iter([("APP_PORT", "9090")]);
/// assert_eq!(env.get("APP_PORT"), Some(Ok("9090")));
/// assert_eq!(env.get("APP_HOST"), None);
/// ```
#[derive(Clone, Default)]
pub struct EnvSnapshot {
    vars: BTreeMap<String, Option<String>>,
}

impl EnvSnapshot {
    /// The current process environment.
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok())))
            .collect();
        EnvSnapshot { vars }
    }

    /// The value of `name`: `None` when unset, `Some(Err(NotUnicode))` when not UTF-8.
    pub fn get(&self, name: &str) -> Option<Result<&str, NotUnicode>> {
        self.vars.get(name).map(|v| v.as_deref().ok_or(NotUnicode))
    }

    /// Every variable name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvSnapshot {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        EnvSnapshot {
            vars: iter
                .into_iter()
                .map(|(k, v)| (k.into(), Some(v.into())))
                .collect(),
        }
    }
}

impl fmt::Debug for EnvSnapshot {
    /// Names only: an env value may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSnapshot")
            .field("names", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// An env var's value is not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotUnicode;
