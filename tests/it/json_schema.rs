//! The JSON Schema of a struct's config files, checked by a real validator (the `jsonschema`
//! crate, draft 2020-12): the example's checked-in files are valid, every mistake a user
//! makes in one is not, and what the schema says of each field.

use serde_json::{Value, json};
use vault_config::VaultConfig;

#[allow(
    dead_code,
    reason = "the example's `main` is not run here; its struct is"
)]
#[path = "../../examples/all_layers.rs"]
mod all_layers;

use all_layers::Settings;

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).expect("a valid draft 2020-12 schema")
}

/// A TOML file as JSON, parsed as the file layer parses it (figment's TOML).
fn toml(text: &str) -> Value {
    use figment::providers::{Format, Toml};
    let table: figment::value::Dict = figment::Figment::from(Toml::string(text))
        .extract()
        .expect("TOML");
    serde_json::to_value(table).unwrap()
}

#[test]
fn the_examples_config_files_are_valid_against_its_schema() {
    let schema = Settings::schema().json_schema();
    let validator = validator(&schema);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/layered/config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let file = toml(&text);
        let errors: Vec<String> = validator
            .iter_errors(&file)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 2, "default.toml and production.toml");
    // The file template, uncommented, is valid too.
    let template: String = Settings::schema()
        .file_template()
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(kv) if kv.contains(" = ") => kv,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(validator.is_valid(&toml(&template)), "{template}");
}

#[test]
fn every_kind_of_mistake_in_a_file_is_refused() {
    let validator = validator(&Settings::schema().json_schema());
    for (text, what) in [
        ("prot = 1\n", "an unknown key"),
        ("port = 70000\n", "a port out of range"),
        ("port = \"high\"\n", "text for a number"),
        ("hosts = \"a\"\n", "a string for a list"),
        ("hosts = [1]\n", "a number in a list of strings"),
        ("api_key = \"x\"\n", "a secret"),
        ("[db]\npool = 1\n", "an unknown nested key"),
        ("db = 1\n", "a number for a table"),
    ] {
        assert!(!validator.is_valid(&toml(text)), "{what}: {text}");
    }
    // YAML and JSON files are checked the same way.
    let yaml: Value = serde_norway::from_str("port: 9000\ndb:\n  pool_size: 2\n").unwrap();
    assert!(validator.is_valid(&yaml));
    let yaml: Value = serde_norway::from_str("port: [1]\n").unwrap();
    assert!(!validator.is_valid(&yaml));
    assert!(validator.is_valid(&json!({"workers": 3, "hosts": ["h"]})));
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code, reason = "only its shape is read")]
enum Level {
    Debug,
    Info,
}

#[derive(Debug, VaultConfig)]
#[config(env_prefix = "K_", allow_unknown)]
#[allow(dead_code, reason = "only its schema is read")]
struct Kinds {
    /// How much to log.
    #[config(default = "info")]
    level: Level,
    /// How long a request may take.
    #[config(default = "30s")]
    timeout: std::time::Duration,
    #[config(default)]
    labels: std::collections::BTreeMap<String, String>,
    retries: Option<u8>,
    #[config(lease = "database/creds/app")]
    db: Option<std::collections::BTreeMap<String, String>>,
    #[config(secret)]
    token: Option<vault_config::SecretString>,
}

#[test]
fn types_defaults_descriptions_enums_and_what_is_left_out() {
    let schema = Kinds::schema().json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], true, "allow_unknown");
    let p = &schema["properties"];
    assert_eq!(
        p["level"],
        json!({"enum": ["debug", "info"], "default": "info", "description": "How much to log."})
    );
    assert_eq!(p["timeout"]["type"], json!(["string", "number"]));
    assert_eq!(p["timeout"]["default"], "30s");
    assert_eq!(
        p["labels"]["additionalProperties"],
        json!({"type": "string"})
    );
    assert_eq!(
        p["retries"],
        json!({"type": "integer", "minimum": 0, "maximum": 255})
    );
    assert!(
        p.get("db").is_none(),
        "a leased field is read from Vault only"
    );
    assert!(p.get("token").is_none(), "a secret is never in a file");
    let validator = validator(&schema);
    assert!(validator.is_valid(&json!({"level": "debug", "timeout": "1m", "other": 1})));
    assert!(!validator.is_valid(&json!({"level": "loud"})));
}
