//! The third stage, after the plan and the reads: for every field, the layers in the schema's
//! order (env > Vault > default unless `order` says otherwise), what each answered and which
//! one wins; fail-fast and fallback. What every view needs of the result lives here too (the
//! rows explain prints, what a path's read found, a winner's keyed fingerprint); the views
//! themselves (`build`, `explain`, `snapshot`, `tracked`) come after and take a `Resolved`.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Answer, Attempt, Problem, ProblemKind};
use crate::plan::{EnvAnswer, Fallback, Pinned, PinnedValue, Plan, Target, TextLayer};
use crate::schema::{FieldSchema, Layer, Schema};
use crate::source::{FetchResult, PathKind, SecretData, SourceErrorKind, VaultPath};

/// A JSON value of a layer: borrowed from Vault's data, or owned (a folder built from its
/// entries, a config file's value).
pub(crate) enum LayerValue<'a> {
    Borrowed(&'a Value),
    Owned(Value),
}

impl std::ops::Deref for LayerValue<'_> {
    type Target = Value;

    fn deref(&self) -> &Value {
        match self {
            LayerValue::Borrowed(v) => v,
            LayerValue::Owned(v) => v,
        }
    }
}

impl Drop for LayerValue<'_> {
    fn drop(&mut self) {
        if let LayerValue::Owned(v) = self {
            crate::zeroize_json(v);
        }
    }
}

/// What supplies a field's value: text (env, `.env`), JSON (Vault, config files), the
/// default, or nothing.
pub(crate) enum Winner<'a> {
    Text(&'a str),
    Json(LayerValue<'a>),
    Default,
    Nothing,
}

pub(crate) struct FieldState<'a> {
    pub winner: Winner<'a>,
    /// For a pinned `static` field: the fingerprint of what the layers hold now.
    pub shadow: Option<u64>,
    /// Where the value came from, as shown in explain.
    pub origin: String,
    pub attempts: Vec<Attempt>,
    /// Lower layers that also had a value.
    pub overridden: Vec<String>,
    /// The values of those lower layers (env and `.env` text, Vault and file JSON), for
    /// `check` to warn of one that would not parse the day it wins.
    pub shadowed: Vec<(String, Winner<'a>)>,
    /// A failure that stops the field before parsing (fail-fast Vault error, non-UTF-8 env, a
    /// mounted file that cannot be read).
    pub failure: Option<(ProblemKind, String)>,
}

/// The second half of a load: every field's winner, ready to build.
pub(crate) struct Resolved<'a> {
    pub schema: &'a Schema,
    pub target: Target,
    /// What Vault answered per path.
    pub paths: Vec<PathCheck>,
    /// What reading each config file and the `.env` file found.
    pub files: Vec<crate::files::FileCheck>,
    /// The layers in force, in order.
    pub layers: Vec<Layer>,
    pub(crate) fields: Vec<FieldState<'a>>,
    pub problems: Vec<Problem>,
}

impl<'a> Resolved<'a> {
    /// `results` answers `plan.paths` in order; `None` means no Vault source is configured.
    pub fn new(plan: Plan<'a>, results: Option<&'a [FetchResult]>, fallback: Fallback) -> Self {
        let Plan {
            schema,
            target,
            layers,
            text,
            files,
            pins,
            paths,
            transit_keys,
            problems,
        } = plan;
        let decrypted = crate::transit::Decrypted::new(&paths, results);
        let fields = schema
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let vault = field.vault.as_ref().map(|loc| {
                    let path = target.path(loc);
                    let result = match (results, paths.binary_search(&path)) {
                        (None, _) => PathResult::NoSource,
                        (Some(_), Err(_)) => PathResult::NotAsked,
                        // A source that answers fewer paths than asked counts as failing.
                        (Some(r), Ok(i)) => {
                            r.get(i).map_or(PathResult::NoAnswer, PathResult::Answer)
                        }
                    };
                    (loc, path, result)
                });
                let answers = Answers {
                    field: i,
                    text: &text,
                    vault,
                    files: &files,
                    transit: match &transit_keys[i] {
                        Some(key) => Decrypting::With(key, &decrypted),
                        None => Decrypting::Without(&schema.transit_key_env),
                    },
                };
                let state = resolve_field(field, &layers, answers, fallback);
                match pins.0.get(&field.path) {
                    Some(pinned) => pin_field(field, state, pinned),
                    None => state,
                }
            })
            .collect();
        let path_checks = results
            .map(|r| paths.iter().zip(r).map(|(p, r)| path_check(p, r)).collect())
            .unwrap_or_default();
        Resolved {
            schema,
            target,
            paths: path_checks,
            files: files.checks,
            layers,
            fields,
            problems,
        }
    }

    /// Secret strings that resolution saw, to scrub from user-written validation messages.
    pub(crate) fn secret_values(&self) -> impl Iterator<Item = String> + '_ {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(f, _)| f.secret)
            .filter_map(|(_, s)| match &s.winner {
                Winner::Text(raw) => Some((*raw).to_owned()),
                Winner::Json(v) => Some(match &**v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                Winner::Default | Winner::Nothing => None,
            })
            .filter(|v| !v.trim().is_empty())
    }
}

