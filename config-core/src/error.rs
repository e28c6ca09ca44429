//! One report per load: every problem, each naming the field, its env var, its Vault location
//! and what each source answered. Nothing here ever holds a secret value.

use std::fmt;

use serde::Serialize;

/// Everything that went wrong in one load, reported together.
///
/// `Display` prints a readable report; [`Error::problems`] gives the structured entries.
#[derive(Clone, Debug, Serialize)]
pub struct Error {
    type_name: &'static str,
    profile: String,
    problems: Vec<Problem>,
}

impl Error {
    /// A report of `problems` for a load of `type_name`, for code that checks more than the
    /// loader does (such as live settings' own options).
    pub fn from_problems(
        type_name: &'static str,
        profile: impl Into<String>,
        problems: Vec<Problem>,
    ) -> Self {
        Error::new(type_name, profile.into(), problems)
    }

    pub(crate) fn new(type_name: &'static str, profile: String, problems: Vec<Problem>) -> Self {
        Error {
            type_name,
            profile,
            problems: root_causes_first(problems),
        }
    }

    /// Every problem of the load: configuration problems first, then the others in field
    /// order. A field that failed only because of another problem (Vault misconfigured,
    /// unreachable, or refusing the login for every path) is not a problem of its own: it is
    /// listed in its cause's [`blocked`](Problem::blocked).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems of one field, by dotted path, including a field blocked by another
    /// problem.
    pub fn for_field<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Problem> {
        self.problems
            .iter()
            .flat_map(|p| std::iter::once(p).chain(&p.blocked))
            .filter(move |p| p.field.as_deref() == Some(path))
    }

    /// The report in one line, for places that hold one (health's `last_error`, a metric's
    /// log line): the count, the fields blocked, and the first problem's own line.
    ///
    /// ```
    /// use vault_config_core::{Error, Problem};
    /// let e = Error::from_problems("Settings", "default", vec![
    ///     Problem::config(Some("VAULT_SKIP_VERIFY"), "VAULT_SKIP_VERIFY must be true or false"),
    ///     Problem::config(Some("VAULT_KV_VERSION"), "VAULT_KV_VERSION must be 1 or 2"),
    /// ]);
    /// assert_eq!(
    ///     e.summary(),
    ///     "2 problems; first: vault config: VAULT_SKIP_VERIFY must be true or false [env VAULT_SKIP_VERIFY]"
    /// );
    /// ```
    pub fn summary(&self) -> String {
        // The first problem's own line, and what Vault said when that is the cause.
        let first = self
            .problems
            .first()
            .map(|p| {
                let line = p.to_string().lines().next().unwrap_or_default().to_owned();
                match p.sources.iter().find(|a| {
                    matches!(
                        a.answer,
                        Answer::Unavailable(_) | Answer::Denied(_) | Answer::Deleted(_)
                    )
                }) {
                    Some(cause) => format!("{line} ({cause})"),
                    None => line,
                }
            })
            .unwrap_or_default();
        format!("{}; first: {first}", self.count(""))
    }

    /// `2 problems (3 fields blocked{by})`: the count of problems and of the fields they
    /// block, as the report's first line and [`summary`](Self::summary) state it.
    fn count(&self, by: &str) -> String {
        let n = self.problems.len();
        let plural = if n == 1 { "" } else { "s" };
        match self.problems.iter().map(|p| p.blocked.len()).sum::<usize>() {
            0 => format!("{n} problem{plural}"),
            1 => format!("{n} problem{plural} (1 field blocked{by})"),
            b => format!("{n} problem{plural} ({b} fields blocked{by})"),
        }
    }

