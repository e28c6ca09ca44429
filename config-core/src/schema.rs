//! The schema: every field of a settings struct with its env var, Vault location, default and
//! doc text, flattened across nested structs. The derive describes a struct; this module turns
//! that description into names and locations.

use std::fmt;

use serde::Serialize;

use crate::VaultConfig;
use crate::source::{IssueTerms, PathKind, VaultPath};

pub use crate::profile::{DEFAULT_PROFILE, PROFILE_PLACEHOLDER};

/// Every field of a settings struct, nested fields flattened, in declaration order.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Schema {
    /// The Rust name of the root struct.
    pub type_name: &'static str,
    /// The root struct's `env_prefix` (empty when none).
    pub env_prefix: String,
    /// The env var that selects the profile: `{env_prefix}PROFILE`.
    pub profile_env: String,
    /// Whether prefixed env vars and config-file keys that match no field are tolerated
    /// (`allow_unknown`).
    pub allow_unknown: bool,
    /// How often live settings re-read their sources (`refresh = "5m"`), in milliseconds.
    pub refresh_ms: Option<u64>,
    /// The struct's own `vault(path)`, the base that `VAULT_BASE_PATH` replaces.
    pub vault_path: String,
    /// The app's own names of the Vault settings' variables, `(standard, team's name)`, from
    /// `vault(env(VAULT_ADDR = "VAULT_URL", ..))`: the team's name is read where the standard
    /// one is unset.
    pub vault_env: Vec<(String, String)>,
    /// The order of the layers for every field: env, `.env`, Vault, config files, default
    /// (`order = [..]` can put Vault before env; `.env` always follows env and files always
    /// precede defaults).
    pub order: Vec<Layer>,
    /// The config files read by every load (`files = [..]`), later ones winning over earlier
    /// ones; paths relative to the working directory, `{profile}` allowed.
    pub files: Vec<FileSpec>,
    /// The `.env` file read by every load (`dotenv = ".env"`), when any.
    pub dotenv: Option<String>,
    /// The directories of mounted secret files (`secrets_dir = ["/run/secrets"]`), later ones
    /// winning; a missing one is skipped.
    pub secrets_dirs: Vec<String>,
    /// The env var that replaces `secrets_dirs`: `{env_prefix}SECRETS_DIR`, directories
    /// separated like `PATH`; each must exist.
    pub secrets_dir_env: String,
    /// The transit key that decrypts the struct's ciphertexts (`transit_key = "myapp"`,
    /// `{profile}` allowed), where a field names none of its own.
    pub transit_key: Option<String>,
    /// The env var that replaces `transit_key`: `{env_prefix}TRANSIT_KEY`.
    pub transit_key_env: String,
    /// The leaf fields.
    pub fields: Vec<FieldSchema>,
}

/// A config file of `files = [..]`: its path as written, and whether it must exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileSpec {
    /// The path, relative to the working directory; may contain `{profile}`.
    pub path: String,
    /// Whether a missing file is a problem (written `"required:config/app.toml"`) rather than
    /// skipped.
    pub required: bool,
}

impl FileSpec {
    /// A file as `files = [..]` writes it: a `required:` prefix makes it required.
    ///
    /// ```
    /// use vault_config_core::schema::FileSpec;
    /// let f = FileSpec::parse("required:config/default.toml");
    /// assert_eq!((f.path.as_str(), f.required), ("config/default.toml", true));
    /// assert!(!FileSpec::parse("config/{profile}.toml").required);
    /// ```
    pub fn parse(written: &str) -> FileSpec {
        match written.strip_prefix("required:") {
            Some(path) => FileSpec {
                path: path.to_owned(),
                required: true,
            },
            None => FileSpec {
                path: written.to_owned(),
                required: false,
            },
        }
    }
}

/// A layer a field's value can come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Layer {
    /// Command-line flags (`Loader::args`, the `clap` feature): always the top layer, the
    /// most specific choice an operator makes. Never for secrets.
    Flag,
    /// The process environment (or the injected env snapshot, with Agent files under it).
    Env,
    /// Mounted secret files, one value per file (`secrets_dir`, `{prefix}SECRETS_DIR`): a
    /// Kubernetes or Docker secret mount.
    #[serde(rename = "secrets-dir")]
    SecretsDir,
    /// The `.env` file, read without touching the process environment.
    Dotenv,
    /// Vault or OpenBao.
    Vault,
    /// The config files (TOML, YAML, JSON), later ones winning.
    File,
    /// The field's `default`.
    Default,
}

