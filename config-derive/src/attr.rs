//! Parses `#[config(...)]` on the struct and on its fields. Each branch names the syntax it
//! accepts; unknown and duplicate keys are errors that do not stop the parse.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprPath, LitStr, Token};

use crate::ctxt::Ctxt;

/// The derive's vocabulary: every key once, and one list per position. Parsing, the error
/// messages and the facade's attribute table (kept equal by a test) all read these lists.
pub mod kw {
    /// `env_prefix = "APP_"`: the prefix of every field's env var.
    pub const ENV_PREFIX: &str = "env_prefix";
    /// `vault(..)`: on the struct, where its secrets live; on a field, its KV location.
    pub const VAULT: &str = "vault";
    /// `validate = path`: a check of the whole struct, or of one field.
    pub const VALIDATE: &str = "validate";
    /// `allow_unknown`: tolerate prefixed env vars and config-file keys that match no field.
    pub const ALLOW_UNKNOWN: &str = "allow_unknown";
    /// `refresh = "5m"`: how often live settings re-read.
    pub const REFRESH: &str = "refresh";
    /// `order = ["vault", "env", "default"]`: the layer order.
    pub const ORDER: &str = "order";
    /// `files = ["config/{profile}.toml"]`: config files, lowest first.
    pub const FILES: &str = "files";
    /// `dotenv = ".env"`: a `.env` file under the process env.
    pub const DOTENV: &str = "dotenv";
    /// `secrets_dir = "/run/secrets"` (or a list): mounted secret files, one per field.
    pub const SECRETS_DIR: &str = "secrets_dir";
    /// `transit_key = "myapp"`: the transit key that decrypts `vault:v1:..` ciphertexts of
    /// secrets in config files, env or `.env` (on the struct, or on one secret field).
    pub const TRANSIT_KEY: &str = "transit_key";

    /// `vault(mount = "secret")`: the KV mount.
    pub const MOUNT: &str = "mount";
    /// `vault(path = "myapp/{profile}")`: the struct's base path, or a field's path under it.
    pub const PATH: &str = "path";
    /// `vault(keys = "SCREAMING_SNAKE_CASE")`: how field names become Vault keys.
    pub const KEYS: &str = "keys";
    /// `vault(env(VAULT_ADDR = "VAULT_URL"))`: the team's names of the `VAULT_*` settings.
    pub const ENV: &str = "env";
    /// `vault(key = "url")`: the key of a field.
    pub const KEY: &str = "key";
    /// `vault(aliases = ["uri"])`: keys tried after `key`.
    pub const ALIASES: &str = "aliases";
    /// `vault(folder = "providers")`: every secret of a folder, into a `SecretFolder`.
    pub const FOLDER: &str = "folder";

    /// `secret`: never printed; a `SecretString` or `SecretBox<T>`.
    pub const SECRET: &str = "secret";
    /// `default`, `default = "30s"` (text, parsed like an env value), `default = expr`.
    pub const DEFAULT: &str = "default";
    /// `lease = "database/creds/app"`: leased credentials of a secrets engine.
    pub const LEASE: &str = "lease";
    /// `pki = "pki/issue/internal"`: a certificate issued by a PKI role, issued again before
    /// it ends.
    pub const PKI: &str = "pki";
    /// `common_name = "api.internal"`: the certificate's common name (with `pki`).
    pub const COMMON_NAME: &str = "common_name";
    /// `alt_names = ["api", "localhost"]`: DNS names besides it (with `pki`).
    pub const ALT_NAMES: &str = "alt_names";
    /// `ip_sans = ["127.0.0.1"]`: IP addresses in it (with `pki`).
    pub const IP_SANS: &str = "ip_sans";
    /// `ttl = "24h"`: the validity asked for (with `pki`).
    pub const TTL: &str = "ttl";
    /// `renew_before = "1h"`: issue again this long before it ends (with `pki`).
    pub const RENEW_BEFORE: &str = "renew_before";
    /// `nested`: a struct whose fields are settings too.
    pub const NESTED: &str = "nested";
    /// `skip`: `Default::default()`, never read.
    pub const SKIP: &str = "skip";
    /// `allow_empty`: an empty value is a value.
    pub const ALLOW_EMPTY: &str = "allow_empty";
    /// `static`: read once; live settings keep the first value.
    pub const STATIC: &str = "static";

