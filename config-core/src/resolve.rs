//! Resolution: for every field, which layer wins (env > Vault > default) and what each layer
//! answered; then the typed build that the derive drives field by field.

use std::collections::BTreeSet;
use std::fmt::Display;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// What a leaf field's type must be: readable from a string (env) or JSON (Vault) by serde.
/// Its own trait so that a type without `Deserialize` gets an error that says what to add,
/// on the user's field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read from env or Vault: it does not implement `serde::Deserialize`",
    label = "this field's type needs `serde::Deserialize`",
    note = "add `#[derive(serde::Deserialize)]` to `{Self}` (enum variants then match env and Vault values by name, case-insensitively); a settings struct of its own takes `#[config(nested)]` instead; a field not read at all takes `#[config(skip)]`"
)]
pub trait FieldValue: DeserializeOwned {}

impl<T: DeserializeOwned> FieldValue for T {}
use serde_json::Value;

use crate::de::{self, Absent, DeError};
use crate::env::EnvSnapshot;
use crate::error::{Answer, Attempt, Problem, ProblemKind};
use crate::explain::{PathCheck, PathStatus};
use crate::location::Overrides;
use crate::schema::{DEFAULT_PROFILE, FieldSchema, Layer, Schema, VaultLocation};
use crate::source::{FetchResult, SecretData, SourceErrorKind, VaultPath};
use crate::tracked::{Fingerprints, Pinned, PinnedValue, Pins, fingerprint};

/// What to do when Vault fails for a path a field needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fallback {
    /// Fail the load (the default): a service never starts on values Vault did not confirm.
    #[default]
    Never,
    /// Go on without Vault when it is unreachable, sealed or failing: the field falls back to
    /// its default, the report records that Vault was skipped and why, and a required field
    /// left without a value is still an error. Vault saying no (a 403, a refused login) is
    /// never covered: that is a configuration error the operator must see.
    Env,
}

/// What the env layer holds for one field.
#[derive(Clone, Copy)]
pub(crate) enum EnvAnswer<'a> {
    Found(&'a str),
    NotSet,
    Empty,
    NotUnicode,
}

/// Where a load reads Vault: the struct, the active profile and the environment's overrides
/// (`VAULT_MOUNT_POINT`, `VAULT_BASE_PATH`), through [`crate::location::path`].
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub schema: &'static Schema,
    pub profile: String,
    pub overrides: Overrides,
}

impl Target {
    pub fn path(&self, loc: &VaultLocation) -> VaultPath {
        crate::location::path(self.schema, loc, &self.profile, &self.overrides)
    }

    pub fn display(&self, loc: &VaultLocation) -> String {
        if loc.folder {
            format!("{}*", self.path(loc))
        } else {
            format!("{}#{}", self.path(loc), loc.key)
        }
    }
}

/// The first half of a load: the profile, the env layer and the Vault paths still needed.
pub(crate) struct Plan<'a> {
    pub schema: &'a Schema,
    pub target: Target,
    pub env: Vec<EnvAnswer<'a>>,
    /// How each field's env layer is named: `env NAME`, or `file PATH (NAME)`.
    pub env_labels: Vec<String>,
    /// First-load values of `static` fields, kept over what the layers now hold.
    pub pins: &'a Pins,
    /// Distinct paths to ask Vault for, sorted.
    pub paths: Vec<VaultPath>,
    pub problems: Vec<Problem>,
}