/// Replaces a `static` field's resolution by its first-load value, remembering what the
/// layers hold now so that a change can be reported.
fn pin_field<'a>(field: &FieldSchema, now: FieldState<'a>, pinned: &'a Pinned) -> FieldState<'a> {
    let origin = format!("{} (static: first value kept)", pinned.origin);
    FieldState {
        shadow: Some(winner_fingerprint(field, &now.winner)),
        winner: match &pinned.value {
            PinnedValue::Str(s) => Winner::Text(s),
            PinnedValue::Json(v) => Winner::Json(LayerValue::Borrowed(v)),
            PinnedValue::Default => Winner::Default,
            PinnedValue::Absent => Winner::Nothing,
        },
        attempts: vec![Attempt {
            source: origin.clone(),
            answer: Answer::Found,
        }],
        origin,
        overridden: Vec::new(),
        shadowed: Vec::new(),
        failure: None,
    }
}

pub(crate) fn json_display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What the Vault layer holds for one field's path.
enum PathResult<'a> {
    NoSource,
    NotAsked,
    NoAnswer,
    Answer(&'a FetchResult),
}

type VaultAnswer<'a, 'l> = (&'l crate::schema::VaultLocation, VaultPath, PathResult<'a>);

/// One field through the layers in the schema's order (`order = [..]`): the first layer with
/// a value wins, later ones with a value are recorded as overridden, and a Vault failure stops
/// the field unless a layer before it decided it (or fallback mode skips Vault).
fn resolve_field<'a>(
    field: &FieldSchema,
    layers: &[Layer],
    answers: Answers<'a, '_>,
    fallback: Fallback,
) -> FieldState<'a> {
    let mut state = FieldState {
        shadow: None,
        winner: Winner::Nothing,
        origin: "-".to_owned(),
        attempts: Vec::new(),
        overridden: Vec::new(),
        shadowed: Vec::new(),
        failure: None,
    };
    let Answers {
        field: index,
        text,
        mut vault,
        files,
        transit,
    } = answers;
    for layer in layers {
        match layer {
            Layer::Flag | Layer::Env | Layer::SecretsDir | Layer::Dotenv => {
                if let Some(t) = text.iter().find(|t| t.layer == *layer) {
                    let (answer, label) = (&t.answers[index], &t.labels[index]);
                    match answer {
                        EnvAnswer::Found(raw) if is_ciphertext(raw) => {
                            ciphertext_layer(&mut state, field, transit, raw, label);
                        }
                        _ => text_layer(&mut state, answer, label),
                    }
                }
            }
            Layer::Vault => {
                if let Some(answer) = vault.take() {
                    vault_layer(&mut state, answer, fallback);
                }
            }
            Layer::File => file_layer(&mut state, field, files, transit),
            Layer::Default => default_layer(&mut state, field),
        }
    }
    state
}

/// What each layer holds for one field, before the order decides.
struct Answers<'a, 'l> {
    /// The field's index in the schema (and in each text layer's answers).
    field: usize,
    text: &'l [TextLayer<'a>],
    vault: Option<VaultAnswer<'a, 'l>>,
    files: &'l crate::files::Files,
    /// How a transit ciphertext in a layer is read for this field.
    transit: Decrypting<'a, 'l>,
}