    /// The keys of `#[config(..)]` on the struct.
    pub const CONTAINER: &[&str] = &[
        ENV_PREFIX,
        VAULT,
        VALIDATE,
        ALLOW_UNKNOWN,
        REFRESH,
        ORDER,
        FILES,
        DOTENV,
        SECRETS_DIR,
        TRANSIT_KEY,
    ];
    /// The keys of the struct's `vault(..)`.
    pub const CONTAINER_VAULT: &[&str] = &[MOUNT, PATH, KEYS, ENV];
    /// The keys of `#[config(..)]` on a field.
    pub const FIELD: &[&str] = &[
        SECRET,
        DEFAULT,
        ENV,
        VAULT,
        LEASE,
        PKI,
        COMMON_NAME,
        ALT_NAMES,
        IP_SANS,
        TTL,
        RENEW_BEFORE,
        TRANSIT_KEY,
        VALIDATE,
        NESTED,
        SKIP,
        ALLOW_EMPTY,
        STATIC,
    ];
    /// The keys of a field's `vault(..)`.
    pub const FIELD_VAULT: &[&str] = &[PATH, KEY, ALIASES, MOUNT, FOLDER];

    /// Spellings of earlier versions, refused with the one that replaced them.
    pub const RENAMED: &[(&str, &str)] = &[
        ("vault_mount", "vault(mount = \"..\")"),
        ("vault_path", "vault(path = \"..\")"),
        ("vault_keys", "vault(keys = \"..\")"),
        ("vault_env", "vault(env(VAULT_ADDR = \"..\"))"),
        ("allow_unknown_env", "allow_unknown"),
    ];