impl<'a> Plan<'a> {
    /// `explain` asks Vault for every field, to show what env overrode.
    pub fn new(
        schema: &'static Schema,
        env: &'a EnvSnapshot,
        profile: Option<&str>,
        overrides: &Overrides,
        pins: &'a Pins,
        explain: bool,
    ) -> Self {
        let mut problems = Vec::new();
        let chosen = profile.map(Ok).or_else(|| env.get(&schema.profile_env));
        let profile = match chosen.map(|found| {
            found
                .map_err(|_| "profile is not valid UTF-8")
                .and_then(|p| crate::profile::validate(p).map(|()| p))
        }) {
            None => DEFAULT_PROFILE.to_owned(),
            Some(Ok(p)) => p.to_owned(),
            Some(Err(why)) => {
                let mut problem = Problem::new(ProblemKind::Invalid, why);
                problem.env = Some(schema.profile_env.clone());
                problems.push(problem);
                DEFAULT_PROFILE.to_owned()
            }
        };

        let env_answers: Vec<_> = schema
            .fields
            .iter()
            .map(|f| match env.get(&f.env) {
                None => EnvAnswer::NotSet,
                Some(Err(_)) => EnvAnswer::NotUnicode,
                Some(Ok("")) if !f.allow_empty => EnvAnswer::Empty,
                Some(Ok(v)) => EnvAnswer::Found(v),
            })
            .collect();
        let env_labels = schema
            .fields
            .iter()
            .map(|f| match env.origin(&f.env) {
                Some(file) => format!("file {file} ({})", f.env),
                None => format!("env {}", f.env),
            })
            .collect();
        let target = Target {
            schema,
            profile,
            overrides: overrides.clone(),
        };

        // A path is read unless env comes before Vault and already decided every field on it.
        let position = |layer| schema.order.iter().position(|l| *l == layer);
        let env_first = position(Layer::Env) < position(Layer::Vault);
        let paths: BTreeSet<VaultPath> = schema
            .fields
            .iter()
            .zip(&env_answers)
            .filter(|(_, e)| {
                explain || !env_first || !matches!(e, EnvAnswer::Found(_) | EnvAnswer::NotUnicode)
            })
            .filter_map(|(f, _)| f.vault.as_ref().map(|v| target.path(v)))
            .collect();

        if !schema.allow_unknown_env && !schema.env_prefix.is_empty() {
            problems.extend(unknown_env(schema, env));
        }

        Plan {
            schema,
            target,
            env: env_answers,
            env_labels,
            pins,
            paths: paths.into_iter().collect(),
            problems,
        }
    }
}

/// Prefixed env vars that match no field, each with a "did you mean" when one is close.
fn unknown_env(schema: &Schema, env: &EnvSnapshot) -> Vec<Problem> {
    let known = schema.env_names();
    env.names()
        .filter(|name| name.starts_with(&schema.env_prefix) && !known.contains(name))
        // Injected files may hold keys for other programs.
        .filter(|name| env.origin(name).is_none())
        .map(|name| {
            let message = match crate::nearest_name(name, known.iter().copied()) {
                Some(k) => format!(
                    "`{name}` matches no field of `{}`; did you mean `{k}`?",
                    schema.type_name
                ),
                None => format!("`{name}` matches no field of `{}`", schema.type_name),
            };
            let mut problem = Problem::new(ProblemKind::UnknownEnv, message);
            problem.env = Some(name.to_owned());
            problem
        })
        .collect()
}

/// A Vault value: borrowed from the fetched data, or built for a folder from its entries.
enum VaultValue<'a> {
    Borrowed(&'a Value),
    Owned(Value),
}

impl std::ops::Deref for VaultValue<'_> {
    type Target = Value;

    fn deref(&self) -> &Value {
        match self {
            VaultValue::Borrowed(v) => v,
            VaultValue::Owned(v) => v,
        }
    }
}

impl Drop for VaultValue<'_> {
    fn drop(&mut self) {
        if let VaultValue::Owned(v) = self {
            crate::zeroize_json(v);
        }
    }
}

/// Which layer supplies a field's value.
enum Winner<'a> {
    Env(&'a str),
    Vault(VaultValue<'a>),
    Default,
    Nothing,
}

struct FieldState<'a> {
    winner: Winner<'a>,
    /// For a pinned `static` field: the fingerprint of what the layers hold now.
    shadow: Option<u64>,
    /// Where the value came from, as shown in explain.
    origin: String,
    attempts: Vec<Attempt>,
    /// Lower layers that also had a value.
    overridden: Vec<String>,
    /// A failure that stops the field before parsing (fail-fast Vault error, non-UTF-8 env).
    failure: Option<(ProblemKind, String)>,
}

