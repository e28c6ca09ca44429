//! The environment as one immutable snapshot, so that tests inject theirs instead of mutating
//! the process environment. Values from Vault Agent injected files can sit under it as a
//! second layer.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use zeroize::Zeroize;

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
    vars: BTreeMap<String, Entry>,
    /// Names read in place of a standard one ([`with_aliases`](Self::with_aliases)).
    aliases: Vec<String>,
    /// The `.env` file's variables, under `vars`, and the file they came from.
    dotenv: BTreeMap<String, Entry>,
    dotenv_origin: Option<Arc<str>>,
}

#[derive(Clone)]
struct Entry {
    /// `None` when the process value is not UTF-8.
    value: Option<String>,
    /// Where a value from a file came from; `None` for the process environment.
    origin: Option<Arc<str>>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Env values and injected files may hold secrets.
        if let Some(v) = &mut self.value {
            v.zeroize();
        }
    }
}

impl EnvSnapshot {
    /// The current process environment.
    pub fn from_process() -> Self {
        Self::from_os(std::env::vars_os())
    }

    /// A snapshot of OS strings, as the process environment holds them: a value that is not
    /// UTF-8 is kept as such (a field reading it reports it), a name that is not is dropped.
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use std::os::unix::ffi::OsStringExt;
    /// use vault_config_core::{EnvSnapshot, NotUnicode};
    /// let env = EnvSnapshot::from_os([(OsString::from("APP_KEY"), OsString::from_vec(vec![0xff]))]);
    /// assert_eq!(env.get("APP_KEY"), Some(Err(NotUnicode)));
    /// ```
    pub fn from_os<I>(vars: I) -> Self
    where
        I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    {
        let vars = vars
            .into_iter()
            .filter_map(|(k, v)| {
                let entry = Entry {
                    value: v.into_string().ok(),
                    origin: None,
                };
                Some((k.into_string().ok()?, entry))
            })
            .collect();
        EnvSnapshot {
            vars,
            ..EnvSnapshot::default()
        }
    }

    /// The value of `name`: `None` when unset, `Some(Err(NotUnicode))` when not UTF-8. A
    /// variable of the `.env` file answers where the environment has none.
    ///
    /// ```
    /// use vault_config_core::EnvSnapshot;
    /// let env = EnvSnapshot::from_iter([("APP_PORT", "9090")])
    ///     .with_dotenv(".env", [("APP_PORT", "8080"), ("APP_HOST", "::1")]);
    /// assert_eq!(env.get("APP_PORT"), Some(Ok("9090")));
    /// assert_eq!(env.get("APP_HOST"), Some(Ok("::1")));
    /// assert_eq!(env.dotenv_value("APP_PORT"), Some(Ok("8080")));
    /// ```
    pub fn get(&self, name: &str) -> Option<Result<&str, NotUnicode>> {
        self.own(name).or_else(|| self.dotenv_value(name))
    }

    /// The value of `name` in the environment itself (with Agent files), not the `.env` file.
    pub fn own(&self, name: &str) -> Option<Result<&str, NotUnicode>> {
        self.vars.get(name).map(Entry::text)
    }

    /// The value of `name` in the `.env` file, when one was read.
    pub fn dotenv_value(&self, name: &str) -> Option<Result<&str, NotUnicode>> {
        self.dotenv.get(name).map(Entry::text)
    }

    /// The `.env` file the snapshot's `.env` variables came from.
    pub fn dotenv_origin(&self) -> Option<&str> {
        self.dotenv_origin.as_deref()
    }

    /// The same snapshot with the variables of a `.env` file (`origin` names it) under it:
    /// they answer only where the environment has no value, and the process environment is
    /// never changed. Values are zeroized when dropped.
    pub fn with_dotenv<I, K, V>(mut self, origin: &str, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.dotenv = entries(vars);
        self.dotenv_origin = Some(Arc::from(origin));
        self
    }