    /// `` `a`, `b`, `c` `` for an error message.
    pub fn listed(keys: &[&str]) -> String {
        keys.iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A value given once, remembering where it was written.
pub struct Attr<T> {
    name: &'static str,
    value: Option<(Span, T)>,
}

impl<T> Attr<T> {
    fn none(name: &'static str) -> Self {
        Attr { name, value: None }
    }

    fn set(&mut self, cx: &Ctxt, meta: &ParseNestedMeta<'_>, value: T) {
        if self.value.is_some() {
            cx.error_spanned_by(
                &meta.path,
                format!("duplicate `{}` in #[config(...)]", self.name),
            );
        } else {
            self.value = Some((
                meta.path
                    .get_ident()
                    .map_or_else(Span::call_site, |i| i.span()),
                value,
            ));
        }
    }

    pub fn get(&self) -> Option<&T> {
        self.value.as_ref().map(|(_, v)| v)
    }

    pub fn span(&self) -> Option<Span> {
        self.value.as_ref().map(|(s, _)| *s)
    }

    pub fn is_set(&self) -> bool {
        self.value.is_some()
    }
}

pub struct ContainerAttrs {
    pub env_prefix: Attr<LitStr>,
    /// `vault(mount = ..)` on the struct.
    pub vault_mount: Attr<LitStr>,
    /// `vault(path = ..)` on the struct.
    pub vault_path: Attr<LitStr>,
    /// `vault(keys = ..)` on the struct.
    pub vault_keys: Attr<LitStr>,
    /// `vault(env(..))` on the struct: `(standard name, the team's name)` pairs.
    pub vault_env: Attr<Vec<(String, LitStr)>>,
    pub validate: Attr<ExprPath>,
    pub allow_unknown: Attr<()>,
    pub refresh: Attr<LitStr>,
    pub order: Attr<Vec<LitStr>>,
    pub files: Attr<Vec<LitStr>>,
    pub dotenv: Attr<LitStr>,
    pub secrets_dir: Attr<Vec<LitStr>>,
    pub transit_key: Attr<LitStr>,
}

pub enum DefaultValue {
    /// `#[config(default)]`: `Default::default()`.
    Trait,
    /// `#[config(default = "text")]`: parsed like an env value.
    Str(LitStr),
    /// `#[config(default = expr)]`.
    Expr(Expr),
}

pub struct VaultAttr {
    pub path: Attr<LitStr>,
    pub key: Attr<LitStr>,
    pub aliases: Attr<Vec<LitStr>>,
    pub mount: Attr<LitStr>,
    pub folder: Attr<LitStr>,
}

pub struct FieldAttrs {
    pub secret: Attr<()>,
    pub default: Attr<DefaultValue>,
    pub env: Attr<LitStr>,
    pub vault: Attr<VaultAttr>,
    /// `lease = "database/creds/app"`: leased credentials.
    pub lease: Attr<LitStr>,
    /// `pki = "pki/issue/internal"` and its terms.
    pub pki: Attr<LitStr>,
    pub common_name: Attr<LitStr>,
    pub alt_names: Attr<Vec<LitStr>>,
    pub ip_sans: Attr<Vec<LitStr>>,
    pub ttl: Attr<LitStr>,
    pub renew_before: Attr<LitStr>,
    /// `transit_key = "myapp"`: the key that decrypts this secret's ciphertexts.
    pub transit_key: Attr<LitStr>,
    pub validate: Attr<ExprPath>,
    pub nested: Attr<()>,
    pub skip: Attr<()>,
    pub allow_empty: Attr<()>,
    pub is_static: Attr<()>,
}

/// Reads the value of an unknown key so that the keys after it are still parsed.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// An unknown key: a renamed one names its new spelling, any other the keys of its position.
fn unknown(cx: &Ctxt, meta: &ParseNestedMeta<'_>, place: &str, keys: &[&str]) -> syn::Result<()> {
    let name = key_of(meta);
    let message = match kw::RENAMED.iter().find(|(old, _)| *old == name) {
        Some((old, new)) => {
            format!("`{old}` was renamed: write `{new}` in #[config(...)] on {place}")
        }
        None => format!(
            "unknown attribute `{name}` in #[config(...)] on {place}; expected one of {}",
            kw::listed(keys)
        ),
    };
    cx.error_spanned_by(&meta.path, message);
    skip_value(meta)
}

/// The key `meta` starts with (`?` for a path that is not one identifier).
fn key_of(meta: &ParseNestedMeta<'_>) -> String {
    meta.path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string)
}

/// Calls `f` on every key of every `#[config(..)]` in `attrs`; a syntax error is recorded and
/// ends only its own attribute.
fn each_key(
    cx: &Ctxt,
    attrs: &[syn::Attribute],
    mut f: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("config")) {
        if let Err(err) = attr.parse_nested_meta(&mut f) {
            cx.syn_error(err);
        }
    }
}

/// Calls `f` on every key inside `outer(..)` (a `vault(..)`), whose keys are `keys`.
fn each_inner_key(
    outer: &ParseNestedMeta<'_>,
    keys: &[&str],
    f: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    if !outer.input.peek(syn::token::Paren) {
        return Err(outer.error(format!(
            "expected `vault(...)` with any of {}",
            kw::listed(keys)
        )));
    }
    outer.parse_nested_meta(f)
}

