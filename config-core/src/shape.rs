//! What a field's type looks like in a config file, as a JSON Schema fragment, found by asking
//! the type's own `Deserialize` what it wants: a probe deserializer answers every request
//! with an "error" that carries the shape asked for (`u16` is an integer of 0..=65535, a unit
//! enum is one of its variant names, `Vec<T>` an array of `T`'s shape). No trait to
//! implement, no derive on the user's types; a type that asks for "anything" is `{}`.

use std::fmt;

use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, Visitor};
use serde_json::{Value, json};

/// The JSON Schema of `T` in a config file; `{}` when its `Deserialize` takes anything.
///
/// ```
/// use serde_json::json;
/// use vault_config_core::__private::shape_of;
/// assert_eq!(shape_of::<u8>(), json!({"type": "integer", "minimum": 0, "maximum": 255}));
/// assert_eq!(shape_of::<Option<Vec<bool>>>(), json!({"type": "array", "items": {"type": "boolean"}}));
/// ```
pub fn shape_of<T: DeserializeOwned>() -> Value {
    match T::deserialize(Probe) {
        Err(Found(Some(shape))) => shape,
        // A type that accepted the probe's silence, or failed for its own reason.
        _ => json!({}),
    }
}

/// How the derive names a field type's shape without a bound of its own: `shape_of::<T>` where
/// `T: Deserialize`, else `{}` (autoref specialization), so that a field type without
/// `Deserialize` gets one error, the build's, which says what to add.
///
/// ```
/// use vault_config_core::__private::{ShapeAny, ShapeOf, ShapeVia};
/// struct Opaque;
/// assert_eq!((&ShapeOf::<u8>::new()).shape()()["type"], "integer");
/// assert_eq!((&ShapeOf::<Opaque>::new()).shape()(), serde_json::json!({}));
/// ```
pub struct ShapeOf<T>(PhantomData<fn() -> T>);

impl<T> ShapeOf<T> {
    /// The marker of `T`.
    pub fn new() -> Self {
        ShapeOf(PhantomData)
    }
}

impl<T> Default for ShapeOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `T: Deserialize`: the probe's answer.
pub trait ShapeVia {
    /// The shape function.
    fn shape(&self) -> fn() -> Value;
}

impl<T: DeserializeOwned> ShapeVia for ShapeOf<T> {
    fn shape(&self) -> fn() -> Value {
        shape_of::<T>
    }
}

/// Any other type: `{}` (the build reports the missing `Deserialize`).
pub trait ShapeAny {
    /// The shape function.
    fn shape(&self) -> fn() -> Value;
}

impl<T> ShapeAny for &ShapeOf<T> {
    fn shape(&self) -> fn() -> Value {
        || serde_json::json!({})
    }
}

/// The probe's "error": the shape asked for, or `None` when the type failed for its own
/// reason.
#[derive(Debug)]
struct Found(Option<Value>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shape probe")
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Found(None)
    }
}

fn found<V>(shape: Value) -> Result<V, Found> {
    Err(Found(Some(shape)))
}

fn integer<V>(min: i128, max: u128) -> Result<V, Found> {
    // Beyond what JSON numbers carry exactly, no bound is written.
    let mut shape = json!({"type": "integer"});
    if let Ok(min) = i64::try_from(min) {
        shape["minimum"] = json!(min);
    }
    if let Ok(max) = u64::try_from(max) {
        shape["maximum"] = json!(max);
    }
    found(shape)
}

/// The shape found by probing one element (an item, a map's value), when it was found.
fn inner<V>(result: Result<V, Found>) -> Option<Value> {
    match result {
        Err(Found(Some(shape))) => Some(shape),
        _ => None,
    }
}

struct Probe;