    /// The report as JSON, for CI and init containers.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Puts configuration problems first and gathers knock-on field problems under their cause:
/// a field left without Vault by a configuration problem goes under the first one; two or
/// more fields failing with the very same Vault answer (unreachable, login refused, a deleted
/// secret) go under one problem that states it once.
fn root_causes_first(problems: Vec<Problem>) -> Vec<Problem> {
    let (mut roots, rest): (Vec<Problem>, Vec<Problem>) = problems
        .into_iter()
        .partition(|p| p.kind == ProblemKind::Config);
    let mut others: Vec<Problem> = Vec::new();
    for problem in rest {
        let vault = problem.vault_answer().cloned();
        // A Vault answer that may be shared by fields: unreachable, refused, deleted.
        let shared = match &vault {
            Some(Answer::Unavailable(why)) => Some((ProblemKind::Unavailable, why.clone())),
            Some(Answer::Denied(why)) => Some((ProblemKind::Denied, why.clone())),
            Some(Answer::Deleted(why)) => Some((problem.kind, why.clone())),
            _ => None,
        };
        match (roots.first_mut(), vault, shared) {
            (Some(config), Some(Answer::NoSource), _) if problem.kind == ProblemKind::Missing => {
                config.blocked.push(problem);
            }
            (_, Some(answer), Some((kind, why))) => {
                let same = others.iter_mut().find(|o| {
                    o.field.is_none() && o.kind == kind && o.cause.as_ref() == Some(&answer)
                });
                match same {
                    Some(group) => group.blocked.push(problem),
                    None => {
                        let mut group = Problem::new(kind, why);
                        group.cause = Some(answer);
                        group.blocked.push(problem);
                        others.push(group);
                    }
                }
            }
            _ => others.push(problem),
        }
    }
    // A cause shared by one field only stays that field's own problem.
    for problem in others {
        if problem.field.is_none() && problem.cause.is_some() && problem.blocked.len() == 1 {
            roots.extend(problem.blocked);
        } else {
            roots.push(problem);
        }
    }
    roots
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        let by = if n == 1 { " by it" } else { " by them" };
        writeln!(
            f,
            "loading `{}` (profile `{}`) failed with {}:",
            self.type_name,
            self.profile,
            self.count(by)
        )?;
        for (i, problem) in self.problems.iter().enumerate() {
            write!(f, "{:>3}. {problem}", i + 1)?;
            if i + 1 < n {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// What kind of problem a [`Problem`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// No layer had a value for a required field.
    Missing,
    /// A value was found but does not parse into the field's type.
    Invalid,
    /// A value parsed, but a `validate` function refused it.
    Rejected,
    /// An env var carries the struct's prefix but matches no field.
    UnknownEnv,
    /// Vault denied a path the field needs.
    Denied,
    /// Vault could not be reached, was not ready, or answered something unreadable.
    Unavailable,
    /// The Vault client's own configuration (`VAULT_*` env vars or builder) is invalid.
    Config,
    /// A config file or `.env` file could not be read or parsed, or a required one is missing.
    File,
    /// A key of a config file matches no field.
    UnknownKey,
    /// A config file holds a value for a secret field: secrets belong in Vault, env or `.env`.
    SecretInFile,
    /// A warning of `check` and `explain`, never a load failure: a layer below the winner holds
    /// a value that would not parse the day it wins (a bad line in a file, shadowed by env).
    Shadowed,
}

impl ProblemKind {
    fn label(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Invalid => "invalid",
            ProblemKind::Rejected => "rejected",
            ProblemKind::UnknownEnv => "unknown env var",
            ProblemKind::Denied => "denied",
            ProblemKind::Shadowed => "shadowed value would not parse",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Config => "vault config",
            ProblemKind::File => "config file",
            ProblemKind::UnknownKey => "unknown file key",
            ProblemKind::SecretInFile => "secret in config file",
        }
    }
}

/// One problem of a load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// What went wrong.
    pub kind: ProblemKind,
    /// The field's dotted path, when the problem is about one field.
    pub field: Option<String>,
    /// The env var that sets the field (or the unknown env var).
    pub env: Option<String>,
    /// The field's key in config files (`db.pool_size`), when the load reads config files
    /// (or the unknown key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The field's Vault location, `mount/path#key`, when it has one.
    pub vault: Option<String>,
    /// What happened, without any value of a secret.
    pub message: String,
    /// What each source answered, highest layer first.
    pub sources: Vec<Attempt>,
    /// The fields this problem left without a value (a misconfigured or unreachable Vault,
    /// a refused login), each with its own names and answers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked: Vec<Problem>,
    /// The Vault answer shared by the blocked fields, for a problem that groups them.
    #[serde(skip)]
    cause: Option<Answer>,
}

impl Problem {
    /// A problem with the Vault client's configuration, naming the env var to fix.
    ///
    /// ```
    /// use vault_config_core::{Problem, ProblemKind};
    /// let p = Problem::config(Some("VAULT_SKIP_VERIFY"), "must be true or false");
    /// assert_eq!(p.kind, ProblemKind::Config);
    /// assert_eq!(p.to_string(), "vault config: must be true or false [env VAULT_SKIP_VERIFY]");
    /// ```
    pub fn config(env: Option<&str>, message: impl Into<String>) -> Self {
        let mut problem = Problem::new(ProblemKind::Config, message);
        problem.env = env.map(str::to_owned);
        problem
    }