/// `= ["a", "b"]`: a bracketed list of string literals.
fn lit_list(meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<LitStr>> {
    let value = meta.value()?;
    if !value.peek(syn::token::Bracket) {
        let name = meta
            .path
            .get_ident()
            .map_or_else(|| "..".to_owned(), ToString::to_string);
        return Err(value.error(format!(
            "#[config({name})] takes a list of strings in brackets: `{name} = [\"..\", \"..\"]`"
        )));
    }
    let content;
    syn::bracketed!(content in value);
    let list = content.parse_terminated(|p| p.parse::<LitStr>(), Token![,])?;
    Ok(list.into_iter().collect())
}

impl ContainerAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut out = ContainerAttrs {
            env_prefix: Attr::none(kw::ENV_PREFIX),
            vault_mount: Attr::none("vault(mount)"),
            vault_path: Attr::none("vault(path)"),
            vault_keys: Attr::none("vault(keys)"),
            vault_env: Attr::none("vault(env)"),
            validate: Attr::none(kw::VALIDATE),
            allow_unknown: Attr::none(kw::ALLOW_UNKNOWN),
            refresh: Attr::none(kw::REFRESH),
            order: Attr::none(kw::ORDER),
            files: Attr::none(kw::FILES),
            dotenv: Attr::none(kw::DOTENV),
            secrets_dir: Attr::none(kw::SECRETS_DIR),
            transit_key: Attr::none(kw::TRANSIT_KEY),
        };
        each_key(cx, attrs, |meta| {
            match key_of(&meta).as_str() {
                // env_prefix = "APP_"
                kw::ENV_PREFIX => out.env_prefix.set(cx, &meta, meta.value()?.parse()?),
                // vault(mount = "secret", path = "myapp/{profile}", keys = "..", env(..))
                kw::VAULT => out.parse_vault(cx, &meta)?,
                // validate = path::to::check
                kw::VALIDATE => out.validate.set(cx, &meta, meta.value()?.parse()?),
                // allow_unknown
                kw::ALLOW_UNKNOWN => out.allow_unknown.set(cx, &meta, ()),
                // files = ["config/default.toml", "required:config/{profile}.toml"]
                kw::FILES => out.files.set(cx, &meta, lit_list(&meta)?),
                // dotenv = ".env"
                kw::DOTENV => out.dotenv.set(cx, &meta, meta.value()?.parse()?),
                // secrets_dir = "/run/secrets" or secrets_dir = ["/run/secrets", "/etc/app"]
                kw::SECRETS_DIR => {
                    let dirs = if meta.input.peek(Token![=]) && meta.input.peek2(syn::LitStr) {
                        vec![meta.value()?.parse()?]
                    } else {
                        lit_list(&meta)?
                    };
                    out.secrets_dir.set(cx, &meta, dirs);
                }
                // transit_key = "myapp"
                kw::TRANSIT_KEY => out.transit_key.set(cx, &meta, meta.value()?.parse()?),
                // refresh = "5m"
                kw::REFRESH => out.refresh.set(cx, &meta, meta.value()?.parse()?),
                // order = ["vault", "env", "default"]
                kw::ORDER => out.order.set(cx, &meta, lit_list(&meta)?),
                _ => unknown(cx, &meta, "a struct", kw::CONTAINER)?,
            }
            Ok(())
        });
        out
    }

    /// The struct's `vault(..)`: where its secrets live and how the `VAULT_*` settings are named.
    fn parse_vault(&mut self, cx: &Ctxt, outer: &ParseNestedMeta<'_>) -> syn::Result<()> {
        each_inner_key(outer, kw::CONTAINER_VAULT, |meta| {
            match key_of(&meta).as_str() {
                // vault(mount = "secret")
                kw::MOUNT => self.vault_mount.set(cx, &meta, meta.value()?.parse()?),
                // vault(path = "myapp/{profile}")
                kw::PATH => self.vault_path.set(cx, &meta, meta.value()?.parse()?),
                // vault(keys = "SCREAMING_SNAKE_CASE")
                kw::KEYS => self.vault_keys.set(cx, &meta, meta.value()?.parse()?),
                // vault(env(VAULT_ADDR = "VAULT_URL", VAULT_ENABLED = "USE_VAULT"))
                kw::ENV => {
                    let pairs = team_names(cx, &meta)?;
                    self.vault_env.set(cx, &meta, pairs);
                }
                _ => unknown(cx, &meta, "the struct's `vault(...)`", kw::CONTAINER_VAULT)?,
            }
            Ok(())
        })
    }
}

