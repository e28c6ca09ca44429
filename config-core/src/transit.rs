//! Secrets carried by config files, env or `.env` as ciphertexts of Vault's transit engine
//! (`vault:v2:<base64>`), decrypted at load by `transit/decrypt/<key>`: which text is a
//! ciphertext, which key decrypts a field, and what the answers give each field. (Which
//! ciphertexts a load asks for, one `batch_input` request per key in the load's parallel
//! batch, is the plan's.)

use serde_json::Value;

use crate::env::EnvSnapshot;
use crate::error::{Problem, ProblemKind};
use crate::schema::{FieldSchema, Schema};
use crate::source::VaultPath;

/// The mount of a transit key written without one (`transit_key = "myapp"`).
pub const DEFAULT_MOUNT: &str = "transit";

/// The key version of a transit ciphertext (`vault:v2:<base64>`), `None` for any other text.
///
/// ```
/// use vault_config_core::transit::version;
/// assert_eq!(version("vault:v2:c2VjcmV0Cg=="), Some(2));
/// assert_eq!(version(" vault:v10:AAAA\n"), Some(10));
/// assert_eq!(version("vault:v:AAAA"), None);
/// assert_eq!(version("vault:v1:"), None);
/// assert_eq!(version("hunter2"), None);
/// ```
pub fn version(text: &str) -> Option<u64> {
    let rest = text.trim().strip_prefix("vault:v")?;
    let (digits, body) = rest.split_once(':')?;
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !body.is_empty()
        && body.bytes().all(base64);
    well_formed.then(|| digits.parse().ok()).flatten()
}

/// A transit key as written (`myapp`, or `kms/myapp` in another mount).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub struct TransitKey {
    /// The transit engine's mount, `transit` unless written.
    pub mount: String,
    /// The key's name.
    pub name: String,
}

