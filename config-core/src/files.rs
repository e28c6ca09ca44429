//! The config-file and `.env` layers: which files a load reads, how they are read (parsed by
//! [`crate::formats`], the one place that knows the parsers; `.env` through
//! [`crate::dotenv`], never touching the process environment), and what they answer for a
//! field (`db.pool_size` is `[db] pool_size`).

use std::path::Path;

use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::EnvSnapshot;
use crate::error::{Problem, ProblemKind};
use crate::formats::Table;
use crate::schema::{FileSpec, Schema};

/// The largest config or `.env` file read: bigger ones are refused, not read.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One source of the file layer, in order (a later one wins).
#[derive(Clone, Debug)]
pub(crate) enum FileSource {
    /// A file path as written (with `{profile}`), and whether it must exist.
    Path(FileSpec),
    /// A figment chain given in code (`Loader::figment`): its own profile selection applies.
    Chain(crate::formats::Chain),
}

/// What reading one file found (`explain`, `check`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileCheck {
    /// The file as read (`{profile}` replaced), `.env` files included.
    pub file: String,
    /// What reading it found.
    pub status: FileStatus,
}

/// What reading one file found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileStatus {
    /// Read and parsed.
    Read,
    /// Not there: skipped (a problem when the file is required).
    Missing,
    /// There, but it could not be read or parsed: a problem of the load.
    Failed,
}

impl FileStatus {
    /// The status as `explain` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Read => "read",
            FileStatus::Missing => "missing, skipped",
            FileStatus::Failed => "failed",
        }
    }
}

/// The file layer of one load: every source read, in order.
#[derive(Default)]
pub(crate) struct Files {
    sources: Vec<ReadFile>,
    /// What `explain` and `check` show of each file (the `.env` file too).
    pub checks: Vec<FileCheck>,
    pub problems: Vec<Problem>,
}

struct ReadFile {
    /// The file as shown, or the figment chain's name.
    label: String,
    values: Table,
    /// A chain given in code: keys it has that match no field are its business (Rocket's).
    chain: Option<crate::formats::Chain>,
}

impl Files {
    /// Whether the load has a file layer at all.
    pub fn configured(&self) -> bool {
        !self.checks.is_empty() || !self.sources.is_empty()
    }

    /// The winning file's answer for a field's dotted path: the file (or the figment
    /// provider) that holds it, and the value as JSON.
    pub fn find(&self, key: &str) -> Option<(String, serde_json::Value)> {
        self.sources.iter().rev().find_map(|source| {
            let value = lookup(&source.values, key)?;
            let label = source
                .chain
                .as_ref()
                .and_then(|chain| chain.source_of(key))
                .unwrap_or_else(|| source.label.clone());
            Some((label, value.clone()))
        })
    }

    /// Every file's value at `key`, first to last.
    pub fn values<'s>(
        &'s self,
        key: &'s str,
    ) -> impl Iterator<Item = (&'s str, &'s serde_json::Value)> {
        self.sources
            .iter()
            .filter_map(move |s| Some((s.label.as_str(), lookup(&s.values, key)?)))
    }
}

/// Reads every source for `profile`; missing optional files are skipped, everything else
/// that goes wrong is a problem naming the file.
pub(crate) fn read(schema: &Schema, sources: &[FileSource], profile: &str) -> Files {
    let mut files = Files::default();
    for source in sources {
        match source {
            FileSource::Path(spec) => {
                let shown = crate::profile::substitute(&spec.path, profile);
                // `config/{profile}.toml` under the `default` profile may be the file already
                // listed as `config/default.toml`: read once.
                if files.checks.iter().any(|c| c.file == shown) {
                    continue;
                }
                match read_path(&shown) {
                    Ok(Some(values)) => {
                        files.problems.extend(unknown_keys(schema, &shown, &values));
                        files.checks.push(check(&shown, FileStatus::Read));
                        files.sources.push(ReadFile {
                            label: shown,
                            values,
                            chain: None,
                        });
                    }
                    Ok(None) => {
                        if spec.required {
                            files.problems.push(file_problem(
                                &shown,
                                "the required config file does not exist",
                            ));
                        }
                        files.checks.push(check(&shown, FileStatus::Missing));
                    }
                    Err(why) => {
                        files.problems.push(file_problem(&shown, &why));
                        files.checks.push(check(&shown, FileStatus::Failed));
                    }
                }
            }
            FileSource::Chain(chain) => {
                let label = chain.name();
                match chain.extract() {
                    Ok(values) => {
                        files.checks.push(check(&label, FileStatus::Read));
                        files.sources.push(ReadFile {
                            label,
                            values,
                            chain: Some(chain.clone()),
                        });
                    }
                    Err(why) => {
                        files.problems.push(file_problem(&label, &why));
                        files.checks.push(check(&label, FileStatus::Failed));
                    }
                }
            }
        }
    }
    files
}

