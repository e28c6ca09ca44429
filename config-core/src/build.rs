//! The last stage: typed values field by field, as the derive's `__build` asks for them —
//! parsed from the winning layer, defaulted, validated; every problem collected.

use std::fmt::Display;

use serde::de::DeserializeOwned;

use crate::VaultConfig;
use crate::de::{self, Absent, DeError};
use crate::error::Error;
use crate::error::{Problem, ProblemKind};
use crate::resolve::{FieldState, Resolved, Winner, json_display};
use crate::schema::FieldSchema;

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
    /// Values of lower layers that would not parse: warnings, not problems.
    pub(crate) warnings: Vec<Problem>,
}

impl<'r> BuildCtx<'r> {
    pub(crate) fn new(resolved: &'r Resolved<'r>) -> Self {
        BuildCtx {
            resolved,
            cursor: 0,
            problems: Vec::new(),
            warnings: Vec::new(),
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
        self.check_shadowed::<T>(field, state);
        let parsed = match (&state.winner, default) {
            (Winner::Text(raw), _) => de::from_str(raw),
            (Winner::Json(value), _) => de::from_json(value),
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
                let message = not_valid(field, state, &err);
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

    /// Warns of each value below the winner that would not parse as `T` the day it wins.
    /// Secret fields are not tried: parsing would make copies of a secret nobody uses.
    fn check_shadowed<T: FieldValue>(&mut self, field: &FieldSchema, state: &FieldState<'_>) {
        if field.secret {
            return;
        }
        for (source, value) in &state.shadowed {
            let (parsed, shown) = match value {
                Winner::Text(raw) => (de::from_str::<T>(raw).map(drop), clip(raw)),
                Winner::Json(v) => (de::from_json::<T>(v).map(drop), clip(&json_display(v))),
                Winner::Default | Winner::Nothing => continue,
            };
            let Err(err) = parsed else { continue };
            let message = format!(
                "`{shown}` from {source} is not a valid `{}`: {err}; {} wins now, so this loads, until that goes",
                field.type_name, state.origin
            );
            let mut warning = self.problem(field, state, ProblemKind::Shadowed, message);
            warning.sources.clear();
            self.warnings.push(warning);
        }
    }

    fn push(
        &mut self,
        field: &FieldSchema,
        state: &FieldState<'_>,
        kind: ProblemKind,
        msg: String,
    ) {
        let problem = self.problem(field, state, kind, msg);
        self.problems.push(problem);
    }

    fn problem(
        &self,
        field: &FieldSchema,
        state: &FieldState<'_>,
        kind: ProblemKind,
        msg: String,
    ) -> Problem {
        let mut problem = Problem::new(kind, msg);
        problem.field = Some(field.path.clone());
        problem.env = Some(field.env.clone());
        if self.resolved.layers.contains(&crate::schema::Layer::File) {
            problem.file = Some(field.path.clone());
        }
        problem.vault = field
            .vault
            .as_ref()
            .map(|v| self.resolved.target.display(v));
        problem.sources = state.attempts.clone();
        problem
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

/// The last stage: the typed value, or one report with every problem.
pub(crate) fn settings<T: VaultConfig>(resolved: Resolved<'_>) -> Result<T, Error> {
    settings_and_warnings(resolved).0
}

/// [`settings`], and the warnings of values below the winners that would not parse.
pub(crate) fn settings_and_warnings<T: VaultConfig>(
    resolved: Resolved<'_>,
) -> (Result<T, Error>, Vec<Problem>) {
    let mut ctx = BuildCtx::new(&resolved);
    let value = T::__build(&mut ctx);
    let warnings = ctx.warnings;
    let mut problems = ctx.problems;
    problems.extend(resolved.problems.iter().cloned());
    for (field, _, origin, _) in resolved.rows() {
        tracing::debug!(field = %field.path, source = %origin, "vault-config: resolved field");
    }
    let result = match value {
        Some(value) if problems.is_empty() => Ok(value),
        _ => {
            tracing::warn!(
                problems = problems.len(),
                type_name = resolved.schema.type_name,
                "vault-config: load failed"
            );
            Err(Error::new(
                resolved.schema.type_name,
                resolved.target.profile.clone(),
                problems,
            ))
        }
    };
    (result, warnings)
}

/// Why a value does not parse: the value quoted unless it is a secret, where it came from, the
/// type, and the parser's reason.
fn not_valid(field: &FieldSchema, state: &FieldState<'_>, err: &DeError) -> String {
    match (&state.winner, field.secret) {
        (_, true) => format!(
            "value from {} is not a valid `{}` (value not shown: secret)",
            state.origin, field.type_name
        ),
        (Winner::Json(v), false) => format!(
            "`{}` from {} is not a valid `{}`: {err}",
            clip(&json_display(v)),
            state.origin,
            field.type_name
        ),
        (Winner::Text(raw), false) => format!(
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
    }
}
