//! The env and Vault layers of one load as a figment [`Provider`], so they can be merged into
//! any figment chain (Rocket's, for one).

use std::fmt;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use serde::Deserialize;

use crate::VaultConfig;
use crate::error::Error;
use crate::resolve::{Resolved, Winner};

/// The values that won from env and Vault in one validated load, keyed by field path.
///
/// Defaults are not included: they stay with your struct or your own figment chain. Values
/// sit in figment's global profile, so they win over every profile of the chain they are
/// merged into, as Rocket's own env provider does. Non-secret env values are parsed the way
/// figment's `Env` provider parses them (`"8080"` is a number); secrets stay exact strings;
/// Vault values keep their JSON types.
///
/// `Debug` lists keys only. A figment built from a snapshot holds secret values, and figment's
/// own `Debug` output would print them: do not log such a figment.
#[derive(Clone)]
pub struct Snapshot {
    dict: Dict,
}

impl Snapshot {
    pub(crate) fn new(dict: Dict) -> Self {
        Snapshot { dict }
    }

    /// The dotted keys present, sorted.
    pub fn keys(&self) -> Vec<String> {
        fn walk(prefix: &str, dict: &Dict, out: &mut Vec<String>) {
            for (k, v) in dict {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    Value::Dict(_, inner) => walk(&key, inner, out),
                    _ => out.push(key),
                }
            }
        }
        let mut out = Vec::new();
        walk("", &self.dict, &mut out);
        out
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("keys", &self.keys())
            .finish()
    }
}

impl Provider for Snapshot {
    fn metadata(&self) -> Metadata {
        Metadata::named("vault-config (env + Vault)")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Global.collect(self.dict.clone()))
    }
}

/// Inserts `value` at a dotted `path`, creating tables on the way.
pub(crate) fn insert(dict: &mut Dict, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            dict.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

impl Resolved<'_> {
    /// The env and Vault values that won, as figment values, keyed by field path.
    pub(crate) fn layer_dict(&self) -> figment::value::Dict {
        let mut dict = figment::value::Dict::new();
        for (field, state) in self.schema.fields.iter().zip(&self.fields) {
            let value = match (&state.winner, field.secret) {
                (Winner::Text(raw), true) => figment::value::Value::from((*raw).to_owned()),
                (Winner::Text(raw), false) => raw
                    .parse()
                    .unwrap_or_else(|_| figment::value::Value::from((*raw).to_owned())),
                (Winner::Json(v), _) => {
                    match <figment::value::Value as Deserialize>::deserialize(&**v) {
                        Ok(value) => value,
                        Err(_) => continue,
                    }
                }
                (Winner::Default | Winner::Nothing, _) => continue,
            };
            crate::snapshot::insert(&mut dict, &field.path, value);
        }
        dict
    }
}

/// A validated load's env and Vault layers as a figment provider.
pub(crate) fn finish<T: VaultConfig>(resolved: Resolved<'_>) -> Result<Snapshot, Error> {
    let dict = resolved.layer_dict();
    crate::build::settings::<T>(resolved).map(|_| Snapshot::new(dict))
}
