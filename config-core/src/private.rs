//! Items the derive's generated code names. Not a public API: no stability promise.

pub use crate::build::{BuildCtx, FieldValue};
pub use crate::de::{DeError, from_str};
pub use crate::schema::{FieldDecl, Schema, SchemaBuilder, StructMeta, VaultDecl};
pub use crate::{Loader, VaultConfig};
pub use std::sync::OnceLock;
