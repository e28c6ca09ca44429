//! Vault Agent injected files (`VAULT_SECRETS_PATH`, e.g. `/vault/secrets`): each file is
//! either `export KEY="value"` / `KEY=value` lines, or one value named by the file. Keys are
//! env var names; this layer sits under the process env and above the Vault API.
//!
//! A file named like an env var (`DB_PASSWORD`, upper case) holds one value unless a line
//! starts with `export`, so a value such as `c2VjcmV0=` is never mistaken for a `KEY=value`
//! line; any other file (`database`) whose lines all look like `KEY=value` is an env file.
//! A file of one value answers for its name in upper case (`app_db_password` is
//! `APP_DB_PASSWORD`): env names are upper case, mounted file names often are not.

use std::path::{Path, PathBuf};

use vault_config_core::__private::read;
use zeroize::Zeroizing;

use crate::Error;

/// One injected value: env name, value (zeroized when dropped), and the file it came from.
pub type FileValue = (String, Zeroizing<String>, String);

/// The largest injected file read (1 MiB).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads every regular file of `dir` into `(env name, value, file)` triples, sorted by file
/// name. Symlinks are followed only when they stay inside `dir` (Agent and Kubernetes use
/// them); files over [`MAX_FILE_BYTES`], non-UTF-8 files and bad lines are errors.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("vc-agent-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("database"), "export DATABASE_URL=\"postgres://db\"\nexport DB_PORT=5432\n").unwrap();
/// std::fs::write(dir.join("ALPACA_API_KEY"), "key-123\n").unwrap();
/// let values = vault_config_vault::agent::read_dir(&dir).unwrap();
/// let names: Vec<_> = values.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect();
/// assert_eq!(names, [("ALPACA_API_KEY", "key-123"), ("DATABASE_URL", "postgres://db"), ("DB_PORT", "5432")]);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_dir(dir: &Path) -> Result<Vec<FileValue>, Vec<Error>> {
    let fail = |message: String| vec![Error::config(Some("VAULT_SECRETS_PATH"), message)];
    let root = dir
        .canonicalize()
        .map_err(|e| fail(format!("cannot open {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .map_err(|e| fail(format!("cannot list {}: {e}", root.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        match read_file(&root, &path) {
            Ok(Some(mut found)) => values.append(&mut found),
            Ok(None) => {}
            Err(message) => errors.extend(fail(message)),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

/// One file's values; `None` for directories and hidden files (Kubernetes' `..data`).
fn read_file(root: &Path, path: &Path) -> Result<Option<Vec<FileValue>>, String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if name.starts_with('.') {
        return Ok(None);
    }
    // Links followed only while they stay inside the directory (Agent and Kubernetes use
    // them); regular files only, directories skipped.
    let bytes = match read::read_in_dir(root, path, MAX_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(read::ReadError::NotRegular) if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) => {
            return Ok(None);
        }
        Err(read::ReadError::OutsideDir) => {
            return Err(format!(
                "{} links outside {}; refusing to read it",
                path.display(),
                root.display()
            ));
        }
        Err(e) => return Err(format!("{} {e}", path.display())),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(format!("{} is not UTF-8", path.display()));
    };
    let origin = path.display().to_string();
    let pairs =
        parse(&name, text).map_err(|line| format!("{origin}: line {line} is not `KEY=value`"))?;
    Ok(Some(
        pairs
            .into_iter()
            .map(|(k, v)| (k, v, origin.clone()))
            .collect(),
    ))
}

/// How one injected file is read, given its name and text: `(env name, value)` pairs, or the
/// number of the first line that is not `[export ]KEY=value` (never the line itself, which
/// may hold a secret). The rule of [`read_dir`]: a file named like an env var holds one value
/// unless a line starts with `export`; any other file whose lines all look like `KEY=value`
/// is an env file.
///
/// ```
/// use vault_config_vault::agent::parse;
/// let pairs = |text| parse("db", text).map(|p| p.into_iter().map(|(k, v)| (k, v.to_string())).collect::<Vec<_>>());
/// assert_eq!(pairs("export URL=\"pg://x\"\n").unwrap(), [("URL".to_owned(), "pg://x".to_owned())]);
/// assert_eq!(*parse("TOKEN", "c2VjcmV0=\n").unwrap()[0].1, "c2VjcmV0=");
/// assert_eq!(parse("app_db_password", "hunter2\n").unwrap()[0].0, "APP_DB_PASSWORD");
/// assert_eq!(pairs("A=1\nB=\"open\n"), Err(2));
/// ```
pub fn parse(name: &str, text: &str) -> Result<Vec<(String, Zeroizing<String>)>, usize> {
    let named_like_env = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let exported = text.lines().any(|l| l.trim_start().starts_with("export "));
    if is_env_file(text) && (exported || !named_like_env) {
        return parse_env_file(text);
    }
    let value = text
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(text);
    Ok(vec![(
        name.to_ascii_uppercase(),
        Zeroizing::new(value.to_owned()),
    )])
}

fn env_line(line: &str) -> Option<(&str, &str)> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    let (key, value) = line.split_once('=')?;
    let valid = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some((key, value))
}