impl Layer {
    /// The standard order: env overrides Vault, Vault overrides defaults.
    pub const STANDARD: [Layer; 3] = [Layer::Env, Layer::Vault, Layer::Default];

    /// Every layer in the order `order` names the three main ones: flags first, the secrets
    /// dir and `.env` right after env, config files right before defaults.
    ///
    /// ```
    /// use vault_config_core::schema::Layer;
    /// let shown = |order: &[Layer]| Layer::expand(order).iter().map(|l| l.name()).collect::<Vec<_>>();
    /// assert_eq!(
    ///     shown(&Layer::STANDARD),
    ///     ["flag", "env", "secrets-dir", "dotenv", "vault", "file", "default"]
    /// );
    /// assert_eq!(
    ///     shown(&[Layer::Vault, Layer::Env, Layer::Default]),
    ///     ["flag", "vault", "env", "secrets-dir", "dotenv", "file", "default"]
    /// );
    /// ```
    pub fn expand(order: &[Layer]) -> Vec<Layer> {
        let mut all = vec![Layer::Flag];
        for layer in order {
            if *layer == Layer::Default {
                all.push(Layer::File);
            }
            all.push(*layer);
            if *layer == Layer::Env {
                all.extend([Layer::SecretsDir, Layer::Dotenv]);
            }
        }
        all
    }

    /// The orders `#[config(order = [..])]` accepts, as written: env first (the standard), or
    /// Vault first with env as its backup. Defaults come last in both.
    pub const ORDERS: [[&'static str; 3]; 2] =
        [["env", "vault", "default"], ["vault", "env", "default"]];

    /// The name used in `order = [..]` and in explain.
    ///
    /// ```
    /// use vault_config_core::schema::Layer;
    /// let shown: Vec<_> = Layer::STANDARD.iter().map(|l| l.name()).collect();
    /// assert_eq!(shown, Layer::ORDERS[0]);
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Layer::Flag => "flag",
            Layer::Env => "env",
            Layer::SecretsDir => "secrets-dir",
            Layer::Dotenv => "dotenv",
            Layer::Vault => "vault",
            Layer::File => "file",
            Layer::Default => "default",
        }
    }

    fn from_name(name: &str) -> Option<Layer> {
        Layer::STANDARD.into_iter().find(|l| l.name() == name)
    }
}

/// One leaf field of the schema.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FieldSchema {
    /// Dotted path from the root struct, e.g. `redis.url`.
    pub path: String,
    /// The field's Rust type as written, e.g. `Option<u64>`.
    pub type_name: &'static str,
    /// The env var that sets it, e.g. `APP_REDIS__URL`.
    pub env: String,
    /// Where it lives in Vault, if anywhere.
    pub vault: Option<VaultLocation>,
    /// The env vars that override the terms of an issue path (`pki = ".."`):
    /// `<ENV>_COMMON_NAME`, `_ALT_NAMES`, `_IP_SANS`, `_TTL`, `_RENEW_BEFORE`; empty otherwise.
    pub issue_env: Vec<String>,
    /// The transit key that decrypts this secret's ciphertexts, when the field names its own
    /// (`transit_key = ".."`) or a nested struct it is in does; else the root struct's
    /// [`Schema::transit_key`] (or its env override) applies.
    pub transit_key: Option<String>,
    /// The default as written in the source (never present for secrets).
    pub default: Option<&'static str>,
    /// Whether the default is text parsed like an env value (`default = "30s"`), rather than
    /// a Rust expression (`default = 8080`, `default = Limits::new()`).
    pub default_is_text: bool,
    /// Whether the field holds a secret (`#[config(secret)]`).
    pub secret: bool,
    /// Whether the field must get a value from some layer (no default, not an `Option`).
    pub required: bool,
    /// Whether an empty env value counts as a value (`allow_empty`) instead of as unset.
    pub allow_empty: bool,
    /// Whether the field has a `validate` function.
    pub validated: bool,
    /// Whether live settings keep the first value (`static`, e.g. a bind port) and only
    /// report a change.
    pub is_static: bool,
    /// The doc comment, trimmed.
    pub doc: &'static str,
    /// The JSON Schema of the field's type in a config file (see [`Schema::json_schema`]).
    #[serde(skip)]
    pub(crate) shape: fn() -> serde_json::Value,
}