    /// The file a value came from, when it came from [`with_files`](Self::with_files).
    ///
    /// ```
    /// use vault_config_core::EnvSnapshot;
    /// let env = EnvSnapshot::from_iter([("A", "process")])
    ///     .with_files([("A", "file", "/vault/secrets/a"), ("B", "file", "/vault/secrets/b")]);
    /// assert_eq!(env.get("A"), Some(Ok("process")), "the process env wins");
    /// assert_eq!(env.origin("A"), None);
    /// assert_eq!(env.origin("B"), Some("/vault/secrets/b"));
    /// ```
    pub fn origin(&self, name: &str) -> Option<&str> {
        self.vars.get(name).and_then(|e| e.origin.as_deref())
    }

    /// Adds values read from files (`(name, value, file)`) under the snapshot: a name already
    /// set keeps its value. The snapshot keeps its own (zeroized) copy of each value; hand
    /// values over in a zeroizing holder such as `Zeroizing<String>` so theirs is wiped too.
    pub fn with_files<I, K, V, O>(mut self, files: I) -> Self
    where
        I: IntoIterator<Item = (K, V, O)>,
        K: Into<String>,
        V: AsRef<str>,
        O: AsRef<str>,
    {
        for (name, value, origin) in files {
            self.vars.entry(name.into()).or_insert_with(|| Entry {
                value: Some(value.as_ref().to_owned()),
                origin: Some(Arc::from(origin.as_ref())),
            });
        }
        self
    }

    /// The same snapshot where each `(standard, alias)` pair's standard name, when unset,
    /// takes the alias's value: a team's own names (`VAULT_URL`) read as the standard ones
    /// (`VAULT_ADDR`).
    ///
    /// ```
    /// use vault_config_core::EnvSnapshot;
    /// let env = EnvSnapshot::from_iter([("VAULT_URL", "http://vault:8200")]);
    /// let aliased = env.with_aliases(&[("VAULT_ADDR".into(), "VAULT_URL".into())]);
    /// assert_eq!(aliased.get("VAULT_ADDR"), Some(Ok("http://vault:8200")));
    /// ```
    pub fn with_aliases(&self, aliases: &[(String, String)]) -> EnvSnapshot {
        let mut out = self.clone();
        for (standard, alias) in aliases {
            if let (false, Some(entry)) = (out.vars.contains_key(standard), self.vars.get(alias)) {
                out.vars.insert(standard.clone(), entry.clone());
            }
            if let (false, Some(entry)) =
                (out.dotenv.contains_key(standard), self.dotenv.get(alias))
            {
                out.dotenv.insert(standard.clone(), entry.clone());
            }
            out.aliases.push(alias.clone());
        }
        out
    }

    /// Whether `name` is a team's own name of a standard variable, given to
    /// [`with_aliases`](Self::with_aliases): read, so never "unknown".
    pub fn is_alias(&self, name: &str) -> bool {
        self.aliases.iter().any(|a| a == name)
    }

    /// Every variable name, sorted (those of the `.env` file after the environment's).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars
            .keys()
            .chain(self.dotenv.keys().filter(|k| !self.vars.contains_key(*k)))
            .map(String::as_str)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for EnvSnapshot {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        EnvSnapshot {
            vars: entries(iter),
            ..EnvSnapshot::default()
        }
    }
}

/// Text variables as entries of no origin.
fn entries<I, K, V>(vars: I) -> BTreeMap<String, Entry>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    vars.into_iter()
        .map(|(k, v)| {
            let entry = Entry {
                value: Some(v.into()),
                origin: None,
            };
            (k.into(), entry)
        })
        .collect()
}

impl Entry {
    fn text(&self) -> Result<&str, NotUnicode> {
        self.value.as_deref().ok_or(NotUnicode)
    }
}

impl fmt::Debug for EnvSnapshot {
    /// Names only: an env value may be a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvSnapshot")
            .field("names", &self.names().collect::<Vec<_>>())
            .field("dotenv", &self.dotenv_origin)
            .finish()
    }
}

/// An env var's value is not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotUnicode;
