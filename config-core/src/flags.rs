//! The flag layer: command-line flags above every other layer, one per non-secret field
//! (`db.pool_size` is `--db-pool-size`), their `--help` built from the schema at run time
//! (the `clap` feature). A secret is never taken from a flag: the command line shows in `ps`
//! and in shell history.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use crate::NotUnicode;
use crate::error::Problem;

/// The flags of one command line, by field path, and what was wrong with it.
#[derive(Clone, Default)]
pub(crate) struct FlagValues {
    values: BTreeMap<String, Result<Zeroizing<String>, NotUnicode>>,
    pub problems: Vec<Problem>,
}

impl FlagValues {
    /// The value given for the field at `path`, if any.
    pub fn value(&self, path: &str) -> Option<Result<&str, NotUnicode>> {
        self.values
            .get(path)
            .map(|v| v.as_ref().map(|s| s.as_str()).map_err(|e| *e))
    }
}

/// The flag of the field at `path`, without its dashes: dots and underscores become dashes
/// (`db.pool_size` is `db-pool-size`).
///
/// ```
/// assert_eq!(vault_config_core::flag_name("db.pool_size"), "db-pool-size");
/// assert_eq!(vault_config_core::flag_name("r#type"), "type");
/// ```
pub fn flag_name(path: &str) -> String {
    path.replace("r#", "").replace(['.', '_'], "-")
}

#[cfg(feature = "clap")]
pub(crate) use with_clap::{augment, from_matches, parse};

#[cfg(feature = "clap")]
mod with_clap {
    use std::ffi::OsString;

    use clap::builder::{OsStringValueParser, TypedValueParser};
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::{Arg, ArgAction, ArgMatches, Command};
    use zeroize::Zeroizing;

    use super::{FlagValues, flag_name};
    use crate::error::{Problem, ProblemKind};
    use crate::schema::{FieldSchema, Schema};

    /// Flags clap keeps for itself.
    const RESERVED: [&str; 2] = ["help", "version"];

    /// The id of a field's argument: its dotted path, kept apart from the app's own ids.
    fn id(field: &FieldSchema) -> String {
        format!("vault-config:{}", field.path)
    }

    fn is_bool(field: &FieldSchema) -> bool {
        field.type_schema()["type"] == "boolean"
    }

    /// The variant names of an enum field, for `--help` and shell completion.
    fn variants(field: &FieldSchema) -> Option<Vec<String>> {
        let shape = field.type_schema();
        let names = shape["enum"].as_array()?;
        Some(
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect(),
        )
    }

    /// `command` with one flag per non-secret field (help from its doc text, env var and
    /// default), and a hidden one per secret, which only says to use the env var.
    pub(crate) fn augment(mut command: Command, schema: &Schema) -> Command {
        for field in schema.fields.iter().filter(|f| !f.vault_only()) {
            let name = flag_name(&field.path);
            if RESERVED.contains(&name.as_str()) {
                continue;
            }
            let arg = Arg::new(id(field))
                .long(name)
                .action(ArgAction::Set)
                .allow_hyphen_values(true);
            let arg = if field.secret {
                // Taken so that its value is never read as another argument (nor quoted in an
                // error); dropped at once.
                arg.hide(true)
                    .num_args(0..=1)
                    .value_parser(OsStringValueParser::new().map(|_| ()))
            } else {
                let arg = arg
                    .value_parser(OsStringValueParser::new())
                    .value_name(value_name(field))
                    .help(help(field));
                // Shown, not enforced: the value is parsed like env (any case), and a wrong
                // one is a problem of the load.
                let arg = match variants(field) {
                    Some(names) => arg.help(format!(
                        "{} [possible values: {}]",
                        help(field),
                        names.join(", ")
                    )),
                    None => arg,
                };
                if is_bool(field) {
                    arg.num_args(0..=1)
                        .require_equals(true)
                        .default_missing_value("true")
                } else {
                    arg
                }
            };
            command = command.arg(arg);
        }
        command
    }

    /// `<U16>`, `<LEVEL>`, `<DURATION>`; a list `<A,B,..>` (or JSON), a table `<JSON>`.
    fn value_name(field: &FieldSchema) -> String {
        match field.type_schema()["type"].as_str() {
            Some("array") => return "A,B,..".to_owned(),
            Some("object") => return "JSON".to_owned(),
            _ => {}
        }
        let ty = field.type_name.replace(' ', "");
        let inner = ty
            .strip_prefix("Option<")
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(&ty);
        let name = inner.rsplit("::").next().unwrap_or(inner);
        name.split('<').next().unwrap_or(name).to_ascii_uppercase()
    }

