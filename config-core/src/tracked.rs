//! What live settings need from a load beyond the value: a fingerprint per field, to name the
//! fields a refresh changed without ever comparing or printing values, and the first value of
//! each `static` field, to keep it across refreshes.

use std::fmt;

use crate::VaultConfig;
use crate::error::Error;
use crate::plan::{Pinned, PinnedValue, Pins};
use crate::resolve::{Resolved, Winner, winner_fingerprint};
use crate::source::{PathKind, VaultPath};

/// A validated value and what a later load compares against it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Tracked<T> {
    /// The settings.
    pub value: T,
    /// One keyed hash per field of the winning raw value.
    pub fingerprints: Fingerprints,
    /// The values of `static` fields, to pin on later loads.
    pub pins: Pins,
    /// Pinned `static` fields whose layers now hold another value (kept, not applied).
    pub static_changes: Vec<String>,
    /// The fields whose value is leased credentials, with the path that leased them (a
    /// lease field that a layer before Vault filled is not among them).
    pub leased: Vec<(String, VaultPath)>,
}

/// Per-field keyed hashes of the winning raw values. The key is random per process, so a
/// fingerprint says nothing about a value outside it; they are never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fingerprints(Vec<(String, u64)>);

impl Fingerprints {
    pub(crate) fn insert(&mut self, field: &str, hash: u64) {
        self.0.push((field.to_owned(), hash));
    }

    fn get(&self, field: &str) -> Option<u64> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, h)| *h)
    }

    /// The fields whose value differs in `newer`, in field order.
    pub fn changed(&self, newer: &Fingerprints) -> Vec<String> {
        let mut fields: Vec<String> = newer
            .0
            .iter()
            .filter(|(field, hash)| self.get(field) != Some(*hash))
            .map(|(field, _)| field.clone())
            .collect();
        fields.extend(
            self.0
                .iter()
                .filter(|(f, _)| newer.get(f).is_none())
                .map(|(f, _)| f.clone()),
        );
        fields
    }
}

impl fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: Vec<&str> = self.0.iter().map(|(f, _)| f.as_str()).collect();
        f.debug_tuple("Fingerprints").field(&fields).finish()
    }
}

impl Resolved<'_> {
    /// A keyed hash of every field's winning raw value.
    pub(crate) fn fingerprints(&self) -> Fingerprints {
        let mut out = Fingerprints::default();
        for (field, state) in self.schema.fields.iter().zip(&self.fields) {
            out.insert(&field.path, winner_fingerprint(field, &state.winner));
        }
        out
    }

    /// The fields that leased credentials or issued certificates won, and their paths.
    pub(crate) fn leased(&self) -> Vec<(String, VaultPath)> {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter_map(|(field, state)| {
                let loc = field.vault.as_ref()?;
                let path = self.target.path(loc);
                let won = match loc.kind {
                    PathKind::Lease => format!("vault {path} ("),
                    PathKind::Issue => format!("pki {path} ("),
                    _ => return None,
                };
                state
                    .origin
                    .starts_with(&won)
                    .then(|| (field.path.clone(), path))
            })
            .collect()
    }

    /// `static` fields whose layers now hold another value than the one kept.
    pub(crate) fn static_changes(&self) -> Vec<String> {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(field, state)| {
                state
                    .shadow
                    .is_some_and(|now| now != winner_fingerprint(field, &state.winner))
            })
            .map(|(field, _)| field.path.clone())
            .collect()
    }

    /// The winning raw values of `static` fields, to keep on later loads.
    pub(crate) fn pins(&self) -> Pins {
        let pins = self
            .schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(field, _)| field.is_static)
            .map(|(field, state)| {
                let value = match &state.winner {
                    Winner::Text(raw) => PinnedValue::Str((*raw).to_owned()),
                    Winner::Json(v) => PinnedValue::Json((**v).clone()),
                    Winner::Default => PinnedValue::Default,
                    Winner::Nothing => PinnedValue::Absent,
                };
                // A value already pinned keeps its first origin.
                let origin = state
                    .origin
                    .split(" (static: ")
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                (field.path.clone(), Pinned { value, origin })
            })
            .collect();
        Pins(pins)
    }
}

/// A load for live settings: the value and what the next load compares against.
pub(crate) fn finish<T: VaultConfig>(resolved: Resolved<'_>) -> Result<Tracked<T>, Error> {
    let fingerprints = resolved.fingerprints();
    let pins = resolved.pins();
    let static_changes = resolved.static_changes();
    let leased = resolved.leased();
    crate::build::settings::<T>(resolved).map(|value| Tracked {
        value,
        fingerprints,
        pins,
        static_changes,
        leased,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_names_differing_added_and_removed_fields() {
        let mut a = Fingerprints::default();
        a.insert("port", 1);
        a.insert("db", 2);
        a.insert("gone", 3);
        let mut b = Fingerprints::default();
        b.insert("port", 1);
        b.insert("db", 9);
        b.insert("new", 4);
        assert_eq!(a.changed(&b), ["db", "new", "gone"]);
        assert!(a.changed(&a.clone()).is_empty());
    }
}
