//! The first stage of a load: the profile, what the env and `.env` layers hold for each
//! field, the config files (read here: they are local, like env), unknown env vars and file
//! keys, the layers in force in their order, and the set of Vault locations still to read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;
use zeroize::Zeroize;

use crate::env::EnvSnapshot;
use crate::error::{Problem, ProblemKind};
use crate::files::{FileSource, Files};
use crate::location::Overrides;
use crate::mounts::{Mounted, Mounts};
use crate::schema::{DEFAULT_PROFILE, FieldSchema, Layer, Schema, VaultLocation};
use crate::source::VaultPath;

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

/// What a text layer (flags, env, the secrets dir, `.env`) holds for one field.
#[derive(Clone, Copy)]
pub(crate) enum EnvAnswer<'a> {
    Found(&'a str),
    NotSet,
    Empty,
    NotUnicode,
    /// A file that is there but was refused (a FIFO, too large, a link out of its dir): why,
    /// naming the file.
    Unreadable(&'a str),
}

impl EnvAnswer<'_> {
    /// Whether the answer decides the field (a value, or a failure that stops it).
    fn decides(&self) -> bool {
        !matches!(self, EnvAnswer::NotSet | EnvAnswer::Empty)
    }
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
        loc.shown(&self.path(loc))
    }
}

/// One text layer (flags, env, the secrets dir, `.env`): what it holds for each field and
/// how explain names it there.
pub(crate) struct TextLayer<'a> {
    pub layer: Layer,
    pub answers: Vec<EnvAnswer<'a>>,
    /// `env APP_PORT`, `file /vault/secrets/app (APP_PORT)`, `secrets-dir /run/secrets/port`,
    /// `.env APP_PORT`, `flag --port`.
    pub labels: Vec<String>,
}

/// The first half of a load: the profile, the local layers' answers and the Vault paths still
/// needed.
pub(crate) struct Plan<'a> {
    pub schema: &'a Schema,
    pub target: Target,
    /// The layers in force, in order: `.env`, files, the secrets dir and flags only when the
    /// load has them.
    pub layers: Vec<Layer>,
    /// The text layers in force, in the order of `layers`.
    pub text: Vec<TextLayer<'a>>,
    /// The config files as read.
    pub files: Files,
    /// First-load values of `static` fields, kept over what the layers now hold.
    pub pins: &'a Pins,
    /// Distinct paths to ask Vault for, sorted (the decrypt paths of transit ciphertexts
    /// among them).
    pub paths: Vec<VaultPath>,
    /// The transit key of each field (a secret with a key), by index.
    pub transit_keys: Vec<Option<crate::transit::TransitKey>>,
    pub problems: Vec<Problem>,
}

/// The local inputs of one load besides the env snapshot: the secrets dirs and the flags as
/// read, the config files to read.
pub(crate) struct Locals<'a> {
    pub mounts: &'a Mounts,
    pub flags: Option<&'a crate::flags::FlagValues>,
    pub files: Vec<FileSource>,
}

impl<'a> Plan<'a> {
    /// `explain` asks Vault for every field, to show what env overrode.
    pub fn new(
        schema: &'static Schema,
        env: &'a EnvSnapshot,
        profile: Option<&str>,
        overrides: &Overrides,
        pins: &'a Pins,
        locals: Locals<'a>,
        explain: bool,
    ) -> Self {
        let mut problems = Vec::new();
        let profile =
            crate::profile::choose(profile, env, &schema.profile_env).unwrap_or_else(|why| {
                let mut problem = Problem::new(ProblemKind::Invalid, why);
                problem.env = Some(schema.profile_env.clone());
                problems.push(problem);
                DEFAULT_PROFILE.to_owned()
            });
        let target = Target {
            schema,
            profile,
            overrides: overrides.clone().with_issue_env(schema, env, &mut problems),
        };
        let files = crate::files::read(schema, &locals.files, &target.profile);
        problems.extend(files.problems.iter().cloned());
        problems.extend(secrets_in_files(schema, &files));
        let transit_keys = crate::transit::keys(schema, env, &target.profile, &mut problems);
        let layers = schema
            .order
            .iter()
            .copied()
            .filter(|layer| match layer {
                Layer::Flag => locals.flags.is_some(),
                Layer::SecretsDir => !locals.mounts.dirs.is_empty(),
                Layer::Dotenv => env.dotenv_origin().is_some(),
                Layer::File => files.configured(),
                _ => true,
            })
            .collect::<Vec<_>>();
        let text: Vec<TextLayer<'a>> = layers
            .iter()
            .filter_map(|layer| text_layer(*layer, schema, env, &locals))
            .collect();

        let mut paths = vault_paths(&target, &layers, &text, explain);
        paths.extend(decrypt_requests(
            schema,
            &transit_keys,
            &layers,
            &text,
            &files,
        ));
        paths.sort();
        if !schema.allow_unknown && !schema.env_prefix.is_empty() {
            problems.extend(unknown_env(schema, env));
        }

        Plan {
            schema,
            target,
            layers,
            text,
            files,
            pins,
            paths,
            transit_keys,
            problems,
        }
    }
}