/// The variables of a `.env` file, `None` when it does not exist; parsed only, never set,
/// `${VAR}` from `env` ([`crate::dotenv`]).
pub(crate) fn read_dotenv(
    path: &str,
    env: &EnvSnapshot,
) -> Result<Option<Vec<(String, String)>>, String> {
    let Some(text) = read_bounded(Path::new(path))? else {
        return Ok(None);
    };
    crate::dotenv::parse(&text, env)
        .map(Some)
        .map_err(|e| format!("cannot be parsed at line {} (value not shown)", e.line))
}

/// A file's top-level table; `None` when it does not exist.
fn read_path(path: &str) -> Result<Option<Table>, String> {
    let format = crate::formats::Format::of(Path::new(path))
        .ok_or("unknown format: name it .toml, .yaml, .yml or .json")?;
    let Some(text) = read_bounded(Path::new(path))? else {
        return Ok(None);
    };
    format.parse(&text).map(Some)
}

/// The file's text; `None` when it does not exist. Only regular files (a FIFO is refused
/// before it is opened), at most [`MAX_FILE_BYTES`], are read; the text is wiped when dropped.
fn read_bounded(path: &Path) -> Result<Option<Zeroizing<String>>, String> {
    let Some(bytes) = crate::read::read_regular(path, MAX_FILE_BYTES).map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Some(Zeroizing::new(text.to_owned()))),
        Err(_) => Err("is not UTF-8".into()),
    }
}

fn check(file: &str, status: FileStatus) -> FileCheck {
    FileCheck {
        file: file.to_owned(),
        status,
    }
}

fn file_problem(file: &str, why: &str) -> Problem {
    Problem::new(ProblemKind::File, format!("{file} {why}"))
}

/// The value at a dotted path: `db.pool_size` is the `pool_size` key of the `db` table.
fn lookup<'d>(table: &'d Table, key: &str) -> Option<&'d Value> {
    let mut parts = key.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = match value {
            Value::Object(inner) => inner.get(part)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Keys of a file that match no field, each with a "did you mean" when one is close.
fn unknown_keys(schema: &Schema, file: &str, values: &Table) -> Vec<Problem> {
    if schema.allow_unknown {
        return Vec::new();
    }
    let leaves: Vec<&str> = schema.fields.iter().map(|f| f.path.as_str()).collect();
    let mut unknown = Vec::new();
    walk(values, "", &leaves, &mut unknown);
    unknown
        .into_iter()
        .map(|key| {
            let hint = unknown_key_hint(schema, &key, &leaves);
            let mut problem = Problem::new(
                ProblemKind::UnknownKey,
                format!(
                    "`{key}` in {file} matches no field of `{}`{hint}",
                    schema.type_name
                ),
            );
            problem.file = Some(key);
            problem
        })
        .collect()
}

/// The "did you mean" of an unknown file key: a field of a similar path, else the field whose
/// name is (or is close to) the key's last part (`db.api_key` written under the wrong table:
/// `api_key`); and
/// when that field is a secret, that a config file may not hold it.
fn unknown_key_hint(schema: &Schema, key: &str, leaves: &[&str]) -> String {
    let last = key.rsplit('.').next().unwrap_or(key);
    fn leaf_name(leaf: &str) -> &str {
        leaf.rsplit('.').next().unwrap_or(leaf)
    }
    let similar = crate::nearest_name(key, leaves.iter().copied()).or_else(|| {
        let name = crate::nearest_name(last, leaves.iter().map(|l| leaf_name(l)))?;
        leaves.iter().copied().find(|leaf| leaf_name(leaf) == name)
    });
    let Some(field) = similar else {
        return String::new();
    };
    let secret = schema.fields.iter().any(|f| f.path == field && f.secret);
    if secret {
        format!(
            "; did you mean `{field}`? It is a secret, which a config file may not hold: set it in env, `.env` or Vault"
        )
    } else {
        format!("; did you mean `{field}`?")
    }
}

/// Collects the dotted paths under `prefix` that are neither a field nor a table of fields.
fn walk(dict: &Table, prefix: &str, leaves: &[&str], out: &mut Vec<String>) {
    for (key, value) in dict {
        let path = format!("{prefix}{key}");
        if leaves.contains(&path.as_str()) {
            continue;
        }
        let table = format!("{path}.");
        match value {
            Value::Object(inner) if leaves.iter().any(|l| l.starts_with(&table)) => {
                walk(inner, &table, leaves, out);
            }
            _ => out.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dotenv_error_names_the_line_not_its_text() {
        let dir = std::env::temp_dir().join(format!("vc-dotenv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".env");
        std::fs::write(&path, "APP_PORT=1\nAPP_TOKEN='unclosed-canary\n").unwrap();
        let err = read_dotenv(path.to_str().unwrap(), &EnvSnapshot::default()).unwrap_err();
        assert!(!err.contains("canary"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
