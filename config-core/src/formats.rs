//! The one seam between the file layer and the parsers: TOML and JSON through figment's
//! providers, YAML through `serde_norway` (figment's own YAML is the deprecated `serde_yaml`),
//! and a figment chain given in code. Everything past this module sees JSON tables; moving to
//! figment2 or to other parsers touches this file only.
//!
//! Error messages keep their position and never quote the file: a line of a config file may
//! hold a secret written there by mistake.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format as _, Json, Toml};
use figment::value::Dict;
use serde_json::Value;

/// A config file's top-level table, as JSON.
pub(crate) type Table = serde_json::Map<String, Value>;

/// A config file's format, by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format of `path` by its extension: `.toml`, `.yaml` or `.yml`, `.json`.
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Some(Format::Toml),
            Some("yaml" | "yml") => Some(Format::Yaml),
            Some("json") => Some(Format::Json),
            _ => None,
        }
    }

    /// The text's top-level table; why not, with the position and without the text.
    pub fn parse(self, text: &str) -> Result<Table, String> {
        match self {
            Format::Toml => extract(&Figment::from(Toml::string(text))),
            Format::Json => extract(&Figment::from(Json::string(text))),
            Format::Yaml => yaml(text),
        }
    }
}

/// A YAML document as a table: merge keys (`<<: *base`) applied; anything but a mapping at
/// the top is described by its kind.
fn yaml(text: &str) -> Result<Table, String> {
    let mut value: serde_norway::Value = match serde_norway::from_str(text) {
        Ok(value) => value,
        Err(e) => return Err(yaml_error(&e)),
    };
    value
        .apply_merge()
        .map_err(|e| format!("cannot be parsed: {}", yaml_error(&e)))?;
    let kind = match &value {
        serde_norway::Value::Mapping(_) => None,
        // An empty document is an empty table, as in TOML.
        serde_norway::Value::Null => return Ok(Table::new()),
        serde_norway::Value::Bool(_) => Some("a boolean"),
        serde_norway::Value::Number(_) => Some("a number"),
        serde_norway::Value::String(_) => Some("a string"),
        serde_norway::Value::Sequence(_) => Some("a list"),
        serde_norway::Value::Tagged(_) => Some("a tagged value"),
    };
    if let Some(kind) = kind {
        return Err(format!("holds {kind}, expected a map of settings"));
    }
    match serde_json::to_value(&value) {
        Ok(Value::Object(table)) => Ok(table),
        _ => Err("holds keys that are not text (a list or a map used as a key)".to_owned()),
    }
}

/// A YAML error: libyaml's problem and its position, never the document's text.
fn yaml_error(e: &serde_norway::Error) -> String {
    let message = without_value(&e.to_string());
    let first = message.lines().next().unwrap_or("cannot be parsed").trim();
    match e.location() {
        Some(at) if !first.contains(" at line ") => {
            format!("{first} at line {} column {}", at.line(), at.column())
        }
        _ => first.to_owned(),
    }
}

fn extract(figment: &Figment) -> Result<Table, String> {
    let dict = figment.extract::<Dict>().map_err(|e| first_line(&e))?;
    match serde_json::to_value(&dict) {
        Ok(Value::Object(table)) => Ok(table),
        _ => Err("cannot be represented as a table".to_owned()),
    }
}

/// A figment chain given in code (`Loader::figment`): read as one more config file.
#[derive(Clone, Debug)]
pub(crate) struct Chain(Box<Figment>);

impl Chain {
    pub fn new(figment: Figment) -> Chain {
        Chain(Box::new(figment))
    }

    /// Its first provider's name, as explain shows it.
    pub fn name(&self) -> String {
        self.0
            .metadata()
            .next()
            .map_or_else(|| "figment".to_owned(), |m| m.name.to_string())
    }

    /// Every value of the chain, its own profile selection applied.
    pub fn extract(&self) -> Result<Table, String> {
        extract(&self.0)
    }

    /// The source (a file, an env var) of the chain's value at a dotted path.
    pub fn source_of(&self, key: &str) -> Option<String> {
        self.0.find_metadata(key).map(|m| match &m.source {
            Some(src) => src.to_string(),
            None => m.name.to_string(),
        })
    }
}