impl FieldSchema {
    /// Whether the field is read whole from a Vault engine (`lease = ..`, `pki = ..`,
    /// `vault(folder)`): never from a config file or a flag.
    pub fn vault_only(&self) -> bool {
        self.vault
            .as_ref()
            .is_some_and(|v| matches!(v.kind, PathKind::Lease | PathKind::Issue | PathKind::Folder))
    }

    /// The JSON Schema of the field's type in a config file: `{"type": "integer", ..}`,
    /// `{"enum": [..]}`, `{}` for a type that takes anything.
    pub fn type_schema(&self) -> serde_json::Value {
        (self.shape)()
    }
}

/// Where a field lives in Vault: `mount/path#key`, with `{profile}` still unexpanded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VaultLocation {
    /// The KV mount, e.g. `secret`.
    pub mount: String,
    /// The path inside the mount; may contain `{profile}`.
    pub path: String,
    /// The key inside the secret.
    pub key: String,
    /// Keys tried in order when `key` is absent.
    pub aliases: Vec<String>,
    /// A secret (the field gets `key`), a folder (every secret in it, `vault(folder = "..")`),
    /// a leased path (the whole answer, `lease = ".."`) or an issue path (`pki = ".."`).
    pub kind: PathKind,
    /// The terms of an issue path as the attribute writes them, `{profile}` unexpanded.
    pub issue: Option<IssueTerms>,
}

impl VaultLocation {
    /// A location with no aliases.
    ///
    /// ```
    /// use vault_config_core::schema::VaultLocation;
    /// let loc = VaultLocation::new("secret", "myapp", "url").with_aliases(["uri"]);
    /// assert_eq!(loc.keys().collect::<Vec<_>>(), ["url", "uri"]);
    /// ```
    pub fn new(mount: impl Into<String>, path: impl Into<String>, key: impl Into<String>) -> Self {
        VaultLocation {
            mount: mount.into(),
            path: path.into(),
            key: key.into(),
            aliases: Vec::new(),
            kind: PathKind::Secret,
            issue: None,
        }
    }

    /// The same location with keys to try, in order, when `key` is absent.
    pub fn with_aliases<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// The distinct path to read for the active profile.
    ///
    /// ```
    /// use vault_config_core::schema::VaultLocation;
    /// let loc = VaultLocation::new("secret", "myapp/{profile}/db", "url");
    /// assert_eq!(loc.resolve("production").to_string(), "secret/myapp/production/db");
    /// ```
    pub fn resolve(&self, profile: &str) -> VaultPath {
        let path = crate::profile::substitute(&self.path, profile);
        VaultPath {
            kind: self.kind,
            issue: self
                .issue
                .as_ref()
                .map(|terms| Box::new(terms.for_profile(profile))),
            ..VaultPath::new(&self.mount, path)
        }
    }

    /// `mount/path#key` (a folder: `mount/path/*`) for the active profile, as shown in errors
    /// and explain.
    pub fn display(&self, profile: &str) -> String {
        self.shown(&self.resolve(profile))
    }

    /// How `path` (this location, resolved) is shown: `mount/path#key`, a folder
    /// `mount/path/*`, a leased path `mount/path`.
    pub(crate) fn shown(&self, path: &VaultPath) -> String {
        match self.kind {
            PathKind::Secret => format!("{path}#{}", self.key),
            PathKind::Folder => format!("{path}*"),
            PathKind::Lease | PathKind::Issue | PathKind::Decrypt => path.to_string(),
        }
    }

    /// The key and then each alias, in the order they are tried.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.key.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

impl fmt::Display for VaultLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PathKind::Secret => write!(f, "{}/{}#{}", self.mount, self.path, self.key),
            PathKind::Folder => write!(f, "{}/{}/*", self.mount, self.path),
            PathKind::Lease | PathKind::Issue | PathKind::Decrypt => {
                write!(f, "{}/{}", self.mount, self.path)
            }
        }
    }
}