/// A secret with a transit key, and the load's decrypt answers; or, for any other field,
/// the env var that would name its key.
#[derive(Clone, Copy)]
enum Decrypting<'a, 'l> {
    With(
        &'l crate::transit::TransitKey,
        &'l crate::transit::Decrypted<'a>,
    ),
    Without(&'l str),
}

fn is_ciphertext(text: &str) -> bool {
    crate::transit::version(text).is_some()
}

/// A layer's transit ciphertext: for a secret with a key, its plaintext is the layer's value
/// (explain: `file config/production.toml (db.password, transit myapp v2)`); when it does
/// not decrypt, or nothing decrypts it here, and no layer before decided the field, the
/// field fails naming the key, never the ciphertext.
fn ciphertext_layer<'a>(
    state: &mut FieldState<'a>,
    field: &FieldSchema,
    transit: Decrypting<'a, '_>,
    ciphertext: &str,
    label: &str,
) {
    let (key, decrypted) = match transit {
        Decrypting::With(key, decrypted) => (key, decrypted),
        Decrypting::Without(key_env) => {
            if !state.decided() {
                let why = crate::transit::undecrypted(label, field, key_env);
                state.failure = Some((ProblemKind::Invalid, why));
            }
            state.attempts.push(Attempt {
                source: label.to_owned(),
                answer: Answer::Refused("a transit ciphertext that nothing here decrypts".into()),
            });
            return;
        }
    };
    let version = crate::transit::version(ciphertext).unwrap_or_default();
    let source = match label.strip_suffix(')') {
        Some(open) => format!("{open}, transit {key} v{version})"),
        None => format!("{label} (transit {key} v{version})"),
    };
    let answer = match decrypted.plaintext(key, ciphertext) {
        crate::transit::Plaintext::Text(plain) => {
            state.offer(&source, Winner::Text(plain));
            Answer::Found
        }
        crate::transit::Plaintext::Failed(kind, why) => {
            if !state.decided() {
                state.failure = Some((
                    kind,
                    format!(
                        "the transit ciphertext in {label} did not decrypt with key `{key}`: {why} (neither the ciphertext nor a plaintext is shown)"
                    ),
                ));
            }
            Answer::Unavailable(why)
        }
    };
    state.attempts.push(Attempt { source, answer });
}

/// The config files' answer: the last file holding the field's dotted path wins. A secret's
/// value in a config file is never used (the plan reports it).
fn file_layer<'a>(
    state: &mut FieldState<'a>,
    field: &FieldSchema,
    files: &crate::files::Files,
    transit: Decrypting<'a, '_>,
) {
    let key = &field.path;
    let (source, answer) = match files.find(key) {
        Some((file, Value::String(text))) if is_ciphertext(&text) => {
            ciphertext_layer(
                state,
                field,
                transit,
                &text,
                &format!("file {file} ({key})"),
            );
            return;
        }
        Some((file, _)) if field.secret => (
            format!("file {file} ({key})"),
            Answer::Refused("a secret in a config file is not used".into()),
        ),
        Some((file, value)) => {
            let source = format!("file {file} ({key})");
            state.offer(&source, Winner::Json(LayerValue::Owned(value)));
            (source, Answer::Found)
        }
        None => (format!("file key {key}"), Answer::NotSet),
    };
    state.attempts.push(Attempt { source, answer });
}

impl<'a> FieldState<'a> {
    /// Whether a layer already gave the value, or a failure stopped the field.
    fn decided(&self) -> bool {
        !matches!(self.winner, Winner::Nothing) || self.failure.is_some()
    }

    /// A layer has a value: it wins unless the field is decided, then it is overridden.
    fn offer(&mut self, source: &str, value: Winner<'a>) {
        if self.decided() {
            self.overridden.push(source.to_owned());
            if matches!(value, Winner::Text(_) | Winner::Json(_)) {
                self.shadowed.push((source.to_owned(), value));
            }
        } else {
            self.winner = value;
            self.origin = source.to_owned();
        }
    }
}