/// What a text layer answers for every field, and how each answer is named; `None` for the
/// layers that are not text (Vault, files, defaults).
fn text_layer<'a>(
    layer: Layer,
    schema: &Schema,
    env: &'a EnvSnapshot,
    locals: &Locals<'a>,
) -> Option<TextLayer<'a>> {
    let fields = &schema.fields;
    let (answers, labels) = match layer {
        Layer::Env => (
            env_answers(schema, |name| env.own(name)),
            fields
                .iter()
                .map(|f| match env.origin(&f.env) {
                    Some(file) => format!("file {file} ({})", f.env),
                    None => format!("env {}", f.env),
                })
                .collect(),
        ),
        Layer::Dotenv => {
            let file = env.dotenv_origin().unwrap_or_default();
            (
                env_answers(schema, |name| env.dotenv_value(name)),
                fields.iter().map(|f| format!("{file} {}", f.env)).collect(),
            )
        }
        Layer::SecretsDir => {
            let mounts = locals.mounts;
            let dirs = mounts.dirs.join(", ");
            fields
                .iter()
                .zip(&mounts.answers)
                .map(|(f, answer)| match answer {
                    Mounted::Found(value, file) => (
                        text_answer(f, Ok(value.as_str())),
                        format!("secrets-dir {file}"),
                    ),
                    Mounted::Unreadable(why) => {
                        (EnvAnswer::Unreadable(why), format!("secrets-dir {dirs}"))
                    }
                    Mounted::NotSet => (
                        EnvAnswer::NotSet,
                        format!(
                            "secrets-dir {dirs} ({} or {})",
                            f.env.to_ascii_lowercase(),
                            f.path.replace('.', "__")
                        ),
                    ),
                })
                .unzip()
        }
        Layer::Flag => {
            let flags = locals.flags?;
            fields
                .iter()
                .map(|f| {
                    let name = crate::flags::flag_name(&f.path);
                    let answer = match flags.value(&f.path) {
                        Some(value) => text_answer(f, value),
                        None => EnvAnswer::NotSet,
                    };
                    (answer, format!("flag --{name}"))
                })
                .unzip()
        }
        Layer::Vault | Layer::File | Layer::Default => return None,
    };
    Some(TextLayer {
        layer,
        answers,
        labels,
    })
}

/// What one layer of variables (the process env, or `.env`) answers for every field.
fn env_answers<'a>(
    schema: &Schema,
    lookup: impl Fn(&str) -> Option<Result<&'a str, crate::NotUnicode>>,
) -> Vec<EnvAnswer<'a>> {
    schema
        .fields
        .iter()
        .map(|f| match lookup(&f.env) {
            None => EnvAnswer::NotSet,
            Some(found) => text_answer(f, found),
        })
        .collect()
}

/// A text value as an answer: empty counts as unset unless the field allows it.
fn text_answer<'a>(
    field: &crate::schema::FieldSchema,
    found: Result<&'a str, crate::NotUnicode>,
) -> EnvAnswer<'a> {
    match found {
        Err(_) => EnvAnswer::NotUnicode,
        Ok("") if !field.allow_empty => EnvAnswer::Empty,
        Ok(v) => EnvAnswer::Found(v),
    }
}

/// The Vault paths to read, each once: a path is read unless a text layer before Vault
/// (flags, env, the secrets dir, `.env`) already decided every field on it; `explain` reads
/// them all, to show what env overrode.
fn vault_paths(
    target: &Target,
    layers: &[Layer],
    text: &[TextLayer<'_>],
    explain: bool,
) -> Vec<VaultPath> {
    let vault_at = layers.iter().position(|l| *l == Layer::Vault);
    let before_vault: Vec<&TextLayer<'_>> = text
        .iter()
        .filter(|t| layers.iter().position(|l| *l == t.layer) < vault_at)
        .collect();
    let paths: BTreeSet<VaultPath> = target
        .schema
        .fields
        .iter()
        .enumerate()
        .filter(|(i, _)| explain || !before_vault.iter().any(|t| t.answers[*i].decides()))
        .filter_map(|(_, f)| f.vault.as_ref().map(|v| target.path(v)))
        .collect();
    paths.into_iter().collect()
}

/// One ciphertext a layer holds for a field.
struct Found<'t> {
    text: &'t str,
    /// Whether this layer's value wins unless a layer before it decided the field.
    asked: bool,
}