/// A parse error's first line, with the position (TOML, YAML and JSON all give one), never
/// the excerpt of the file that TOML's message adds below it (a line that may hold a secret),
/// and for a value of the wrong type (a JSON or YAML file that is one plain value) its type,
/// never the value.
fn first_line(error: &figment::Error) -> String {
    use figment::error::{Actual, Kind};
    if let Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) = &error.kind
    {
        let found = match actual {
            Actual::Bool(_) => "a boolean",
            Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
            Actual::Char(_) | Actual::Str(_) | Actual::Other(_) => "a string",
            Actual::Bytes(_) => "bytes",
            Actual::Unit | Actual::Option => "nothing",
            Actual::Seq => "a list",
            Actual::Map => "a table",
            _ => "a value of another type",
        };
        return format!("holds {found}, expected {expected}");
    }
    let text = without_value(&error.kind.to_string());
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let reason = lines
        .iter()
        .skip(1)
        .rev()
        .find(|l| !l.is_empty() && !l.contains('|') && !l.starts_with('^'));
    match (lines.first(), reason) {
        (Some(first), Some(reason)) => format!("{first}: {reason}"),
        (Some(first), None) => (*first).to_owned(),
        (None, _) => "cannot be parsed".to_owned(),
    }
}

/// serde's `invalid type: string "…", expected …` (as serde_json words a JSON file that is one
/// plain value) without the value: `invalid type: string, expected …`.
fn without_value(message: &str) -> String {
    let Some(rest) = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|p| message.strip_prefix(p))
    else {
        return message.to_owned();
    };
    let (Some(quote), Some(expected)) = (rest.find(['"', '`']), rest.rfind(", expected")) else {
        return message.to_owned();
    };
    if quote > expected {
        return message.to_owned();
    }
    let head = &message[..message.len() - rest.len()];
    format!("{head}{}{}", rest[..quote].trim_end(), &rest[expected..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_error_keeps_its_position_and_drops_the_quoted_line() {
        let err = Figment::from(Toml::string("password = \"hunter2\nport = 1"))
            .extract::<Dict>()
            .unwrap_err();
        let shown = first_line(&err);
        assert!(shown.contains("line 1"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_file_that_is_one_plain_value_is_described_not_quoted() {
        for (text, found) in [
            (r#""canary-secret""#, "string"),
            ("42", "integer"),
            (r#"["canary-secret"]"#, "sequence"),
            (r#""with, expected \" inside""#, "string"),
        ] {
            let err = Figment::from(Json::string(text))
                .extract::<Dict>()
                .unwrap_err();
            let shown = first_line(&err);
            assert!(
                !shown.contains("canary") && !shown.contains("42"),
                "{shown}"
            );
            assert!(shown.contains(found) && shown.contains("map"), "{shown}");
            assert!(shown.contains("line 1"), "{shown}");
        }
        for (text, found) in [
            ("canary-secret\n", "a string"),
            ("- canary-secret\n", "a list"),
            ("!tag canary-secret\n", "a tagged value"),
        ] {
            let shown = Format::Yaml.parse(text).unwrap_err();
            assert!(
                !shown.contains("canary") && shown.contains(found),
                "{shown}"
            );
        }
    }

    #[test]
    fn yaml_errors_give_the_position_and_never_the_text() {
        for text in [
            "a: 1\n  b: canary-secret\n",
            "password: \"canary-secret\n",
            "a: [canary-secret\n",
            "? [canary-secret]\n: 1\n",
        ] {
            let shown = Format::Yaml.parse(text).unwrap_err();
            assert!(!shown.contains("canary"), "{shown}");
            assert!(shown.contains("line") || shown.contains("keys"), "{shown}");
        }
    }

    #[test]
    fn yaml_merge_keys_and_empty_documents() {
        let table = Format::Yaml
            .parse("base: &base\n  port: 1\nserver:\n  <<: *base\n  host: h\n")
            .unwrap();
        assert_eq!(table["server"]["port"], 1);
        assert!(Format::Yaml.parse("").unwrap().is_empty());
    }
}