    pub(crate) fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Problem {
            kind,
            field: None,
            env: None,
            file: None,
            vault: None,
            message: message.into(),
            sources: Vec::new(),
            blocked: Vec::new(),
            cause: None,
        }
    }

    /// What Vault answered for this field, when it was asked.
    fn vault_answer(&self) -> Option<&Answer> {
        self.sources
            .iter()
            .find(|a| a.source.starts_with("vault "))
            .map(|a| &a.answer)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.label())?;
        if let Some(field) = &self.field {
            write!(f, " `{field}`")?;
        }
        write!(f, ": {}", self.message)?;
        let mut names = Vec::new();
        if let Some(env) = &self.env {
            names.push(format!("env {env}"));
        }
        if let (Some(key), true) = (&self.file, self.field.is_some()) {
            names.push(format!("file key {key}"));
        }
        if let Some(vault) = &self.vault {
            names.push(format!("vault {vault}"));
        }
        if !names.is_empty() && (self.field.is_some() || self.kind == ProblemKind::Config) {
            write!(f, " [{}]", names.join(", "))?;
        }
        for attempt in &self.sources {
            write!(f, "\n       {attempt}")?;
        }
        for field in &self.blocked {
            write!(
                f,
                "\n       blocks `{}`",
                field.field.as_deref().unwrap_or("?")
            )?;
            let names: Vec<String> = [
                ("env", &field.env),
                ("file key", &field.file),
                ("vault", &field.vault),
            ]
            .into_iter()
            .filter_map(|(layer, name)| name.as_ref().map(|n| format!("{layer} {n}")))
            .collect();
            if !names.is_empty() {
                write!(f, " [{}]", names.join(", "))?;
            }
        }
        Ok(())
    }
}

/// What one source answered for a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attempt {
    /// The source and its name: `env APP_PORT`, `vault secret/app#port`, `default`.
    pub source: String,
    /// Its answer.
    pub answer: Answer,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.answer)
    }
}

/// A source's answer for one field. Never carries a value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", content = "detail", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Answer {
    /// The source had a value (and it won, unless a higher source also had one).
    Found,
    /// A higher layer had a value, so this one was not consulted.
    NotAsked,
    /// The env var is not set.
    NotSet,
    /// The env var is set but empty, which counts as unset for this field.
    Empty,
    /// The env var is set but not UTF-8.
    NotUnicode,
    /// The Vault path exists but has none of the keys tried.
    KeyAbsent {
        /// The keys tried, in order.
        tried: Vec<String>,
        /// A key the path holds that differs from one tried only in case or in `_`/`-`
        /// (`DATABASE_PASSWORD` for `database_password`): most likely the one meant.
        similar: Option<String>,
    },
    /// The Vault path does not exist.
    PathNotFound,
    /// The latest KV v2 version of the path was deleted or destroyed.
    Deleted(String),
    /// Vault denied the path.
    Denied(String),
    /// Vault could not be read.
    Unavailable(String),
    /// Vault failed and fallback mode let the field go on without it.
    Skipped(String),
    /// No Vault source is configured for this load.
    NoSource,
    /// The field has no default.
    NoDefault,
    /// The layer had a value that may not be used (a secret in a config file), and why.
    Refused(String),
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Found => f.write_str("found"),
            Answer::NotAsked => f.write_str("not asked (a higher layer had a value)"),
            Answer::NotSet => f.write_str("not set"),
            Answer::Empty => f.write_str("set but empty (counts as unset)"),
            Answer::NotUnicode => f.write_str("set but not valid UTF-8"),
            Answer::KeyAbsent { tried, similar } => {
                write!(f, "path exists but has no key {}", tried.join(" or "))?;
                match similar {
                    Some(key) => write!(
                        f,
                        "; it holds `{key}` (set `vault(key = \"{key}\")`, or `vault(keys = ..)` on the struct)"
                    ),
                    None => Ok(()),
                }
            }
            Answer::PathNotFound => f.write_str("path not found"),
            Answer::Deleted(why) => write!(f, "deleted ({why})"),
            // The source's message says "permission denied" and on what, once.
            Answer::Denied(why) => f.write_str(why),
            Answer::Unavailable(why) => write!(f, "unavailable ({why})"),
            Answer::Skipped(why) => write!(f, "skipped in fallback mode ({why})"),
            Answer::NoSource => f.write_str("no vault source configured"),
            Answer::NoDefault => f.write_str("none"),
            Answer::Refused(why) => write!(f, "refused ({why})"),
        }
    }
}