/// `env(VAULT_ADDR = "VAULT_URL", ..)`: the team's names of standard `VAULT_*` settings.
fn team_names(cx: &Ctxt, meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<(String, LitStr)>> {
    let mut pairs = Vec::new();
    meta.parse_nested_meta(|inner| {
        let name = inner.path.get_ident().map(ToString::to_string);
        let lit: LitStr = inner.value()?.parse()?;
        match name {
            Some(n) if n.starts_with("VAULT_") && n.len() > 6 => {
                if lit.value().is_empty() {
                    cx.error_spanned_by(&lit, "the names in `vault(env(...))` must not be empty");
                }
                pairs.push((n, lit));
            }
            _ => cx.error_spanned_by(
                &inner.path,
                "`vault(env(...))` takes standard names such as `VAULT_ADDR = \"VAULT_URL\"`",
            ),
        }
        Ok(())
    })?;
    Ok(pairs)
}

impl FieldAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut out = FieldAttrs {
            secret: Attr::none(kw::SECRET),
            default: Attr::none(kw::DEFAULT),
            env: Attr::none(kw::ENV),
            vault: Attr::none(kw::VAULT),
            lease: Attr::none(kw::LEASE),
            pki: Attr::none(kw::PKI),
            common_name: Attr::none(kw::COMMON_NAME),
            alt_names: Attr::none(kw::ALT_NAMES),
            ip_sans: Attr::none(kw::IP_SANS),
            ttl: Attr::none(kw::TTL),
            renew_before: Attr::none(kw::RENEW_BEFORE),
            transit_key: Attr::none(kw::TRANSIT_KEY),
            validate: Attr::none(kw::VALIDATE),
            nested: Attr::none(kw::NESTED),
            skip: Attr::none(kw::SKIP),
            allow_empty: Attr::none(kw::ALLOW_EMPTY),
            is_static: Attr::none(kw::STATIC),
        };
        each_key(cx, attrs, |meta| {
            match key_of(&meta).as_str() {
                // secret
                kw::SECRET => out.secret.set(cx, &meta, ()),
                // default, default = "text" or default = expr
                kw::DEFAULT => out.default.set(cx, &meta, default_value(&meta)?),
                // env = "NAME"
                kw::ENV => out.env.set(cx, &meta, meta.value()?.parse()?),
                // vault(path = "db", key = "url", aliases = ["uri"], mount = "kv")
                kw::VAULT => out.vault.set(cx, &meta, VaultAttr::parse(cx, &meta)?),
                // lease = "database/creds/app"
                kw::LEASE => out.lease.set(cx, &meta, meta.value()?.parse()?),
                // pki = "pki/issue/internal", common_name = "..", alt_names = [..],
                // ip_sans = [..], ttl = "24h", renew_before = "1h"
                kw::PKI => out.pki.set(cx, &meta, meta.value()?.parse()?),
                kw::COMMON_NAME => out.common_name.set(cx, &meta, meta.value()?.parse()?),
                kw::ALT_NAMES => out.alt_names.set(cx, &meta, lit_list(&meta)?),
                kw::IP_SANS => out.ip_sans.set(cx, &meta, lit_list(&meta)?),
                kw::TTL => out.ttl.set(cx, &meta, meta.value()?.parse()?),
                kw::RENEW_BEFORE => out.renew_before.set(cx, &meta, meta.value()?.parse()?),
                // transit_key = "myapp"
                kw::TRANSIT_KEY => out.transit_key.set(cx, &meta, meta.value()?.parse()?),
                // validate = path::to::check
                kw::VALIDATE => out.validate.set(cx, &meta, meta.value()?.parse()?),
                // nested
                kw::NESTED => out.nested.set(cx, &meta, ()),
                // skip
                kw::SKIP => out.skip.set(cx, &meta, ()),
                // allow_empty
                kw::ALLOW_EMPTY => out.allow_empty.set(cx, &meta, ()),
                // static
                kw::STATIC => out.is_static.set(cx, &meta, ()),
                _ => unknown(cx, &meta, "a field", kw::FIELD)?,
            }
            Ok(())
        });
        out
    }
}

