//! A field's default as a config file holds it (TOML text) and as JSON, where the default is
//! a literal: for the file template, the JSON Schema and `--help`.

use crate::schema::FieldSchema;

/// A field's default as a JSON value, where it is a literal (`8080`, `"info"`, `Default` of
/// a number, text or collection); `None` for an expression.
pub(crate) fn json(field: &FieldSchema) -> Option<serde_json::Value> {
    let text = toml(field.type_name, field.default?, field.default_is_text)?;
    serde_json::from_str(&text).ok()
}

/// A default as written in the source, as a TOML value when it is one: numbers and booleans
/// as they are, text for string fields quoted; `None` for an expression.
pub(crate) fn toml(type_name: &str, default: &str, is_text: bool) -> Option<String> {
    let ty = type_name.replace(' ', "");
    let stringy = [
        "String",
        "&str",
        "PathBuf",
        "Option<String>",
        "Option<PathBuf>",
    ]
    .contains(&ty.as_str());
    if default == "Default::default()" {
        let collection = |names: &[&str]| names.iter().any(|n| ty.starts_with(n));
        return match ty.as_str() {
            _ if stringy => Some("\"\"".to_owned()),
            "bool" => Some("false".to_owned()),
            _ if collection(&["Vec<", "HashSet<", "BTreeSet<"]) => Some("[]".to_owned()),
            _ if collection(&["HashMap<", "BTreeMap<"]) => Some("{}".to_owned()),
            _ if [
                "u8", "u16", "u32", "u64", "usize", "i8", "i16", "i32", "i64", "isize",
            ]
            .contains(&ty.as_str()) =>
            {
                Some("0".to_owned())
            }
            _ => None,
        };
    }
    if stringy {
        return Some(format!("{default:?}"));
    }
    let number = default.parse::<i64>().is_ok()
        || (default.parse::<f64>().is_ok_and(f64::is_finite) && default.contains('.'));
    if number || default == "true" || default == "false" {
        return Some(default.to_owned());
    }
    // Text parsed like env (`default = "30s"` for a Duration, `"info"` for an enum): a file
    // holds the same text as a string.
    is_text.then(|| format!("{default:?}"))
}