/// The second half of a load: every field's winner, ready to build.
pub(crate) struct Resolved<'a> {
    pub schema: &'a Schema,
    pub target: Target,
    /// What Vault answered per path.
    pub paths: Vec<PathCheck>,
    fields: Vec<FieldState<'a>>,
    pub problems: Vec<Problem>,
}

impl<'a> Resolved<'a> {
    /// `results` answers `plan.paths` in order; `None` means no Vault source is configured.
    pub fn new(plan: Plan<'a>, results: Option<&'a [FetchResult]>, fallback: Fallback) -> Self {
        let Plan {
            schema,
            target,
            env,
            env_labels,
            pins,
            paths,
            problems,
        } = plan;
        let fields = schema
            .fields
            .iter()
            .zip(env)
            .zip(env_labels)
            .map(|((field, env), env_label)| {
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
                let state = resolve_field(field, &schema.order, env, env_label, vault, fallback);
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
            fields,
            problems,
        }
    }

    /// Secret strings that resolution saw, to scrub from user-written validation messages.
    fn secret_values(&self) -> impl Iterator<Item = String> + '_ {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(f, _)| f.secret)
            .filter_map(|(_, s)| match &s.winner {
                Winner::Env(raw) => Some((*raw).to_owned()),
                Winner::Vault(v) => Some(match &**v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }),
                Winner::Default | Winner::Nothing => None,
            })
            .filter(|v| !v.trim().is_empty())
    }

    /// A keyed hash of every field's winning raw value.
    pub fn fingerprints(&self) -> Fingerprints {
        let mut out = Fingerprints::default();
        for (field, state) in self.schema.fields.iter().zip(&self.fields) {
            out.insert(&field.path, winner_fingerprint(field, &state.winner));
        }
        out
    }

    /// `static` fields whose layers now hold another value than the one kept.
    pub fn static_changes(&self) -> Vec<String> {
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
    pub fn pins(&self) -> Pins {
        let pins = self
            .schema
            .fields
            .iter()
            .zip(&self.fields)
            .filter(|(field, _)| field.is_static)
            .map(|(field, state)| {
                let value = match &state.winner {
                    Winner::Env(raw) => PinnedValue::Str((*raw).to_owned()),
                    Winner::Vault(v) => PinnedValue::Json((**v).clone()),
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

    /// The env and Vault values that won, as figment values, keyed by field path.
    pub fn layer_dict(&self) -> figment::value::Dict {
        let mut dict = figment::value::Dict::new();
        for (field, state) in self.schema.fields.iter().zip(&self.fields) {
            let value = match (&state.winner, field.secret) {
                (Winner::Env(raw), true) => figment::value::Value::from((*raw).to_owned()),
                (Winner::Env(raw), false) => raw
                    .parse()
                    .unwrap_or_else(|_| figment::value::Value::from((*raw).to_owned())),
                (Winner::Vault(v), _) => {
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

    /// One row per field for explain: the value (redacted when secret), origin, overridden.
    pub fn rows(&self) -> impl Iterator<Item = (&FieldSchema, String, &str, &[String])> {
        self.schema
            .fields
            .iter()
            .zip(&self.fields)
            .map(|(field, state)| {
                let value = match (&state.winner, field.secret) {
                    (Winner::Nothing, _) => "(none)".to_owned(),
                    (_, true) => "[REDACTED]".to_owned(),
                    (Winner::Env(raw), false) => (*raw).to_owned(),
                    (Winner::Vault(v), false) => json_display(v),
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

fn path_check(path: &VaultPath, result: &FetchResult) -> PathCheck {
    let (status, detail) = match result {
        Ok(data) => (
            PathStatus::Ok,
            format!(
                "{} key{}",
                data.len(),
                if data.len() == 1 { "" } else { "s" }
            ),
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

fn winner_fingerprint(field: &FieldSchema, winner: &Winner<'_>) -> u64 {
    match winner {
        Winner::Env(raw) => fingerprint(1, Some(raw), None),
        Winner::Vault(v) => fingerprint(2, None, Some(&**v)),
        Winner::Default => fingerprint(3, field.default, None),
        Winner::Nothing => fingerprint(0, None, None),
    }
}

/// Replaces a `static` field's resolution by its first-load value, remembering what the
/// layers hold now so that a change can be reported.
fn pin_field<'a>(field: &FieldSchema, now: FieldState<'a>, pinned: &'a Pinned) -> FieldState<'a> {
    let origin = format!("{} (static: first value kept)", pinned.origin);
    FieldState {
        shadow: Some(winner_fingerprint(field, &now.winner)),
        winner: match &pinned.value {
            PinnedValue::Str(s) => Winner::Env(s),
            PinnedValue::Json(v) => Winner::Vault(VaultValue::Borrowed(v)),
            PinnedValue::Default => Winner::Default,
            PinnedValue::Absent => Winner::Nothing,
        },
        attempts: vec![Attempt {
            source: origin.clone(),
            answer: Answer::Found,
        }],
        origin,
        overridden: Vec::new(),
        failure: None,
    }
}

fn json_display(v: &Value) -> String {
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
    order: &[Layer],
    env: EnvAnswer<'a>,
    env_source: String,
    vault: Option<VaultAnswer<'a, '_>>,
    fallback: Fallback,
) -> FieldState<'a> {
    let mut state = FieldState {
        shadow: None,
        winner: Winner::Nothing,
        origin: "-".to_owned(),
        attempts: Vec::new(),
        overridden: Vec::new(),
        failure: None,
    };
    let mut vault = vault;
    for layer in order {
        match layer {
            Layer::Env => env_layer(&mut state, &env, &env_source),
            Layer::Vault => {
                if let Some(answer) = vault.take() {
                    vault_layer(&mut state, answer, fallback);
                }
            }
            Layer::Default => default_layer(&mut state, field),
        }
    }
    state
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
        } else {
            self.winner = value;
            self.origin = source.to_owned();
        }
    }
}

fn env_layer<'a>(state: &mut FieldState<'a>, env: &EnvAnswer<'a>, source: &str) {
    let answer = match env {
        EnvAnswer::Found(raw) => {
            state.offer(source, Winner::Env(raw));
            Answer::Found
        }
        EnvAnswer::NotSet => Answer::NotSet,
        EnvAnswer::Empty => Answer::Empty,
        EnvAnswer::NotUnicode => {
            if !state.decided() {
                state.failure = Some((
                    ProblemKind::Invalid,
                    "env var is set but not valid UTF-8".to_owned(),
                ));
            }
            Answer::NotUnicode
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
    let mut source = format!("vault {path}#{}", loc.key);
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
        PathResult::Answer(Ok(data)) if loc.folder => {
            source = format!("vault {path}*");
            state.offer(&source, Winner::Vault(VaultValue::Owned(data.to_object())));
            Answer::Found
        }
        PathResult::Answer(Ok(data)) => match find_key(data, loc.keys()) {
            Some((key, value)) => {
                source = format!("vault {path}#{key}");
                state.offer(&source, Winner::Vault(VaultValue::Borrowed(value)));
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

/// A field's `validate` function.
pub type Validator<T, E> = fn(&T) -> Result<(), E>;

/// A field's default: a Rust expression, or a string parsed like an env value.
pub type DefaultFn<T> = fn() -> Result<T, DeError>;

/// Builds typed values field by field, collecting every problem. The derive's `__build` calls
/// [`BuildCtx::leaf`] once per leaf field in declaration order.
#[doc(hidden)]
pub struct BuildCtx<'r> {
    resolved: &'r Resolved<'r>,
    cursor: usize,
    pub(crate) problems: Vec<Problem>,
}

impl<'r> BuildCtx<'r> {
    pub(crate) fn new(resolved: &'r Resolved<'r>) -> Self {
        BuildCtx {
            resolved,
            cursor: 0,
            problems: Vec::new(),
        }
    }

    /// The next leaf field: parsed from the winning layer, defaulted, then validated.
    ///
    /// Never inlined: a derived struct calls it once per field, and inlining it hundreds of
    /// times into one function makes release builds of large structs very slow.
    #[inline(never)]
    pub fn leaf<T, E>(
        &mut self,
        validate: Option<Validator<T, E>>,
        default: Option<DefaultFn<T>>,
    ) -> Option<T>
    where
        T: FieldValue,
        E: Display,
    {
        let index = self.cursor;
        self.cursor += 1;
        let (Some(field), Some(state)) = (
            self.resolved.schema.fields.get(index),
            self.resolved.fields.get(index),
        ) else {
            // The schema and the build walk the same fields; a mismatch is a derive bug.
            self.problems.push(Problem::new(
                ProblemKind::Invalid,
                "internal error: schema and struct disagree",
            ));
            return None;
        };
        if let Some((kind, message)) = &state.failure {
            self.push(field, state, *kind, message.clone());
            return None;
        }
        let parsed = match (&state.winner, default) {
            (Winner::Env(raw), _) => de::from_str(raw),
            (Winner::Vault(value), _) => de::from_json(value),
            (Winner::Default, Some(default)) => default(),
            (Winner::Default | Winner::Nothing, _) => match T::deserialize(Absent) {
                Ok(none) => Ok(none),
                Err(_) => {
                    let message = if field.secret {
                        "no value in any layer; a secret has no default".to_owned()
                    } else {
                        "no value in any layer".to_owned()
                    };
                    self.push(field, state, ProblemKind::Missing, message);
                    return None;
                }
            },
        };
        let value = match parsed {
            Ok(value) => value,
            Err(err) => {
                let message = match (&state.winner, field.secret) {
                    (_, true) => format!(
                        "value from {} is not a valid `{}` (value not shown: secret)",
                        state.origin, field.type_name
                    ),
                    (Winner::Vault(v), false) => format!(
                        "`{}` from {} is not a valid `{}`: {err}",
                        clip(&json_display(v)),
                        state.origin,
                        field.type_name
                    ),
                    (Winner::Env(raw), false) => format!(
                        "`{}` from {} is not a valid `{}`: {err}",
                        clip(raw),
                        state.origin,
                        field.type_name
                    ),
                    _ => format!(
                        "default `{}` is not a valid `{}`: {err}",
                        field.default.unwrap_or_default(),
                        field.type_name
                    ),
                };
                self.push(field, state, ProblemKind::Invalid, message);
                return None;
            }
        };
        if let Some(validate) = validate {
            if let Err(why) = validate(&value) {
                let message = format!("{} (value from {})", self.scrub(why), state.origin);
                self.push(field, state, ProblemKind::Rejected, message);
                return None;
            }
        }
        Some(value)
    }

    /// Runs a struct-level `validate` function on a fully built struct.
    pub fn check<S, E: Display>(
        &mut self,
        value: S,
        type_name: &str,
        validate: fn(&S) -> Result<(), E>,
    ) -> Option<S> {
        match validate(&value) {
            Ok(()) => Some(value),
            Err(why) => {
                let message = format!("`{type_name}`: {}", self.scrub(why));
                self.problems
                    .push(Problem::new(ProblemKind::Rejected, message));
                None
            }
        }
    }

    /// A user-written message with every secret value seen in this load replaced.
    fn scrub(&self, why: impl Display) -> String {
        let mut text = why.to_string();
        for secret in self.resolved.secret_values() {
            if text.contains(&secret) {
                text = text.replace(&secret, "[REDACTED]");
            }
        }
        text
    }

    fn push(
        &mut self,
        field: &FieldSchema,
        state: &FieldState<'_>,
        kind: ProblemKind,
        msg: String,
    ) {
        let mut problem = Problem::new(kind, msg);
        problem.field = Some(field.path.clone());
        problem.env = Some(field.env.clone());
        problem.vault = field
            .vault
            .as_ref()
            .map(|v| self.resolved.target.display(v));
        problem.sources = state.attempts.clone();
        self.problems.push(problem);
    }
}

/// A non-secret value shortened for an error line.
fn clip(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}