/// `default` (`Default::default()`), `default = "text"` (parsed like an env value) or
/// `default = expr` (any other expression, a function call included).
fn default_value(meta: &ParseNestedMeta<'_>) -> syn::Result<DefaultValue> {
    if !meta.input.peek(Token![=]) {
        return Ok(DefaultValue::Trait);
    }
    Ok(match meta.value()?.parse::<Expr>()? {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => DefaultValue::Str(s),
        expr => DefaultValue::Expr(expr),
    })
}

impl VaultAttr {
    fn parse(cx: &Ctxt, outer: &ParseNestedMeta<'_>) -> syn::Result<Self> {
        let mut out = VaultAttr {
            path: Attr::none("vault(path)"),
            key: Attr::none("vault(key)"),
            aliases: Attr::none("vault(aliases)"),
            mount: Attr::none("vault(mount)"),
            folder: Attr::none("vault(folder)"),
        };
        each_inner_key(outer, kw::FIELD_VAULT, |meta| {
            match key_of(&meta).as_str() {
                // vault(path = "database")
                kw::PATH => out.path.set(cx, &meta, meta.value()?.parse()?),
                // vault(key = "url")
                kw::KEY => out.key.set(cx, &meta, meta.value()?.parse()?),
                // vault(aliases = ["username", "user"])
                kw::ALIASES => out.aliases.set(cx, &meta, lit_list(&meta)?),
                // vault(mount = "kv")
                kw::MOUNT => out.mount.set(cx, &meta, meta.value()?.parse()?),
                // vault(folder = "providers")
                kw::FOLDER => out.folder.set(cx, &meta, meta.value()?.parse()?),
                _ => unknown(cx, &meta, "a field's `vault(...)`", kw::FIELD_VAULT)?,
            }
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::kw;

    /// The keys of one table of the guide: the identifier starting each backticked span of
    /// the first column (`default` / `default = expr` is one key).
    fn keys_of_table(guide: &str, header: &str) -> Vec<String> {
        let table = guide
            .split(header)
            .nth(1)
            .unwrap_or_else(|| panic!("no table `{header}`"));
        let mut keys: Vec<String> = table
            .lines()
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .flat_map(|row| {
                let first = row.split('|').nth(1).unwrap_or_default();
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(|span| {
                        span.chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect()
                    })
                    .collect::<Vec<String>>()
            })
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    #[test]
    fn the_guide_lists_exactly_the_keys_the_derive_parses() {
        let guide = include_str!("../../src/guide/attributes.md");
        for (header, keys) in [
            ("| on the struct |", kw::CONTAINER),
            ("| in the struct's `vault(..)` |", kw::CONTAINER_VAULT),
            ("| on a field |", kw::FIELD),
            ("| in a field's `vault(..)` |", kw::FIELD_VAULT),
        ] {
            let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
            expected.sort();
            assert_eq!(keys_of_table(guide, header), expected, "{header}");
        }
    }

    #[test]
    fn a_renamed_key_is_not_a_key_any_more() {
        for (old, new) in kw::RENAMED {
            for keys in [
                kw::CONTAINER,
                kw::CONTAINER_VAULT,
                kw::FIELD,
                kw::FIELD_VAULT,
            ] {
                assert!(!keys.contains(old), "{old} is still a key");
            }
            assert!(!new.is_empty());
        }
    }
}