    fn help(field: &FieldSchema) -> String {
        let mut text = field.doc.lines().next().unwrap_or("").trim().to_owned();
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("[env: {}]", field.env));
        match crate::defaults::json(field) {
            Some(serde_json::Value::String(text_default)) => {
                text.push_str(&format!(" [default: {text_default}]"))
            }
            Some(default) => text.push_str(&format!(" [default: {default}]")),
            None => {}
        }
        text
    }

    /// The flag values of `matches` (from a command [`augment`] built), and a problem per
    /// secret given as a flag.
    pub(crate) fn from_matches(matches: &ArgMatches, schema: &Schema) -> FlagValues {
        let mut flags = FlagValues::default();
        for field in &schema.fields {
            let id = id(field);
            // `try_`: a field added to the command after it was built is simply not there.
            let given = matches.try_contains_id(&id).unwrap_or(false)
                && matches.value_source(&id) == Some(clap::parser::ValueSource::CommandLine);
            if !given {
                continue;
            }
            if field.secret {
                let name = flag_name(&field.path);
                let mut problem = Problem::new(
                    ProblemKind::Invalid,
                    format!(
                        "`--{name}` is a secret, which is never taken from a flag (the command line shows in `ps` and in shell history): set {} or put it in Vault or a secrets dir (the value was not used, nor shown)",
                        field.env
                    ),
                );
                problem.field = Some(field.path.clone());
                problem.env = Some(field.env.clone());
                flags.problems.push(problem);
                continue;
            }
            if let Ok(Some(value)) = matches.try_get_one::<OsString>(&id) {
                let value = match value.to_str() {
                    Some(text) => Ok(Zeroizing::new(text.to_owned())),
                    None => Err(crate::NotUnicode),
                };
                flags.values.insert(field.path.clone(), value);
            }
        }
        flags
    }

    /// Parses `args` (the program's name first) against the schema's command. `--help`
    /// prints the help and exits, as every clap program does; any other mistake is a problem
    /// of the load, naming the flag and never a value.
    pub(crate) fn parse<I, A>(args: I, schema: &Schema) -> FlagValues
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString> + Clone,
    {
        let command = augment(crate::flags::base_command(schema), schema);
        match command.clone().try_get_matches_from(args) {
            Ok(matches) => from_matches(&matches, schema),
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                e.exit()
            }
            Err(e) => FlagValues {
                problems: vec![Problem::new(ProblemKind::Invalid, describe(&e, &command))],
                ..FlagValues::default()
            },
        }
    }

    /// A clap error in words that name flags only: an unknown flag with the closest known one,
    /// a flag without its value; never an argument's value.
    fn describe(e: &clap::Error, command: &Command) -> String {
        let arg = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(arg)) => Some(arg.clone()),
            _ => None,
        };
        match (e.kind(), arg) {
            (ErrorKind::UnknownArgument, Some(arg)) if arg.starts_with("--") => {
                let flag = arg.split('=').next().unwrap_or(&arg);
                let known = command
                    .get_arguments()
                    .filter(|a| !a.is_hide_set())
                    .filter_map(|a| a.get_long())
                    .map(|l| format!("--{l}"))
                    .collect::<Vec<_>>();
                match crate::nearest_name(flag, known.iter().map(String::as_str)) {
                    Some(near) => format!("unknown flag `{flag}`; did you mean `{near}`?"),
                    None => format!("unknown flag `{flag}`; see --help"),
                }
            }
            (ErrorKind::UnknownArgument, _) => {
                "an unexpected argument on the command line (not shown); see --help".to_owned()
            }
            (_, Some(arg)) if arg.starts_with('-') => {
                let flag = arg.split([' ', '=']).next().unwrap_or(&arg);
                format!(
                    "flag `{flag}` cannot be used as given ({}); see --help",
                    kind_words(e.kind())
                )
            }
            (kind, _) => format!("the command line cannot be used: {}", kind_words(kind)),
        }
    }

    fn kind_words(kind: ErrorKind) -> &'static str {
        match kind {
            ErrorKind::InvalidValue | ErrorKind::ValueValidation => "an invalid value",
            ErrorKind::NoEquals => "write it as --flag=VALUE",
            ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues => "a wrong number of values",
            ErrorKind::TooFewValues => "its value is missing",
            ErrorKind::ArgumentConflict => "it was given twice or conflicts with another",
            ErrorKind::InvalidUtf8 => "not valid UTF-8",
            _ => "not understood",
        }
    }
}

/// The command the schema's flags are added to when the app has none of its own.
#[cfg(feature = "clap")]
pub(crate) fn base_command(schema: &crate::schema::Schema) -> clap::Command {
    clap::Command::new(schema.type_name)
        .about(format!(
            "Settings of `{}`: each flag overrides its env var, which overrides the other layers.",
            schema.type_name
        ))
        .no_binary_name(false)
}
