//! Turning one raw value (an env string or a Vault JSON value) into a field's type.
//!
//! Strings parse into whatever the type asks for: numbers, `true`/`false` (also `1`/`0`,
//! `yes`/`no`, `on`/`off`), unit enum variants by name (ignoring ASCII case where that is
//! unambiguous), `std::time::Duration` by the human grammar of [`crate::duration`], JSON where
//! the type wants a list or a table, or a comma-separated list. Error messages never repeat the input, because the input
//! may be a secret: the loader decides what to show.

use std::fmt;

use serde::Deserializer;
use serde::de::value::{SeqDeserializer, StrDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::Value;

/// A parse failure of one value; the message never contains the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError(pub(crate) String);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError(msg.to_string())
    }

    // serde's defaults quote the offending value; these say what was expected instead.
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError(format!("invalid type: {}, expected {exp}", kind_of(&unexp)))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError(format!(
            "invalid value: {}, expected {exp}",
            kind_of(&unexp)
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        DeError(format!(
            "unknown variant, expected one of {}",
            quoted(expected)
        ))
    }

    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        DeError(format!(
            "unknown field, expected one of {}",
            quoted(expected)
        ))
    }
}

impl DeError {
    fn json(err: serde_json::Error) -> Self {
        // serde_json reports position and category, never the input, except through the
        // `Unexpected` values that its own `invalid_type` quotes: keep only the category.
        let msg = match err.classify() {
            serde_json::error::Category::Data => "value does not match the expected type",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            serde_json::error::Category::Io => "could not be read",
        };
        DeError(msg.to_owned())
    }
}

fn kind_of(unexp: &de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match unexp {
        U::Bool(_) => "boolean",
        U::Unsigned(_) | U::Signed(_) => "integer",
        U::Float(_) => "floating point number",
        U::Char(_) => "character",
        U::Str(_) => "string",
        U::Bytes(_) => "bytes",
        U::Unit => "unit value",
        U::Option => "optional value",
        U::NewtypeStruct => "newtype struct",
        U::Seq => "sequence",
        U::Map => "map",
        U::Enum => "enum",
        U::UnitVariant => "unit variant",
        U::NewtypeVariant => "newtype variant",
        U::TupleVariant => "tuple variant",
        U::StructVariant => "struct variant",
        U::Other(_) => "value",
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses an env-style string into `T`.
///
/// ```
/// use vault_config_core::de::from_str;
/// assert_eq!(from_str::<u16>("8080").unwrap(), 8080);
/// assert_eq!(from_str::<bool>("yes").unwrap(), true);
/// assert_eq!(from_str::<Vec<u8>>("[1, 2]").unwrap(), [1, 2]);
/// assert_eq!(from_str::<Vec<String>>("a, b").unwrap(), ["a", "b"]);
/// assert!(from_str::<u8>("300").is_err());
/// ```
pub fn from_str<'a, T: serde::Deserialize<'a>>(raw: &'a str) -> Result<T, DeError> {
    T::deserialize(StrDe(raw))
}

/// Parses a Vault JSON value into `T`: strings and scalars as in [`from_str`], lists and tables
/// as JSON.
///
/// ```
/// use vault_config_core::de::from_json;
/// assert_eq!(from_json::<u16>(&serde_json::json!(8080)).unwrap(), 8080);
/// assert_eq!(from_json::<u16>(&serde_json::json!("8080")).unwrap(), 8080);
/// assert_eq!(from_json::<String>(&serde_json::json!(true)).unwrap(), "true");
/// ```
pub fn from_json<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, DeError> {
    match value {
        Value::String(s) => from_str(s),
        Value::Bool(b) => from_str(if *b { "true" } else { "false" }),
        Value::Number(n) => from_str(&n.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => {
            T::deserialize(value).map_err(DeError::json)
        }
    }
}

/// A deserializer that only says "absent": `Option<T>` becomes `None`, anything else fails.
pub(crate) struct Absent;

impl<'de> Deserializer<'de> for Absent {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError("no value".into()))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct StrDe<'a>(&'a str);

impl<'a> StrDe<'a> {
    fn looks_like_json(&self) -> bool {
        matches!(self.0.trim_start().as_bytes().first(), Some(b'[' | b'{'))
    }

    fn json(&self) -> Result<Value, DeError> {
        serde_json::from_str(self.0).map_err(DeError::json)
    }

    fn number<T: std::str::FromStr>(&self) -> Result<T, DeError>
    where
        T::Err: fmt::Display,
    {
        self.0
            .trim()
            .parse()
            .map_err(|e: T::Err| DeError(e.to_string()))
    }
}

fn parse_bool(raw: &str) -> Result<bool, DeError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(DeError(
            "expected a boolean (true/false, 1/0, yes/no, on/off)".into(),
        )),
    }
}

macro_rules! numbers {
    ($($method:ident => $visit:ident: $ty:ty,)*) => {$(
        fn $method<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
            visitor.$visit(self.number::<$ty>()?)
        }
    )*};
}

