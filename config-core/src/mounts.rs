//! The secrets-dir layer: directories of mounted secret files, one value per file, as
//! Kubernetes and Docker mount them (`/run/secrets/db_password`).
//!
//! - A field's file is named by its env var or by its dotted path with `__` for the dots
//!   (`APP_DB_PASSWORD`, `db_password`, `redis__url`), in any case.
//! - Entries whose name starts with a dot are not values: Kubernetes keeps its `..data` link
//!   and timestamped directories there, and the files are symlinks through `..data`.
//! - Each file is read by the library's one bounded reader of directory entries
//!   ([`crate::read::read_in_dir`]: a symlink is followed only when it ends inside the
//!   directory, so that a swap of `..data` is seen and a link to `/etc/shadow` is refused; a
//!   FIFO or a device is refused before it is opened; at most [`MAX_SECRET_FILE_BYTES`]);
//!   a trailing newline is trimmed;
//!   the text is zeroized. A file that cannot be read is a problem of its field, naming the
//!   file and never its content.

use std::collections::BTreeMap;
use std::path::Path;

use zeroize::Zeroizing;

use crate::EnvSnapshot;
use crate::error::{Problem, ProblemKind};
use crate::files::{FileCheck, FileStatus};
use crate::schema::Schema;

/// The largest mounted secret file read (a certificate chain fits; a disk image does not).
pub(crate) const MAX_SECRET_FILE_BYTES: u64 = 1024 * 1024;

/// The most entries a secrets dir may hold before it is refused as not a secret mount.
const MAX_ENTRIES: usize = 10_000;

/// What the secrets dirs hold for one field.
#[derive(Default)]
pub(crate) enum Mounted {
    #[default]
    NotSet,
    /// The value, and the file it came from.
    Found(Zeroizing<String>, String),
    /// The file is there but was refused: why, naming the file.
    Unreadable(String),
}

/// The secrets-dir layer of one load.
#[derive(Default)]
pub(crate) struct Mounts {
    /// The directories read, as written.
    pub dirs: Vec<String>,
    /// Per field of the schema, in order.
    pub answers: Vec<Mounted>,
    /// What reading each directory found, for explain (`secrets-dir /run/secrets`).
    pub checks: Vec<FileCheck>,
    pub problems: Vec<Problem>,
}

/// The directories a load reads: `{prefix}SECRETS_DIR` (each required) when set, else the
/// struct's `secrets_dir` (each skipped when missing).
pub(crate) fn dirs(schema: &Schema, env: &EnvSnapshot) -> (Vec<String>, bool) {
    match env.get(&schema.secrets_dir_env) {
        Some(Ok(list)) if !list.trim().is_empty() => (
            std::env::split_paths(list)
                .filter(|p| !p.as_os_str().is_empty())
                .map(|p| p.display().to_string())
                .collect(),
            true,
        ),
        _ => (schema.secrets_dirs.clone(), false),
    }
}

/// Reads every secrets dir for `schema`'s fields; later directories win.
pub(crate) fn read(schema: &Schema, env: &EnvSnapshot) -> Mounts {
    let (dirs, required) = dirs(schema, env);
    let mut mounts = Mounts {
        answers: schema.fields.iter().map(|_| Mounted::NotSet).collect(),
        ..Mounts::default()
    };
    if let Some(Err(_)) = env.get(&schema.secrets_dir_env) {
        let mut problem = Problem::new(ProblemKind::Invalid, "env var is set but not valid UTF-8");
        problem.env = Some(schema.secrets_dir_env.clone());
        mounts.problems.push(problem);
    }
    let names = file_names(schema);
    for dir in &dirs {
        let status = match read_dir(dir, &names, &mut mounts) {
            Ok(true) => FileStatus::Read,
            Ok(false) if !required => FileStatus::Missing,
            Ok(false) => {
                mounts.problems.push(dir_problem(
                    schema,
                    dir,
                    "does not exist; it was named by the env var",
                ));
                FileStatus::Missing
            }
            Err(why) => {
                mounts.problems.push(dir_problem(schema, dir, &why));
                FileStatus::Failed
            }
        };
        mounts.checks.push(FileCheck {
            file: format!("secrets-dir {dir}"),
            status,
        });
    }
    mounts.dirs = dirs;
    mounts
}

/// The file names that answer for each field, lower case: its env var, its dotted path with
/// `__` for the dots.
fn file_names(schema: &Schema) -> BTreeMap<String, usize> {
    let mut names = BTreeMap::new();
    for (i, field) in schema.fields.iter().enumerate() {
        names.insert(field.env.to_ascii_lowercase(), i);
        names
            .entry(field.path.replace('.', "__").to_ascii_lowercase())
            .or_insert(i);
    }
    names
}

/// Reads one directory into `mounts`; `Ok(false)` when it does not exist.
fn read_dir(
    dir: &str,
    names: &BTreeMap<String, usize>,
    mounts: &mut Mounts,
) -> Result<bool, String> {
    let real = match std::fs::canonicalize(dir) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot be read: {e}")),
    };
    if !real.is_dir() {
        return Err("is not a directory".to_owned());
    }
    let mut found: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let entries = std::fs::read_dir(&real).map_err(|e| format!("cannot be listed: {e}"))?;
    for (n, entry) in entries.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(format!(
                "holds more than {MAX_ENTRIES} entries; it is not a secret mount"
            ));
        }
        let Ok(entry) = entry else { continue };
        // A name that is not UTF-8 cannot name a field.
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        if let Some(&field) = names.get(&name.to_ascii_lowercase()) {
            found.entry(field).or_default().push(name);
        }
    }
    for (field, mut files) in found {
        files.sort();
        let shown = |name: &str| Path::new(dir).join(name).display().to_string();
        mounts.answers[field] = match files.as_slice() {
            [name] => read_one(&real, &real.join(name), &shown(name)),
            _ => Mounted::Unreadable(format!(
                "secrets-dir {dir} holds {} files for this field ({}): keep one",
                files.len(),
                files.join(", ")
            )),
        };
    }
    Ok(true)
}

/// One mounted file, through the library's reader of directory entries (links followed
/// only inside `dir`, resolved).
fn read_one(dir: &Path, path: &Path, shown: &str) -> Mounted {
    match crate::read::read_in_dir(dir, path, MAX_SECRET_FILE_BYTES) {
        Ok(None) => Mounted::NotSet,
        Err(e) => Mounted::Unreadable(format!("secrets-dir {shown} {e}")),
        Ok(Some(bytes)) => match std::str::from_utf8(&bytes) {
            Ok(text) => Mounted::Found(
                Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_owned()),
                shown.to_owned(),
            ),
            Err(_) => Mounted::Unreadable(format!("secrets-dir {shown} is not UTF-8")),
        },
    }
}

fn dir_problem(schema: &Schema, dir: &str, why: &str) -> Problem {
    let mut problem = Problem::new(ProblemKind::File, format!("secrets-dir {dir} {why}"));
    problem.env = Some(schema.secrets_dir_env.clone());
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_newline_is_trimmed_and_other_whitespace_kept() {
        let dir = std::env::temp_dir().join(format!("vc-mounts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("x");
        std::fs::write(&file, " pass word \r\n").unwrap();
        let real = std::fs::canonicalize(&dir).unwrap();
        match read_one(&real, &real.join("x"), "x") {
            Mounted::Found(v, _) => assert_eq!(v.as_str(), " pass word "),
            _ => panic!("not read"),
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