impl TransitKey {
    /// `myapp` or `mount/myapp`; `None` when empty.
    ///
    /// ```
    /// use vault_config_core::transit::TransitKey;
    /// let key = TransitKey::parse("myapp").unwrap();
    /// assert_eq!((key.mount.as_str(), key.name.as_str()), ("transit", "myapp"));
    /// assert_eq!(TransitKey::parse("kms/orders/").unwrap().to_string(), "kms/orders");
    /// assert!(TransitKey::parse(" ").is_none());
    /// ```
    pub fn parse(written: &str) -> Option<TransitKey> {
        let written = written.trim().trim_matches('/');
        let (mount, name) = written.rsplit_once('/').unwrap_or((DEFAULT_MOUNT, written));
        (!name.is_empty() && !mount.is_empty()).then(|| TransitKey {
            mount: mount.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl std::fmt::Display for TransitKey {
    /// `myapp` in the default mount, `kms/myapp` in another.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.mount == DEFAULT_MOUNT {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.mount, self.name)
        }
    }
}

/// The key that decrypts each field (`None` for a field that is no secret or has no key): the
/// field's own `transit_key` (or its nested struct's), else `{prefix}TRANSIT_KEY`, else the
/// root struct's, with `{profile}` replaced.
pub(crate) fn keys(
    schema: &Schema,
    env: &EnvSnapshot,
    profile: &str,
    problems: &mut Vec<Problem>,
) -> Vec<Option<TransitKey>> {
    let from_env = match env.get(&schema.transit_key_env) {
        Some(Ok(text)) if !text.trim().is_empty() => Some(text.to_owned()),
        Some(Err(_)) => {
            let mut problem = Problem::new(
                ProblemKind::Invalid,
                format!("{} is set but not valid UTF-8", schema.transit_key_env),
            );
            problem.env = Some(schema.transit_key_env.clone());
            problems.push(problem);
            None
        }
        _ => None,
    };
    let struct_key = from_env.or_else(|| schema.transit_key.clone());
    schema
        .fields
        .iter()
        .map(|f| key_of(f, struct_key.as_ref(), profile))
        .collect()
}

/// The key of `field` where the struct's is `struct_key`: its own (or its nested struct's),
/// else the struct's; only a secret has one; `{profile}` replaced.
fn key_of(field: &FieldSchema, struct_key: Option<&String>, profile: &str) -> Option<TransitKey> {
    let written = field.transit_key.as_ref().or(struct_key)?;
    field
        .secret
        .then(|| TransitKey::parse(&crate::profile::substitute(written, profile)))
        .flatten()
}

/// Every transit key the struct names for `profile` (the fields' own and the struct's, for
/// the secrets it applies to), without the environment's override: what the policy covers.
pub(crate) fn written_keys(schema: &Schema, profile: &str) -> Vec<TransitKey> {
    schema
        .fields
        .iter()
        .filter_map(|f| key_of(f, schema.transit_key.as_ref(), profile))
        .collect()
}

/// Why the ciphertext that `label` holds for `field` is not decrypted: the field is no
/// secret, or no key is named for it (`key_env` would name one).
pub(crate) fn undecrypted(label: &str, field: &FieldSchema, key_env: &str) -> String {
    if field.secret {
        format!(
            "{label} holds a transit ciphertext, but no transit key is named for `{}`: write `transit_key = \"..\"` on the struct or the field, or set {key_env} (the ciphertext was not used, nor shown)",
            field.path
        )
    } else {
        format!(
            "{label} holds a transit ciphertext, but `{}` is no secret: only secrets are decrypted (mark it `secret`, or write the value itself; the ciphertext was not used, nor shown)",
            field.path
        )
    }
}

/// What decrypting one ciphertext gave.
pub(crate) enum Plaintext<'a> {
    /// The plaintext, borrowed from the decrypt answer.
    Text(&'a str),
    /// Why not, naming the key (never the ciphertext), and whether Vault said no.
    Failed(ProblemKind, String),
}

/// The decrypt answers of a load, by key.
pub(crate) struct Decrypted<'a> {
    answers: Vec<(VaultPath, Option<&'a crate::source::FetchResult>)>,
    with_source: bool,
}

impl<'a> Decrypted<'a> {
    /// The decrypt paths among `paths` and their answers (`results` answers `paths` in order).
    pub fn new(paths: &[VaultPath], results: Option<&'a [crate::source::FetchResult]>) -> Self {
        Decrypted {
            answers: paths
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == crate::source::PathKind::Decrypt)
                .map(|(i, p)| (p.clone(), results.and_then(|r| r.get(i))))
                .collect(),
            with_source: results.is_some(),
        }
    }

    /// The plaintext of `ciphertext` under `key`.
    pub fn plaintext(&self, key: &TransitKey, ciphertext: &str) -> Plaintext<'a> {
        let ciphertext = ciphertext.trim();
        let shown = format!("{}/decrypt/{}", key.mount, key.name);
        // The answer of the key's path that asked for this ciphertext, and its index there.
        let found = self.answers.iter().find_map(|(p, answer)| {
            let ours = p.mount == key.mount && p.transit_key() == Some(key.name.as_str());
            let index = p.ciphertexts.0.iter().position(|c| c == ciphertext);
            Some((answer, index.filter(|_| ours)?))
        });
        let Some((answer, index)) = found else {
            return Plaintext::Failed(ProblemKind::Unavailable, format!("{shown} was not asked"));
        };
        let data = match answer {
            None if !self.with_source => {
                return Plaintext::Failed(
                    ProblemKind::Unavailable,
                    "no Vault source is configured to decrypt it".to_owned(),
                );
            }
            None => {
                return Plaintext::Failed(
                    ProblemKind::Unavailable,
                    format!("{shown} gave no answer"),
                );
            }
            Some(Err(err)) => {
                let kind = match err.kind() {
                    crate::source::SourceErrorKind::Denied => ProblemKind::Denied,
                    _ => ProblemKind::Unavailable,
                };
                return Plaintext::Failed(kind, format!("{shown}: {err}"));
            }
            Some(Ok(data)) => data,
        };
        match data.get(&index.to_string()) {
            Some(Value::String(text)) => Plaintext::Text(text),
            Some(Value::Object(entry)) => {
                let why = entry
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no plaintext");
                Plaintext::Failed(
                    ProblemKind::Invalid,
                    format!(
                        "{shown} could not decrypt it: {}",
                        why.replace(ciphertext, "..")
                    ),
                )
            }
            _ => Plaintext::Failed(
                ProblemKind::Unavailable,
                format!("{shown} answered without this ciphertext's plaintext"),
            ),
        }
    }
}

