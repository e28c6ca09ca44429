//! A field's Vault location as a load reads it: the one function every consumer calls (load,
//! explain, check, live settings, `policy`, `migrate`), so that the environment's overrides
//! and the profile apply everywhere alike.

use std::borrow::Cow;

use crate::schema::{Schema, VaultLocation};
use crate::source::{PathKind, VaultPath};

/// What the environment changes in every field's location: `VAULT_MOUNT_POINT` replaces the
/// mount, `VAULT_BASE_PATH` the struct's `vault(path)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Overrides {
    /// The mount that replaces every field's mount.
    pub mount: Option<String>,
    /// The path that replaces the struct's `vault(path)` (the part of each path it gives).
    pub base_path: Option<String>,
}

impl Overrides {
    /// No override.
    pub fn none() -> Self {
        Self::default()
    }

    /// Overrides of the mount and of the base path.
    pub fn new(mount: Option<String>, base_path: Option<String>) -> Self {
        let trim = |s: String| s.trim().trim_matches('/').to_owned();
        Overrides {
            mount: mount.map(trim),
            base_path: base_path.map(trim),
        }
    }
}

/// Where `loc` (a field of `schema`) is read for `profile` under `overrides`: the base path
/// swapped first, then the mount, then `{profile}` replaced; a folder stays a folder. A leased
/// path (`lease = ".."`) only gets its `{profile}`.
///
/// ```
/// use vault_config_core::location::{self, Overrides};
/// use vault_config_core::schema::VaultLocation;
/// # use vault_config_core::{Schema, VaultConfig};
/// # fn demo(schema: &Schema) {
/// let loc = VaultLocation::new("secret", "myapp/{profile}/db", "url");
/// let moved = Overrides::new(Some("kv-prod".into()), None);
/// let path = location::path(schema, &loc, "staging", &moved);
/// assert_eq!(path.to_string(), "kv-prod/myapp/staging/db");
/// # }
/// ```
pub fn path(
    schema: &Schema,
    loc: &VaultLocation,
    profile: &str,
    overrides: &Overrides,
) -> VaultPath {
    if loc.kind == PathKind::Lease {
        // An engine path of its own (`database/creds/app`): not under the KV mount or base
        // path that the overrides move.
        return loc.resolve(profile);
    }
    let mut loc = Cow::Borrowed(loc);
    if let Some(base) = &overrides.base_path {
        let root = schema.vault_path.as_str();
        let rest = if root.is_empty() {
            Some(loc.path.as_str())
        } else if loc.path == root {
            Some("")
        } else {
            loc.path
                .strip_prefix(root)
                .and_then(|r| r.strip_prefix('/'))
        };
        if let Some(rest) = rest {
            loc.to_mut().path = crate::schema::join_path(base, rest);
        }
    }
    if let Some(mount) = &overrides.mount {
        loc.to_mut().mount = mount.clone();
    }
    loc.resolve(profile)
}