/// The ciphertexts every layer holds for `field`, in the layers' order; those that can win
/// (up to the first text layer with a value, config files included) are `asked`.
fn found<'t>(
    index: usize,
    field: &'t FieldSchema,
    layers: &[Layer],
    text: &'t [TextLayer<'_>],
    files: &'t Files,
) -> Vec<Found<'t>> {
    let mut out = Vec::new();
    let mut decided = false;
    for layer in layers {
        if *layer == Layer::File {
            for (_, value) in files.values(&field.path) {
                if let Value::String(s) = value {
                    out.push(Found {
                        text: s,
                        asked: !decided,
                    });
                }
            }
        }
        let Some(t) = text.iter().find(|t| t.layer == *layer) else {
            continue;
        };
        if let EnvAnswer::Found(raw) = t.answers[index] {
            out.push(Found {
                text: raw,
                asked: !decided,
            });
            decided = true;
        }
    }
    out.retain(|f| crate::transit::version(f.text).is_some());
    out
}

/// The decrypt paths of a load: one per key, with every ciphertext that can win (each once).
/// A ciphertext where none is decrypted (a field that is no secret, a secret without a key)
/// is the resolution's problem ([`crate::transit::undecrypted`]).
fn decrypt_requests(
    schema: &Schema,
    keys: &[Option<crate::transit::TransitKey>],
    layers: &[Layer],
    text: &[TextLayer<'_>],
    files: &Files,
) -> Vec<VaultPath> {
    let mut asked: BTreeMap<&crate::transit::TransitKey, Vec<String>> = BTreeMap::new();
    for (i, field) in schema.fields.iter().enumerate() {
        let Some(key) = &keys[i] else { continue };
        for found in found(i, field, layers, text, files)
            .iter()
            .filter(|f| f.asked)
        {
            let list = asked.entry(key).or_default();
            if !list.iter().any(|c| c == found.text.trim()) {
                list.push(found.text.trim().to_owned());
            }
        }
    }
    asked
        .into_iter()
        .map(|(key, list)| VaultPath::decrypt(&key.mount, &key.name, list))
        .collect()
}

/// A secret field with a value in a config file: a problem naming the file and the field,
/// never the value, which is not used (secrets belong in Vault, env or `.env`). A transit
/// ciphertext is no such value: [`crate::transit`] decrypts it, or says why not.
fn secrets_in_files(schema: &Schema, files: &Files) -> Vec<Problem> {
    schema
        .fields
        .iter()
        .filter(|f| f.secret)
        .flat_map(|f| files.values(&f.path).map(move |(file, value)| (f, file, value)))
        .filter(|(_, _, value)| value.as_str().and_then(crate::transit::version).is_none())
        .map(|(field, file, _)| (field, file))
        .map(|(field, file)| {
            let mut problem = Problem::new(
                ProblemKind::SecretInFile,
                format!(
                    "{file} holds a value for this secret: secrets belong in Vault, env or .env, never in a config file, unless encrypted by Vault's transit engine (the value was not used, nor shown)"
                ),
            );
            problem.field = Some(field.path.clone());
            problem.env = Some(field.env.clone());
            problem.file = Some(field.path.clone());
            problem
        })
        .collect()
}

/// Prefixed env vars that match no field, each with a "did you mean" when one is close.
fn unknown_env(schema: &Schema, env: &EnvSnapshot) -> Vec<Problem> {
    let known = schema.env_names();
    env.names()
        .filter(|name| name.starts_with(&schema.env_prefix) && !known.contains(name))
        // Injected files may hold keys for other programs.
        .filter(|name| env.origin(name).is_none())
        .map(|name| {
            let place = match (env.own(name), env.dotenv_origin()) {
                (None, Some(file)) => format!(" (in {file})"),
                _ => String::new(),
            };
            let message = match crate::nearest_name(name, known.iter().copied()) {
                Some(k) => format!(
                    "`{name}`{place} matches no field of `{}`; did you mean `{k}`?",
                    schema.type_name
                ),
                None => format!("`{name}`{place} matches no field of `{}`", schema.type_name),
            };
            let mut problem = Problem::new(ProblemKind::UnknownEnv, message);
            problem.env = Some(name.to_owned());
            problem
        })
        .collect()
}

/// The first-load values of `static` fields.
#[derive(Clone, Default)]
pub struct Pins(pub(crate) BTreeMap<String, Pinned>);

impl Pins {
    /// The pinned fields.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl fmt::Debug for Pins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pins")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// One pinned raw value and where it first came from.
#[derive(Clone)]
pub(crate) struct Pinned {
    pub value: PinnedValue,
    pub origin: String,
}

#[derive(Clone)]
pub(crate) enum PinnedValue {
    Str(String),
    Json(Value),
    Default,
    Absent,
}

impl Drop for Pinned {
    fn drop(&mut self) {
        match &mut self.value {
            PinnedValue::Str(s) => s.zeroize(),
            PinnedValue::Json(v) => crate::zeroize_json(v),
            PinnedValue::Default | PinnedValue::Absent => {}
        }
    }
}