fn text_layer<'a>(state: &mut FieldState<'a>, env: &EnvAnswer<'a>, source: &str) {
    let answer = match env {
        EnvAnswer::Found(raw) => {
            state.offer(source, Winner::Text(raw));
            Answer::Found
        }
        EnvAnswer::NotSet => Answer::NotSet,
        EnvAnswer::Empty => Answer::Empty,
        EnvAnswer::NotUnicode => {
            if !state.decided() {
                state.failure = Some((
                    ProblemKind::Invalid,
                    format!("{source} is set but not valid UTF-8"),
                ));
            }
            Answer::NotUnicode
        }
        EnvAnswer::Unreadable(why) => {
            // A file mounted for this field that cannot be read is a deployment error, even
            // where a layer above decided the field.
            if state.failure.is_none() {
                state.failure = Some((ProblemKind::File, (*why).to_owned()));
            }
            Answer::Unavailable((*why).to_owned())
        }
    };
    state.attempts.push(Attempt {
        source: source.to_owned(),
        answer,
    });
}

fn vault_layer<'a>(
    state: &mut FieldState<'a>,
    (loc, path, result): VaultAnswer<'a, '_>,
    fallback: Fallback,
) {
    let mut source = format!("vault {}", loc.shown(&path));
    let answer = match result {
        PathResult::NoSource => Answer::NoSource,
        PathResult::NotAsked => Answer::NotAsked,
        PathResult::NoAnswer => {
            Answer::Unavailable("the source gave no answer for this path".into())
        }
        PathResult::Answer(Err(e)) => match e.kind() {
            SourceErrorKind::NotFound => Answer::PathNotFound,
            SourceErrorKind::Deleted => Answer::Deleted(e.message().to_owned()),
            SourceErrorKind::Denied => Answer::Denied(e.message().to_owned()),
            _ => Answer::Unavailable(e.message().to_owned()),
        },
        PathResult::Answer(Ok(data)) if loc.kind == PathKind::Folder => {
            source = format!("vault {path}*");
            state.offer(&source, Winner::Json(LayerValue::Owned(data.to_object())));
            Answer::Found
        }
        PathResult::Answer(Ok(data)) if loc.kind == PathKind::Issue => {
            source = format!("pki {path} ({})", certificate_terms(data));
            state.offer(&source, Winner::Json(LayerValue::Owned(data.to_object())));
            Answer::Found
        }
        PathResult::Answer(Ok(data)) if loc.kind == PathKind::Lease => {
            source = format!("vault {path} ({})", lease_terms(data));
            state.offer(&source, Winner::Json(LayerValue::Owned(data.to_object())));
            Answer::Found
        }
        PathResult::Answer(Ok(data)) => match find_key(data, loc.keys()) {
            Some((key, value)) => {
                source = format!("vault {path}#{key}");
                state.offer(&source, Winner::Json(LayerValue::Borrowed(value)));
                Answer::Found
            }
            None => Answer::KeyAbsent {
                tried: loc.keys().map(str::to_owned).collect(),
                similar: similar_key(data, loc.keys()),
            },
        },
    };
    // Fail fast: a Vault failure on a path this field needs stops the field, unless a layer
    // before Vault already supplied it or fallback mode is on. Fallback covers Vault being
    // unreachable, sealed or failing; never Vault saying no (a 403, a refused login).
    let answer = match answer {
        Answer::Unavailable(why) if !state.decided() && fallback == Fallback::Env => {
            Answer::Skipped(why)
        }
        Answer::Denied(why) if !state.decided() => {
            state.failure = Some((
                ProblemKind::Denied,
                format!("vault denied access to {path}"),
            ));
            Answer::Denied(why)
        }
        Answer::Unavailable(why) if !state.decided() => {
            state.failure = Some((
                ProblemKind::Unavailable,
                format!("vault could not be read at {path}"),
            ));
            Answer::Unavailable(why)
        }
        other => other,
    };
    state.attempts.push(Attempt { source, answer });
}

fn default_layer(state: &mut FieldState<'_>, field: &FieldSchema) {
    match field.default {
        Some(_) if state.decided() => state.overridden.push("default".to_owned()),
        Some(_) => {
            state.winner = Winner::Default;
            state.origin = "default".to_owned();
            state.attempts.push(Attempt {
                source: "default".to_owned(),
                answer: Answer::Found,
            });
        }
        None if !field.secret && !state.decided() => state.attempts.push(Attempt {
            source: "default".to_owned(),
            answer: Answer::NoDefault,
        }),
        None => {}
    }
}