impl Schema {
    /// Builds the schema of `T` from its derived description.
    pub fn of<T: VaultConfig>() -> Schema {
        let meta = T::__meta();
        let env_prefix = meta.env_prefix.to_owned();
        let mut builder = SchemaBuilder {
            fields: Vec::new(),
            scope: Scope {
                env_prefix: env_prefix.clone(),
                key_case: meta.vault_keys,
                mount: meta.vault_mount.unwrap_or("secret").to_owned(),
                vault_path: meta.vault_path.unwrap_or("").to_owned(),
                field_path: String::new(),
                transit_key: None,
            },
        };
        T::__describe(&mut builder);
        Schema {
            type_name: meta.type_name,
            profile_env: format!("{env_prefix}PROFILE"),
            secrets_dir_env: format!("{env_prefix}SECRETS_DIR"),
            transit_key_env: format!("{env_prefix}TRANSIT_KEY"),
            transit_key: meta.transit_key.map(str::to_owned),
            env_prefix,
            allow_unknown: meta.allow_unknown,
            refresh_ms: meta.refresh_ms,
            order: Layer::expand(&if meta.order.is_empty() {
                Layer::STANDARD.to_vec()
            } else {
                meta.order
                    .iter()
                    .filter_map(|n| Layer::from_name(n))
                    .collect()
            }),
            files: meta.files.iter().map(|f| FileSpec::parse(f)).collect(),
            dotenv: meta.dotenv.map(str::to_owned),
            secrets_dirs: meta.secrets_dirs.iter().map(|d| (*d).to_owned()).collect(),
            vault_path: meta.vault_path.unwrap_or("").trim_matches('/').to_owned(),
            vault_env: meta
                .vault_env
                .iter()
                .map(|(standard, team)| ((*standard).to_owned(), (*team).to_owned()))
                .collect(),
            fields: builder.fields,
        }
    }

    /// The field at a dotted path.
    pub fn field(&self, path: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.path == path)
    }

    /// Every env var the struct reads, in field order, then the profile selector, the secrets
    /// dir and the transit key.
    pub fn env_names(&self) -> Vec<&str> {
        self.fields
            .iter()
            .flat_map(|f| std::iter::once(&f.env).chain(&f.issue_env))
            .map(String::as_str)
            .chain([
                self.profile_env.as_str(),
                self.secrets_dir_env.as_str(),
                self.transit_key_env.as_str(),
            ])
            .collect()
    }
}

/// Struct-level attributes, as the derive records them.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct StructMeta {
    pub type_name: &'static str,
    pub env_prefix: &'static str,
    pub vault_mount: Option<&'static str>,
    pub vault_path: Option<&'static str>,
    pub refresh_ms: Option<u64>,
    /// `vault(env(VAULT_ADDR = "VAULT_URL", ..))`: a team's own names of the Vault settings.
    pub vault_env: &'static [(&'static str, &'static str)],
    /// `order = ["vault", "env", "default"]`, checked by the derive; empty for the standard.
    pub order: &'static [&'static str],
    /// `vault(keys = "SCREAMING_SNAKE_CASE")`, checked by the derive.
    pub vault_keys: Option<&'static str>,
    /// `files = ["config/default.toml", "required:config/{profile}.toml"]`.
    pub files: &'static [&'static str],
    /// `dotenv = ".env"`.
    pub dotenv: Option<&'static str>,
    /// `secrets_dir = "/run/secrets"` or a list of them.
    pub secrets_dirs: &'static [&'static str],
    /// `allow_unknown`: unknown file keys and unknown env vars are tolerated.
    pub allow_unknown: bool,
    /// `transit_key = "myapp"`.
    pub transit_key: Option<&'static str>,
}

/// How the derive declares a leaf field.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct FieldDecl {
    pub name: &'static str,
    pub type_name: &'static str,
    /// `env = "NAME"`: the exact name, no prefix.
    pub env: Option<&'static str>,
    pub secret: bool,
    pub default: Option<&'static str>,
    /// `default = "text"`, parsed like env.
    pub default_is_text: bool,
    pub optional: bool,
    pub allow_empty: bool,
    pub validated: bool,
    pub is_static: bool,
    pub doc: &'static str,
    /// `vault(...)` was written on the field.
    pub vault: Option<VaultDecl>,
    /// `transit_key = "myapp"` on the field.
    pub transit_key: Option<&'static str>,
    /// The field type's JSON Schema (`shape_of::<T>`).
    pub shape: fn() -> serde_json::Value,
}

