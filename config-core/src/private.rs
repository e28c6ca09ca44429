//! Items the derive's generated code names. Not a public API: no stability promise.

pub use crate::build::{BuildCtx, FieldValue};
pub use crate::de::{DeError, from_str};
pub use crate::schema::{FieldDecl, PkiDecl, Schema, SchemaBuilder, StructMeta, VaultDecl};
pub use crate::shape::{ShapeAny, ShapeOf, ShapeVia, shape_of};
pub use crate::{Loader, VaultConfig};
pub use std::sync::OnceLock;

/// The `.env` parser, for the fuzz target `dotenv_file`: the variables, or the line of the
/// first entry that cannot be parsed.
pub fn parse_dotenv(text: &str, env: &crate::EnvSnapshot) -> Result<Vec<(String, String)>, usize> {
    crate::dotenv::parse(text, env).map_err(|e| e.line)
}

/// The one bounded reader of files, for the Vault crate's credential, agent and CA files.
pub mod read {
    pub use crate::read::{ReadError, append_zeroizing, read_in_dir, read_regular};
}

/// What live settings and the facade need of a loader; the Vault crate's live settings call
/// these.
pub mod live {
    use std::sync::Arc;

    use crate::{EnvSnapshot, Error, Loader, SecretSource, VaultConfig};

    pub use crate::plan::Pins;
    pub use crate::setup::{BlockOnFn, Hooks, SetupFn, VaultSetup};
    pub use crate::tracked::{Fingerprints, Tracked};

    /// `loader` with the hooks of the layer above.
    pub fn with_hooks<T: VaultConfig>(loader: Loader<T>, hooks: Hooks) -> Loader<T> {
        loader.with_hooks(hooks)
    }

    /// Fixes the env snapshot and the Vault source for every later load of `loader` (one
    /// login, one token to renew); the source, if any.
    pub fn pin_source<T: VaultConfig>(loader: &mut Loader<T>) -> Option<Arc<dyn SecretSource>> {
        loader.pin_source()
    }

    /// The env snapshot `loader` is pinned to.
    pub fn pinned_env<T: VaultConfig>(loader: &Loader<T>) -> Option<&EnvSnapshot> {
        loader.pinned_env()
    }

    /// Keeps these first-load values of `static` fields on every later load.
    pub fn pin_static<T: VaultConfig>(loader: &mut Loader<T>, pins: Pins) {
        loader.pin_static(pins)
    }

    /// The config files and `.env` file a load of `loader` reads, to watch for changes.
    pub fn local_files<T: VaultConfig>(loader: &Loader<T>) -> Vec<std::path::PathBuf> {
        loader.local_files()
    }

    /// The secrets dirs a load of `loader` reads, to watch for changes (every entry counts).
    pub fn secrets_dirs<T: VaultConfig>(loader: &Loader<T>) -> Vec<std::path::PathBuf> {
        loader.secrets_dirs()
    }

    /// `env` with the struct's `.env` file under it, as a load reads it (for the command
    /// line: `migrate` copies `.env` values too); why it failed, when it did.
    pub fn with_dotenv<T: VaultConfig>(env: EnvSnapshot) -> Result<EnvSnapshot, String> {
        let Some(path) = &T::schema().dotenv else {
            return Ok(env);
        };
        let vars = crate::files::read_dotenv(path, &env).map_err(|why| format!("{path} {why}"))?;
        Ok(match vars {
            Some(vars) => env.with_dotenv(path, vars),
            None => env,
        })
    }

    /// A load with what the next one compares against.
    pub async fn load_tracked<T: VaultConfig>(loader: &Loader<T>) -> Result<Tracked<T>, Error> {
        loader.load_tracked().await
    }
}