/// What explain and check say of a leased read: the lease (shortened), its TTL and whether it
/// can be renewed; a static role's TTL until its next rotation.
fn lease_terms(data: &SecretData) -> String {
    let ttl = data
        .lease()
        .map_or_else(|| "no TTL".to_owned(), |d| format!("ttl {}s", d.as_secs()));
    match data.lease_id() {
        Some(id) => format!(
            "lease {}, {ttl}, {}",
            crate::source::short_lease_id(id),
            if data.renewable() {
                "renewable"
            } else {
                "not renewable"
            }
        ),
        None => format!("no lease, {ttl}"),
    }
}

/// `serial …3f:a2, expires in 23h59m` for an issued certificate: the serial's last two
/// octets and the time left until its end (`expiration`, Unix seconds), never the key.
pub(crate) fn certificate_terms(data: &SecretData) -> String {
    let serial = data
        .get("serial_number")
        .and_then(|v| v.as_str())
        .map_or_else(
            || "no serial".to_owned(),
            |s| format!("serial {}", short_serial(s)),
        );
    let left = data
        .get("expiration")
        .and_then(serde_json::Value::as_u64)
        .map(|end| end.saturating_sub(crate::unix_now()));
    match left {
        Some(0) => format!("{serial}, expired"),
        Some(secs) => format!(
            "{serial}, expires in {}",
            crate::duration::format(std::time::Duration::from_secs(secs))
        ),
        None => format!("{serial}, no end given"),
    }
}

/// `…3f:a2`: the last two octets of a serial written `0a:1b:..:3f:a2` (what health and explain
/// show; a serial is not secret, only long).
///
/// ```
/// use vault_config_core::short_serial;
/// assert_eq!(short_serial("1d:4e:00:3f:a2"), "…3f:a2");
/// assert_eq!(short_serial("a2"), "a2");
/// ```
pub fn short_serial(serial: &str) -> String {
    let octets: Vec<&str> = serial.trim().split(':').collect();
    if octets.len() <= 2 {
        return serial.trim().to_owned();
    }
    format!("…{}", octets[octets.len() - 2..].join(":"))
}

/// A key of `data` equal to one of `keys` but for case and `_`/`-` (key names are not
/// secret; values are never looked at).
fn similar_key<'k>(data: &SecretData, keys: impl Iterator<Item = &'k str>) -> Option<String> {
    let folded = |k: &str| {
        k.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    let wanted: Vec<String> = keys.map(folded).collect();
    data.keys()
        .find(|k| wanted.contains(&folded(k)))
        .map(str::to_owned)
}

fn find_key<'d, 'k>(
    data: &'d SecretData,
    mut keys: impl Iterator<Item = &'k str>,
) -> Option<(&'k str, &'d Value)> {
    keys.find_map(|k| data.get(k).map(|v| (k, v)))
}

/// What Vault answered for one path: never a value, at most the number of keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PathCheck {
    /// `mount/path`.
    pub path: String,
    /// What the read found.
    pub status: PathStatus,
    /// The number of keys read, or why the read failed.
    pub detail: String,
}

/// What reading one path found (`check`, `explain`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PathStatus {
    /// Read.
    Ok,
    /// The path does not exist.
    NotFound,
    /// The latest KV v2 version was deleted or destroyed.
    Deleted,
    /// The token may not read it.
    Denied,
    /// Vault could not be reached or failed.
    Unavailable,
    /// The answer could not be read.
    Malformed,
}

impl PathStatus {
    /// The status as printed and serialized: `ok`, `not_found`, ...
    ///
    /// ```
    /// use vault_config_core::PathStatus;
    /// assert_eq!(PathStatus::NotFound.as_str(), "not_found");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            PathStatus::Ok => "ok",
            PathStatus::NotFound => "not_found",
            PathStatus::Deleted => "deleted",
            PathStatus::Denied => "denied",
            PathStatus::Unavailable => "unavailable",
            PathStatus::Malformed => "malformed",
        }
    }
}

impl fmt::Display for PathStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl PathCheck {
    /// Whether the token could read the path (a missing path counts: it can be created).
    pub fn is_readable(&self) -> bool {
        matches!(
            self.status,
            PathStatus::Ok | PathStatus::NotFound | PathStatus::Deleted
        )
    }
}

