//! `migrate`: copy the values found in the environment into their Vault paths, grouped per
//! path — KV v1 or v2 as detected, existing keys kept unless overwriting is asked for, KV v2
//! written with check-and-set. Plans and reports name paths and keys, never values.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Map, Value, json};
use vault_config_core::{EnvSnapshot, Schema, VaultPath};
use zeroize::Zeroizing;

use crate::client::Inner;
use crate::config::KvVersion;
use crate::http::transport::Call;
use crate::{Error, VaultClient};

/// How to migrate.
#[derive(Clone, Copy, Debug, Default)]
#[non_exhaustive]
pub struct MigrateOptions {
    /// Print the plan and write nothing.
    pub dry_run: bool,
    /// Replace keys that already exist in Vault.
    pub overwrite: bool,
}

impl MigrateOptions {
    /// Writes, keeping existing keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plans only.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Replaces existing keys.
    pub fn overwrite(mut self, yes: bool) -> Self {
        self.overwrite = yes;
        self
    }
}

/// What happened (or would happen) to one Vault path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PathMigration {
    /// `mount/path` as the user writes it.
    pub path: String,
    /// The mount's KV version.
    pub kv_version: Option<KvVersion>,
    /// What was done.
    pub action: MigrationAction,
    /// Keys added.
    pub added: Vec<String>,
    /// Keys replaced (only with overwrite).
    pub replaced: Vec<String>,
    /// Keys that exist and were left alone.
    pub kept: Vec<String>,
    /// Why the path was refused or failed.
    pub detail: Option<String>,
}

/// What `migrate` did (or, in a dry run, would do) to one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MigrationAction {
    /// The new keys were written.
    Write,
    /// A dry run: the new keys would be written.
    WouldWrite,
    /// Nothing to write: every key is there.
    Unchanged,
    /// Not written: the path is not safe to write (e.g. it holds other keys with overwrite off).
    Refused,
    /// The write or the read before it failed.
    Failed,
}

impl MigrationAction {
    /// As printed: `write`, `would write`, `unchanged`, `refused`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationAction::Write => "write",
            MigrationAction::WouldWrite => "would write",
            MigrationAction::Unchanged => "unchanged",
            MigrationAction::Refused => "refused",
            MigrationAction::Failed => "failed",
        }
    }

    /// Whether the path was left undone.
    pub fn is_failure(self) -> bool {
        matches!(self, MigrationAction::Refused | MigrationAction::Failed)
    }
}

impl fmt::Display for MigrationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The outcome of `migrate`, per path.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct MigrationReport {
    /// Whether anything was left undone.
    pub ok: bool,
    /// Whether nothing was written on purpose.
    pub dry_run: bool,
    /// Each path.
    pub paths: Vec<PathMigration>,
}

impl fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.paths.is_empty() {
            return writeln!(
                f,
                "nothing to migrate: no env var of a Vault-backed field is set"
            );
        }
        for p in &self.paths {
            write!(f, "{:<11} {}", p.action, p.path)?;
            if let Some(v) = p.kv_version {
                write!(f, " (KV {})", if v == KvVersion::V2 { "v2" } else { "v1" })?;
            }
            writeln!(f)?;
            for (label, keys) in [
                ("add", &p.added),
                ("replace", &p.replaced),
                ("keep", &p.kept),
            ] {
                if !keys.is_empty() {
                    writeln!(f, "            {label}: {}", keys.join(", "))?;
                }
            }
            if let Some(detail) = &p.detail {
                writeln!(f, "            {detail}")?;
            }
        }
        Ok(())
    }
}

/// New values for one path, zeroized when dropped.
type Values = BTreeMap<String, Zeroizing<String>>;

impl VaultClient {
    /// Copies the env values of every Vault-backed field of `schema` into its Vault path.
    pub async fn migrate(
        &self,
        schema: &Schema,
        env: &EnvSnapshot,
        profile: &str,
        options: MigrateOptions,
    ) -> MigrationReport {
        let mut groups: BTreeMap<VaultPath, Values> = BTreeMap::new();
        // Where a load under the same env reads: mount and base path overrides included.
        let overrides = crate::overrides_from_env(env);
        for field in &schema.fields {
            let (Some(loc), Some(Ok(value))) = (&field.vault, env.get(&field.env)) else {
                continue;
            };
            // Only KV secrets are written; folders and leased credentials are made elsewhere.
            if loc.kind != vault_config_core::PathKind::Secret {
                continue;
            }
            if value.is_empty() && !field.allow_empty {
                continue;
            }
            groups
                .entry(vault_config_core::location::path(
                    schema, loc, profile, &overrides,
                ))
                .or_default()
                .insert(loc.key.clone(), Zeroizing::new(value.to_owned()));
        }
        let token = match self.inner.token().await {
            Ok(token) => token,
            Err(err) => {
                let paths = groups
                    .keys()
                    .map(|p| failed(p, None, err.to_string()))
                    .collect();
                return MigrationReport {
                    ok: false,
                    dry_run: options.dry_run,
                    paths,
                };
            }
        };
        let mut paths = Vec::new();
        for (path, values) in &groups {
            paths.push(self.inner.migrate_path(path, values, &token, options).await);
        }
        MigrationReport {
            ok: paths.iter().all(|p| !p.action.is_failure()),
            dry_run: options.dry_run,
            paths,
        }
    }