impl<'de> Deserializer<'de> for Probe {
    type Error = Found;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({}))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "boolean"}))
    }
    fn deserialize_i8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(i8::MIN.into(), i8::MAX as u128)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(i16::MIN.into(), i16::MAX as u128)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(i32::MIN.into(), i32::MAX as u128)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(i64::MIN.into(), i64::MAX as u128)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(i128::MIN, i128::MAX as u128)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(0, u8::MAX.into())
    }
    fn deserialize_u16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(0, u16::MAX.into())
    }
    fn deserialize_u32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(0, u32::MAX.into())
    }
    fn deserialize_u64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(0, u64::MAX.into())
    }
    fn deserialize_u128<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        integer(0, u128::MAX)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "number"}))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "number"}))
    }
    fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string", "minLength": 1, "maxLength": 1}))
    }
    fn deserialize_str<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string"}))
    }
    fn deserialize_string<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string"}))
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string"}))
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string"}))
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Found> {
        // The field may be left out; a config file has no null to write (TOML has none).
        found(inner(visitor.visit_some(Probe)).unwrap_or_else(|| json!({})))
    }
    fn deserialize_unit<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "null"}))
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, Found> {
        found(json!({"type": "null"}))
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Found> {
        found(inner(visitor.visit_newtype_struct(Probe)).unwrap_or_else(|| json!({})))
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Found> {
        // A list also reads from one comma-separated string (`a, b`), as in env.
        let mut shape = json!({"type": "array"});
        if let Some(item) = inner(visitor.visit_seq(OneElement)) {
            shape["items"] = item;
        }
        found(shape)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Found> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Found> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Found> {
        let mut shape = json!({"type": "object"});
        if let Some(value) = inner(visitor.visit_map(OneEntry { key_given: false })) {
            shape["additionalProperties"] = value;
        }
        found(shape)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        if name == "Duration" && fields == ["secs", "nanos"] {
            // `std::time::Duration`, read by the human grammar or as a number of seconds.
            return found(json!({
                "type": ["string", "number"],
                "description": "a duration: `30s`, `1m30s`, `500ms`, `2h`, or a number of seconds",
            }));
        }
        let properties: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| ((*f).to_owned(), json!({})))
            .collect();
        found(json!({"type": "object", "properties": properties}))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        found(json!({"enum": variants}))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({"type": "string"}))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        found(json!({}))
    }
}

/// A sequence that offers one element: the probe.
struct OneElement;

impl<'de> de::SeqAccess<'de> for OneElement {
    type Error = Found;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Found> {
        seed.deserialize(Probe).map(Some)
    }
}

/// A map that offers one entry: a text key, then the probe as its value.
struct OneEntry {
    key_given: bool,
}

impl<'de> de::MapAccess<'de> for OneEntry {
    type Error = Found;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Found> {
        if self.key_given {
            return Ok(None);
        }
        self.key_given = true;
        seed.deserialize(de::value::StrDeserializer::<Found>::new("key"))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Found> {
        seed.deserialize(Probe)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    #[allow(dead_code, reason = "only its shape is read")]
    enum Mode {
        FastPath,
        Safe,
    }

    #[test]
    fn the_shapes_of_common_field_types() {
        assert_eq!(shape_of::<String>(), json!({"type": "string"}));
        assert_eq!(shape_of::<Mode>(), json!({"enum": ["fast-path", "safe"]}));
        assert_eq!(shape_of::<Duration>()["type"], json!(["string", "number"]));
        assert_eq!(
            shape_of::<BTreeMap<String, u16>>(),
            json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 65535}})
        );
        assert_eq!(
            shape_of::<i8>(),
            json!({"type": "integer", "minimum": -128, "maximum": 127})
        );
        assert_eq!(shape_of::<u128>(), json!({"type": "integer", "minimum": 0}));
        assert_eq!(shape_of::<serde_json::Value>(), json!({}));
        assert_eq!(
            shape_of::<std::net::SocketAddr>(),
            json!({"type": "string"})
        );
        assert_eq!(
            shape_of::<Vec<std::path::PathBuf>>(),
            json!({"type": "array", "items": {"type": "string"}})
        );
    }
}
