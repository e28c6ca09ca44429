//! A field's Vault location as a load reads it: the one function every consumer calls (load,
//! explain, check, live settings, `policy`, `migrate`), so that the environment's overrides
//! and the profile apply everywhere alike.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::env::EnvSnapshot;
use crate::error::{Problem, ProblemKind};
use crate::schema::{Schema, VaultLocation};
use crate::source::{IssueTerms, PathKind, VaultPath};

/// What the environment changes in every field's location: `VAULT_MOUNT_POINT` replaces the
/// mount, `VAULT_BASE_PATH` the struct's `vault(path)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Overrides {
    /// The mount that replaces every field's mount.
    pub mount: Option<String>,
    /// The path that replaces the struct's `vault(path)` (the part of each path it gives).
    pub base_path: Option<String>,
    /// The terms of issue paths as the environment sets them, by the field's env name.
    pub issue: BTreeMap<String, IssueTerms>,
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
            issue: BTreeMap::new(),
        }
    }

    /// These overrides with the terms of each issue field of `schema` as `env` sets them
    /// (over the attribute's), and a problem for each env value that is not a duration where
    /// one is needed or is not UTF-8.
    pub(crate) fn with_issue_env(
        mut self,
        schema: &Schema,
        env: &EnvSnapshot,
        problems: &mut Vec<Problem>,
    ) -> Self {
        for field in &schema.fields {
            let Some(written) = field.vault.as_ref().and_then(|v| v.issue.as_ref()) else {
                continue;
            };
            let mut terms = written.clone();
            let mut changed = false;
            for (suffix, name) in IssueTerms::ENV_SUFFIXES.iter().zip(&field.issue_env) {
                let text = match env.get(name) {
                    None => continue,
                    Some(Ok(text)) => text.trim(),
                    Some(Err(_)) => {
                        problems.push(issue_problem(field, name, "is set but not valid UTF-8"));
                        continue;
                    }
                };
                let list = || {
                    text.split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                match *suffix {
                    "_COMMON_NAME" => terms.common_name = text.to_owned(),
                    "_ALT_NAMES" => terms.alt_names = list(),
                    "_IP_SANS" => terms.ip_sans = list(),
                    "_TTL" => terms.ttl = (!text.is_empty()).then(|| text.to_owned()),
                    _ => match crate::duration::parse(text) {
                        Some(d) => terms.renew_before = Some(d),
                        None => {
                            problems.push(issue_problem(
                                field,
                                name,
                                "must be a duration such as `1h` or `30m`",
                            ));
                            continue;
                        }
                    },
                }
                changed = true;
            }
            if changed {
                self.issue.insert(field.env.clone(), terms);
            }
        }
        self
    }
}

/// A problem with the env var `name` that overrides a term of `field`'s issue path.
fn issue_problem(field: &crate::FieldSchema, name: &str, why: &str) -> Problem {
    let mut problem = Problem::new(ProblemKind::Invalid, format!("`{name}` {why}"));
    problem.field = Some(field.path.clone());
    problem.env = Some(name.to_owned());
    problem
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
    if loc.kind == PathKind::Issue {
        // The same, with the terms the environment sets (found by the field's env name).
        let field = schema.fields.iter().find(|f| f.vault.as_ref() == Some(loc));
        let set = field.and_then(|f| overrides.issue.get(&f.env));
        let mut path = loc.resolve(profile);
        if let Some(terms) = set {
            path.issue = Some(Box::new(terms.for_profile(profile)));
        }
        return path;
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