    /// The KV version of `mount` (the override, or detection as for reads).
    pub async fn kv_version_of(&self, mount: &str) -> Result<KvVersion, Error> {
        let token = self.inner.token().await?;
        self.inner.kv_version(mount, &token).await
    }
}

fn failed(path: &VaultPath, kv_version: Option<KvVersion>, detail: String) -> PathMigration {
    PathMigration {
        path: path.to_string(),
        kv_version,
        action: MigrationAction::Failed,
        added: Vec::new(),
        replaced: Vec::new(),
        kept: Vec::new(),
        detail: Some(detail),
    }
}

impl Inner {
    /// One path: read what is there, compare key by key, and write when the comparison and
    /// the options allow it.
    async fn migrate_path(
        &self,
        path: &VaultPath,
        values: &Values,
        token: &SecretString,
        options: MigrateOptions,
    ) -> PathMigration {
        let version = match self.kv_version(&path.mount, token).await {
            Ok(v) => v,
            Err(err) => return failed(path, None, err.to_string()),
        };
        let (mut data, current) = match self.existing(path, version, token).await {
            Ok(existing) => existing,
            Err(err) => return failed(path, Some(version), err.to_string()),
        };
        let mut report = compare(path, version, values, &data, options);
        let unchanged = report.added.is_empty() && report.replaced.is_empty();
        if !report.kept.is_empty() {
            report.action = MigrationAction::Refused;
            report.detail = Some("keys already in Vault differ from env; nothing written (use --overwrite to replace them)".into());
        } else if !unchanged && options.dry_run {
            report.action = MigrationAction::WouldWrite;
        } else if !unchanged {
            for key in report.added.iter().chain(&report.replaced) {
                if let Some(value) = values.get(key) {
                    data.insert(key.clone(), Value::String(value.to_string()));
                }
            }
            return self
                .write(path, version, current, data, token, report)
                .await;
        }
        scrub(&mut data);
        report
    }

    /// The secret at `path` (empty when there is none, or its latest version is deleted) and
    /// its KV v2 version (0 for none, or KV v1).
    async fn existing(
        &self,
        path: &VaultPath,
        version: KvVersion,
        token: &SecretString,
    ) -> Result<(Map<String, Value>, u64), Error> {
        match self.read(path, version, token).await {
            Ok(existing) => {
                let map = existing
                    .keys()
                    .filter_map(|k| existing.get(k).map(|v| (k.to_owned(), v.clone())))
                    .collect();
                Ok((map, existing.version().unwrap_or(0)))
            }
            Err(Error::NotFound { hint: None, .. } | Error::Deleted { .. }) => Ok((Map::new(), 0)),
            Err(err) => Err(err),
        }
    }

    /// Writes `data`: KV v1 replaces the whole secret, so existing keys go back with the new
    /// ones; KV v2 writes a new version only if nobody wrote since the read (check-and-set).
    async fn write(
        &self,
        path: &VaultPath,
        version: KvVersion,
        current: u64,
        mut data: Map<String, Value>,
        token: &SecretString,
        mut report: PathMigration,
    ) -> PathMigration {
        let (api_path, body) = match version {
            KvVersion::V1 => (path.to_string(), Value::Object(std::mem::take(&mut data))),
            KvVersion::V2 => (
                format!("{}/data/{}", path.mount, path.path),
                json!({ "options": { "cas": current }, "data": Value::Object(std::mem::take(&mut data)) }),
            ),
        };
        let mut call = Call::post(&api_path, Some(token), body);
        call.retry = false;
        match self.send(&call).await {
            Ok(reply) if reply.is_success() => {
                report.action = MigrationAction::Write;
                report
            }
            Ok(reply) => {
                let mut f = failed(
                    path,
                    Some(version),
                    reply.status_error(&api_path).to_string(),
                );
                f.added = report.added;
                f.replaced = report.replaced;
                f
            }
            Err(err) => failed(path, Some(version), err.to_string()),
        }
    }
}

/// Each key of `values` against what Vault holds: added, replaced (with `overwrite`), kept
/// (differs, not replaced) or unchanged.
fn compare(
    path: &VaultPath,
    version: KvVersion,
    values: &Values,
    data: &Map<String, Value>,
    options: MigrateOptions,
) -> PathMigration {
    let mut report = PathMigration {
        path: path.to_string(),
        kv_version: Some(version),
        action: MigrationAction::Unchanged,
        added: Vec::new(),
        replaced: Vec::new(),
        kept: Vec::new(),
        detail: None,
    };
    for (key, value) in values {
        match data.get(key) {
            None => report.added.push(key.clone()),
            Some(Value::String(old)) if old == value.as_str() => {}
            Some(_) if options.overwrite => report.replaced.push(key.clone()),
            Some(_) => report.kept.push(key.clone()),
        }
    }
    report
}

/// Zeroizes the values read from Vault that are not written back.
fn scrub(data: &mut Map<String, Value>) {
    for v in data.values_mut() {
        vault_config_core::zeroize_json(v);
    }
}