/// A transit ciphertext in one of the struct's config files, for the `rewrap` subcommand.
#[derive(Clone)]
#[non_exhaustive]
pub struct FileCiphertext {
    /// The file, as `files = [..]` names it for the profile.
    pub file: String,
    /// The field's dotted path, which is also its key in the file.
    pub field: String,
    /// The key that decrypts it, when one is named.
    pub key: Option<TransitKey>,
    /// The ciphertext, as written (trimmed).
    pub ciphertext: String,
}

impl std::fmt::Debug for FileCiphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCiphertext")
            .field("file", &self.file)
            .field("field", &self.field)
            .field("key", &self.key)
            .field("version", &version(&self.ciphertext))
            .finish_non_exhaustive()
    }
}

/// Every transit ciphertext at a secret field's key in the struct's own config files for
/// `profile`, file by file, with the key that decrypts it (`env` gives `{prefix}TRANSIT_KEY`);
/// the problems of reading the files.
pub fn file_ciphertexts(
    schema: &Schema,
    env: &EnvSnapshot,
    profile: &str,
) -> (Vec<FileCiphertext>, Vec<Problem>) {
    let sources: Vec<crate::files::FileSource> = schema
        .files
        .iter()
        .cloned()
        .map(crate::files::FileSource::Path)
        .collect();
    let files = crate::files::read(schema, &sources, profile);
    let mut problems = files.problems.clone();
    let keys = keys(schema, env, profile, &mut problems);
    let mut out = Vec::new();
    for (field, key) in schema.fields.iter().zip(keys) {
        for (file, value) in files.values(&field.path) {
            if let Some(text) = value.as_str().filter(|t| version(t).is_some()) {
                out.push(FileCiphertext {
                    file: file.to_owned(),
                    field: field.path.clone(),
                    key: key.clone(),
                    ciphertext: text.trim().to_owned(),
                });
            }
        }
    }
    (out, problems)
}

/// The transit key that decrypts the secret field at `path` for `profile` (`env` gives
/// `{prefix}TRANSIT_KEY`), or why there is none: the field's own `transit_key`, else its
/// nested struct's, else `{prefix}TRANSIT_KEY`, else the root struct's, `{profile}` replaced.
pub fn key_for(
    schema: &Schema,
    env: &EnvSnapshot,
    profile: &str,
    path: &str,
) -> Result<TransitKey, String> {
    let Some(index) = schema.fields.iter().position(|f| f.path == path) else {
        let known = schema.fields.iter().map(|f| f.path.as_str());
        return Err(match crate::nearest_name(path, known) {
            Some(near) => format!(
                "`{path}` is no field of `{}`; did you mean `{near}`?",
                schema.type_name
            ),
            None => format!("`{path}` is no field of `{}`", schema.type_name),
        });
    };
    let field = &schema.fields[index];
    if !field.secret {
        return Err(format!("`{path}` is no secret: write its value itself"));
    }
    let mut problems = Vec::new();
    let key = keys(schema, env, profile, &mut problems).swap_remove(index);
    if let Some(problem) = problems.first() {
        return Err(problem.message.clone());
    }
    key.ok_or_else(|| {
        format!(
            "no transit key is named for `{path}`: write `transit_key = \"..\"` on the struct or the field, or set {}",
            schema.transit_key_env
        )
    })
}