/// A file is an env file when every non-blank, non-comment line is `[export ]KEY=value` and
/// there is at least one.
fn is_env_file(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .peekable();
    lines.peek().is_some() && lines.all(|l| env_line(l).is_some())
}

fn parse_env_file(text: &str) -> Result<Vec<(String, Zeroizing<String>)>, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, raw) = env_line(trimmed).ok_or(i + 1)?;
        out.push((key.to_owned(), unquote(raw.trim()).ok_or(i + 1)?));
    }
    Ok(out)
}

/// `"..."` with `\"`, `\\`, `\n`, `\$` escapes; `'...'` literally; bare values as they are.
/// The output never outgrows its first allocation, so no copy is freed unzeroized.
fn unquote(raw: &str) -> Option<Zeroizing<String>> {
    if let Some(inner) = raw.strip_prefix('\'') {
        return inner
            .strip_suffix('\'')
            .map(|v| Zeroizing::new(v.to_owned()));
    }
    let Some(inner) = raw.strip_prefix('"') else {
        return Some(Zeroizing::new(raw.to_owned()));
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = Zeroizing::new(String::with_capacity(inner.len()));
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_and_quotes() {
        let text = "# rendered by agent\nexport A=\"x \\\"y\\\" \\$z\"\nB='lit $x'\nC=plain\n\n";
        assert!(is_env_file(text));
        let pairs: Vec<(String, String)> = parse_env_file(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("A".into(), "x \"y\" $z".into()),
                ("B".into(), "lit $x".into()),
                ("C".into(), "plain".into())
            ]
        );
    }

    #[test]
    fn a_single_value_is_not_an_env_file() {
        assert!(!is_env_file("postgres://u:p@h/db?x=1\n"));
        assert!(!is_env_file(
            "-----BEGIN KEY-----\nabc=\n-----END KEY-----\n"
        ));
        assert!(!is_env_file("\n# only a comment\n"));
    }

    #[test]
    fn a_value_with_equals_in_an_env_named_file_stays_one_value() {
        let dir = std::env::temp_dir().join(format!("vc-agent-eq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("TOKEN"), "c2VjcmV0=\n").unwrap();
        std::fs::write(dir.join("creds"), "USER=u\nPASS=p=q\n").unwrap();
        let values = read_dir(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let pairs: Vec<_> = values
            .iter()
            .map(|(k, v, _)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("TOKEN", "c2VjcmV0="), ("USER", "u"), ("PASS", "p=q")]
        );
    }

    #[test]
    fn bad_quotes_are_reported_by_line() {
        assert_eq!(parse_env_file("A=1\nB=\"open\n").err(), Some(2));
    }
}