/// The field's `vault(...)` attribute.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VaultDecl {
    pub mount: Option<&'static str>,
    pub path: Option<&'static str>,
    pub key: Option<&'static str>,
    pub aliases: &'static [&'static str],
    pub folder: bool,
    /// `lease = "engine/path"`: `path` is the whole path, mount included.
    pub lease: bool,
    /// `pki = "pki/issue/role"` and its terms: `path` is the whole path, mount included.
    pub pki: Option<PkiDecl>,
}

/// The terms written beside `pki = ".."`, checked by the derive.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PkiDecl {
    pub common_name: &'static str,
    pub alt_names: &'static [&'static str],
    pub ip_sans: &'static [&'static str],
    pub ttl: Option<&'static str>,
    pub renew_before: Option<&'static str>,
}

impl PkiDecl {
    fn terms(&self) -> IssueTerms {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        IssueTerms {
            common_name: self.common_name.to_owned(),
            alt_names: list(self.alt_names),
            ip_sans: list(self.ip_sans),
            ttl: self.ttl.map(str::to_owned),
            renew_before: self.renew_before.and_then(crate::duration::parse),
        }
    }
}

#[derive(Clone)]
struct Scope {
    env_prefix: String,
    /// `vault(keys = "..")` of the struct, else of the struct it is nested in.
    key_case: Option<&'static str>,
    mount: String,
    vault_path: String,
    field_path: String,
    /// `transit_key = ".."` of a nested struct (or of one it is nested in), not the root's.
    transit_key: Option<&'static str>,
}

/// Collects the fields of a struct and of the structs nested in it.
#[doc(hidden)]
pub struct SchemaBuilder {
    fields: Vec<FieldSchema>,
    scope: Scope,
}

impl SchemaBuilder {
    /// Adds a leaf field in the current scope (never inlined, for the same reason as
    /// `BuildCtx::leaf`).
    #[inline(never)]
    pub fn field(&mut self, decl: FieldDecl) {
        let scope = &self.scope;
        let env = match decl.env {
            Some(exact) => exact.to_owned(),
            None => format!("{}{}", scope.env_prefix, env_name(decl.name)),
        };
        // A secret without `vault(...)` lives at the struct path under its field name; a
        // non-secret field is in Vault only when it says so.
        let vault = match (decl.vault, decl.secret) {
            (Some(v), _) => Some(v),
            (None, true) => Some(VaultDecl::default()),
            (None, false) => None,
        }
        .and_then(|v| {
            if v.lease || v.pki.is_some() {
                // An engine path of its own: neither the struct's mount nor its path apply.
                let written = v.path.unwrap_or("").trim_matches('/');
                let (mount, path) = written.split_once('/').unwrap_or((written, ""));
                return Some(VaultLocation {
                    mount: mount.to_owned(),
                    path: path.to_owned(),
                    key: String::new(),
                    aliases: Vec::new(),
                    kind: if v.pki.is_some() {
                        PathKind::Issue
                    } else {
                        PathKind::Lease
                    },
                    issue: v.pki.map(|p| p.terms()),
                });
            }
            let path = join_path(&scope.vault_path, v.path.unwrap_or(""));
            (!path.is_empty()).then(|| VaultLocation {
                mount: v.mount.unwrap_or(&scope.mount).trim_matches('/').to_owned(),
                path,
                key: v.key.map_or_else(
                    || vault_key(scope.key_case, decl.name.trim_start_matches("r#")),
                    str::to_owned,
                ),
                aliases: v.aliases.iter().map(|a| (*a).to_owned()).collect(),
                kind: if v.folder {
                    PathKind::Folder
                } else {
                    PathKind::Secret
                },
                issue: None,
            })
        });
        let issue_env = if vault.as_ref().is_some_and(|v| v.issue.is_some()) {
            IssueTerms::ENV_SUFFIXES
                .iter()
                .map(|suffix| format!("{env}{suffix}"))
                .collect()
        } else {
            Vec::new()
        };
        self.fields.push(FieldSchema {
            path: format!("{}{}", scope.field_path, decl.name),
            type_name: decl.type_name,
            env,
            issue_env,
            vault,
            transit_key: decl.transit_key.or(scope.transit_key).map(str::to_owned),
            default: decl.default,
            default_is_text: decl.default_is_text,
            secret: decl.secret,
            required: !decl.optional && decl.default.is_none(),
            allow_empty: decl.allow_empty,
            validated: decl.validated,
            is_static: decl.is_static,
            doc: decl.doc,
            shape: decl.shape,
        });
    }