impl<'a> Deserializer<'a> for StrDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.looks_like_json() {
            if let Ok(value) = self.json() {
                return value.deserialize_any(visitor).map_err(DeError::json);
            }
        }
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_bool(parse_bool(self.0)?)
    }

    numbers! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
        deserialize_f32 => visit_f32: f32,
        deserialize_f64 => visit_f64: f64,
    }

    fn deserialize_char<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut chars = self.0.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(DeError("expected a single character".into())),
        }
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.0.as_bytes())
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_bytes(self.0.as_bytes())
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.0.trim().is_empty() {
            visitor.visit_unit()
        } else {
            Err(DeError("expected an empty value".into()))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.looks_like_json() {
            return self.json()?.deserialize_seq(visitor).map_err(DeError::json);
        }
        let items = self
            .0
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(StrDe);
        let mut seq = SeqDeserializer::new(items);
        let value = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.json()?.deserialize_map(visitor).map_err(DeError::json)
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == "Duration" && fields == ["secs", "nanos"] && !self.looks_like_json() {
            // `std::time::Duration`: the human grammar (`30s`, `1m30s`, a bare number of
            // seconds), fed to its visitor as the `{secs, nanos}` it serializes to.
            let d = crate::duration::parse(self.0)
                .ok_or_else(|| DeError(format!("expected {}", crate::duration::EXPECTED)))?;
            let parts = [
                ("secs", d.as_secs()),
                ("nanos", u64::from(d.subsec_nanos())),
            ];
            return visitor.visit_map(de::value::MapDeserializer::new(parts.into_iter()));
        }
        self.json()?
            .deserialize_struct(name, fields, visitor)
            .map_err(DeError::json)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if self.looks_like_json() {
            return self
                .json()?
                .deserialize_enum(name, variants, visitor)
                .map_err(DeError::json);
        }
        // A variant by its name, else by the one name equal to it ignoring ASCII case
        // (`DEBUG` for `Debug`); two such names (`Debug` and `DEBUG`) leave it to the exact one.
        let raw = self.0.trim();
        let mut folded = variants.iter().filter(|v| v.eq_ignore_ascii_case(raw));
        let name = match (folded.next(), folded.next()) {
            (Some(only), None) if !variants.contains(&raw) => only,
            _ => raw,
        };
        let variant: StrDeserializer<'_, DeError> = name.into_deserializer();
        visitor.visit_enum(variant)
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl<'a> IntoDeserializer<'a, DeError> for StrDe<'a> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Info,
        Debug,
    }

    #[test]
    fn scalars_parse_from_strings() {
        assert_eq!(from_str::<i64>(" -5 ").unwrap(), -5);
        assert_eq!(from_str::<f64>("1.5").unwrap(), 1.5);
        assert_eq!(from_str::<char>("x").unwrap(), 'x');
        assert!(!from_str::<bool>("OFF").unwrap());
        assert_eq!(from_str::<Level>("debug").unwrap(), Level::Debug);
        assert_eq!(from_str::<Option<u8>>("7").unwrap(), Some(7));
        assert_eq!(from_str::<String>(" spaced ").unwrap(), " spaced ");
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    enum Mode {
        Fast,
        Safe,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[allow(
        clippy::upper_case_acronyms,
        reason = "two variants equal but for case"
    )]
    enum Tricky {
        Debug,
        DEBUG,
    }

    #[test]
    fn enum_variants_match_ignoring_case_where_unambiguous() {
        assert_eq!(from_str::<Mode>("FAST").unwrap(), Mode::Fast);
        assert_eq!(from_str::<Mode>(" safe ").unwrap(), Mode::Safe);
        assert_eq!(from_str::<Level>("DEBUG").unwrap(), Level::Debug);
        assert_eq!(
            from_json::<Mode>(&serde_json::json!("fast")).unwrap(),
            Mode::Fast
        );
        // Two variants fold to `debug`: only exact names match.
        assert_eq!(from_str::<Tricky>("DEBUG").unwrap(), Tricky::DEBUG);
        assert_eq!(from_str::<Tricky>("Debug").unwrap(), Tricky::Debug);
        assert!(from_str::<Tricky>("debug").is_err());
        assert!(from_str::<Mode>("quick").is_err());
    }

    #[test]
    fn tables_and_lists_parse_from_json() {
        let map: BTreeMap<String, u32> = from_str(r#"{"a": 1, "b": 2}"#).unwrap();
        assert_eq!(map["b"], 2);
        assert_eq!(
            from_str::<Vec<Level>>(r#"["info"]"#).unwrap(),
            [Level::Info]
        );
        assert_eq!(from_str::<(u8, bool)>("1, true").unwrap(), (1, true));
        assert_eq!(from_str::<Vec<u8>>("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn errors_never_repeat_the_input() {
        let canary = "canary-7f3a";
        let errors = [
            from_str::<u16>(canary).unwrap_err(),
            from_str::<bool>(canary).unwrap_err(),
            from_str::<Level>(canary).unwrap_err(),
            from_str::<BTreeMap<String, u8>>(canary).unwrap_err(),
            from_str::<BTreeMap<String, u8>>(&format!(r#"{{"k": "{canary}"}}"#)).unwrap_err(),
            from_str::<Vec<u8>>(&format!("1,{canary}")).unwrap_err(),
            from_json::<u8>(&serde_json::json!([canary])).unwrap_err(),
            from_str::<char>(canary).unwrap_err(),
        ];
        for e in errors {
            assert!(!e.to_string().contains(canary), "{e}");
        }
    }

    #[test]
    fn absent_is_none_for_options_only() {
        assert_eq!(Option::<u8>::deserialize(Absent).unwrap(), None);
        assert!(u8::deserialize(Absent).is_err());
    }

    use serde::Deserialize;
}