/// What a `check` shows of one path's answer.
pub(crate) fn path_check(path: &VaultPath, result: &FetchResult) -> PathCheck {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (status, detail) = match result {
        Ok(data) if path.kind == PathKind::Decrypt => {
            let asked = path.ciphertexts.0.len();
            let done = data
                .keys()
                .filter(|k| data.get(k).is_some_and(Value::is_string))
                .count();
            let detail = if done == asked {
                format!("{asked} ciphertext{} decrypted", plural(asked))
            } else {
                format!("{done} of {asked} ciphertexts decrypted")
            };
            (PathStatus::Ok, detail)
        }
        Ok(data) => (
            PathStatus::Ok,
            format!("{} key{}", data.len(), plural(data.len())),
        ),
        Err(e) => (
            match e.kind() {
                SourceErrorKind::NotFound => PathStatus::NotFound,
                SourceErrorKind::Deleted => PathStatus::Deleted,
                SourceErrorKind::Denied => PathStatus::Denied,
                SourceErrorKind::Malformed => PathStatus::Malformed,
                _ => PathStatus::Unavailable,
            },
            e.message().to_owned(),
        ),
    };
    PathCheck {
        path: path.to_string(),
        status,
        detail,
    }
}

impl Resolved<'_> {
    /// One row per field for explain: the value (redacted when secret), origin, overridden.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&FieldSchema, String, &str, &[String])> {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .map(|(field, state)| {
                let value = match (&state.winner, field.secret) {
                    (Winner::Nothing, _) => "(none)".to_owned(),
                    (_, true) => "[REDACTED]".to_owned(),
                    (Winner::Text(raw), false) => (*raw).to_owned(),
                    (Winner::Json(v), false) => json_display(v),
                    (Winner::Default, false) => field.default.unwrap_or_default().to_owned(),
                };
                (
                    field,
                    value,
                    state.origin.as_str(),
                    state.overridden.as_slice(),
                )
            })
    }
}

/// The fingerprint of what won a field: which layer, and its raw value.
pub(crate) fn winner_fingerprint(field: &FieldSchema, winner: &Winner<'_>) -> u64 {
    match winner {
        Winner::Text(raw) => fingerprint(1, Some(raw), None),
        Winner::Json(v) => fingerprint(2, None, Some(&**v)),
        Winner::Default => fingerprint(3, field.default, None),
        Winner::Nothing => fingerprint(0, None, None),
    }
}

fn keyed_hasher() -> impl Hasher {
    static KEY: OnceLock<std::hash::RandomState> = OnceLock::new();
    KEY.get_or_init(std::hash::RandomState::new).build_hasher()
}

/// A keyed hash of a raw value, walking JSON without rendering it to a string.
pub(crate) fn fingerprint(kind: u8, text: Option<&str>, json: Option<&Value>) -> u64 {
    fn walk(v: &Value, h: &mut impl Hasher) {
        match v {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, b).hash(h),
            Value::Number(n) => (2u8, n.as_i64(), n.as_u64(), n.as_f64().map(f64::to_bits)).hash(h),
            Value::String(s) => (3u8, s).hash(h),
            Value::Array(items) => {
                (4u8, items.len()).hash(h);
                items.iter().for_each(|i| walk(i, h));
            }
            Value::Object(map) => {
                (5u8, map.len()).hash(h);
                for (k, v) in map {
                    k.hash(h);
                    walk(v, h);
                }
            }
        }
    }
    let mut h = keyed_hasher();
    kind.hash(&mut h);
    text.hash(&mut h);
    if let Some(v) = json {
        walk(v, &mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_values_and_layers_apart() {
        let env = fingerprint(1, Some("x"), None);
        assert_eq!(env, fingerprint(1, Some("x"), None));
        assert_ne!(env, fingerprint(1, Some("y"), None));
        assert_ne!(env, fingerprint(2, None, Some(&Value::from("x"))));
        assert_ne!(
            fingerprint(2, None, Some(&serde_json::json!({"a": [1]}))),
            fingerprint(2, None, Some(&serde_json::json!({"a": [2]})))
        );
    }
}