    /// Adds the fields of a nested struct under `name`: env vars join with `__`, Vault paths
    /// join with `/`, and the nested struct's own `vault(mount)` and `transit_key` win over
    /// the parent's.
    pub fn nested<T: VaultConfig>(&mut self, name: &'static str) {
        let meta = T::__meta();
        let outer = self.scope.clone();
        self.scope = Scope {
            env_prefix: format!("{}{}__", outer.env_prefix, env_name(name)),
            key_case: meta.vault_keys.or(outer.key_case),
            mount: meta
                .vault_mount
                .map_or_else(|| outer.mount.clone(), str::to_owned),
            vault_path: join_path(&outer.vault_path, meta.vault_path.unwrap_or("")),
            field_path: format!("{}{name}.", outer.field_path),
            transit_key: meta.transit_key.or(outer.transit_key),
        };
        T::__describe(self);
        self.scope = outer;
    }
}

/// The rules `#[config(vault(keys = ".."))]` accepts, serde's `rename_all` names: how a
/// field's name becomes its Vault key when `vault(key = "..")` does not say.
pub const VAULT_KEY_CASES: [&str; 8] = [
    "snake_case",
    "lowercase",
    "UPPERCASE",
    "SCREAMING_SNAKE_CASE",
    "camelCase",
    "PascalCase",
    "kebab-case",
    "SCREAMING-KEBAB-CASE",
];

/// The Vault key of a field named `field` (snake case) under the rule `case`, one of
/// [`VAULT_KEY_CASES`]; the name itself without a rule.
///
/// ```
/// use vault_config_core::schema::vault_key;
/// assert_eq!(vault_key(Some("SCREAMING_SNAKE_CASE"), "openai_api_key"), "OPENAI_API_KEY");
/// assert_eq!(vault_key(Some("camelCase"), "openai_api_key"), "openaiApiKey");
/// assert_eq!(vault_key(Some("kebab-case"), "db_url"), "db-url");
/// assert_eq!(vault_key(None, "db_url"), "db_url");
/// ```
pub fn vault_key(case: Option<&str>, field: &str) -> String {
    let capitalized = |w: &str| {
        let mut chars = w.chars();
        chars.next().map_or_else(String::new, |c| {
            c.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
        })
    };
    let words = field.split('_').filter(|w| !w.is_empty());
    match case {
        Some("lowercase") => field.to_ascii_lowercase(),
        Some("UPPERCASE" | "SCREAMING_SNAKE_CASE") => field.to_ascii_uppercase(),
        Some("camelCase") => words
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_ascii_lowercase()
                } else {
                    capitalized(w)
                }
            })
            .collect(),
        Some("PascalCase") => words.map(capitalized).collect(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => field.replace('_', "-").to_ascii_uppercase(),
        _ => field.to_owned(),
    }
}

/// The env name of a field: its name in upper case, without a raw-identifier prefix.
fn env_name(field: &str) -> String {
    field.trim_start_matches("r#").to_ascii_uppercase()
}

/// Joins two Vault path parts with one `/`, dropping empty parts.
pub(crate) fn join_path(a: &str, b: &str) -> String {
    [a, b]
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_path_drops_empty_parts_and_slashes() {
        assert_eq!(join_path("myapp/", "/db"), "myapp/db");
        assert_eq!(join_path("", "db"), "db");
        assert_eq!(join_path("myapp", ""), "myapp");
        assert_eq!(join_path("", ""), "");
    }

    #[test]
    fn env_name_strips_raw_prefix() {
        assert_eq!(env_name("r#type"), "TYPE");
        assert_eq!(env_name("database_url"), "DATABASE_URL");
    }
}
