//! Parses `#[config(...)]` on the struct and on its fields. Each branch names the syntax it
//! accepts; unknown and duplicate keys are errors that do not stop the parse.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Expr, ExprPath, LitStr, Token};

use crate::ctxt::Ctxt;

const CONTAINER_KEYS: &str = "`env_prefix`, `vault_mount`, `vault_path`, `validate`, `allow_unknown_env`, `allow_unknown`, `refresh`, `vault_env`, `order`, `vault_keys`, `files`, `dotenv`";
const FIELD_KEYS: &str = "`secret`, `default`, `env`, `vault`, `lease`, `validate`, `nested`, `skip`, `allow_empty`, `static`";
const VAULT_KEYS: &str = "`path`, `key`, `aliases`, `mount`, `folder`";

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
    pub vault_mount: Attr<LitStr>,
    pub vault_path: Attr<LitStr>,
    pub validate: Attr<ExprPath>,
    pub allow_unknown_env: Attr<()>,
    pub refresh: Attr<LitStr>,
    pub order: Attr<Vec<LitStr>>,
    pub vault_keys: Attr<LitStr>,
    /// `(standard name, the team's name)` pairs.
    pub vault_env: Attr<Vec<(String, LitStr)>>,
    pub files: Attr<Vec<LitStr>>,
    pub dotenv: Attr<LitStr>,
    pub allow_unknown: Attr<()>,
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

fn unknown(cx: &Ctxt, meta: &ParseNestedMeta<'_>, place: &str, keys: &str) -> syn::Result<()> {
    let name = meta
        .path
        .get_ident()
        .map_or_else(|| "?".to_owned(), ToString::to_string);
    cx.error_spanned_by(
        &meta.path,
        format!("unknown attribute `{name}` in #[config(...)] on {place}; expected one of {keys}"),
    );
    skip_value(meta)
}

fn config_attrs(attrs: &[syn::Attribute]) -> impl Iterator<Item = &syn::Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("config"))
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
            env_prefix: Attr::none("env_prefix"),
            vault_mount: Attr::none("vault_mount"),
            vault_path: Attr::none("vault_path"),
            validate: Attr::none("validate"),
            allow_unknown_env: Attr::none("allow_unknown_env"),
            refresh: Attr::none("refresh"),
            order: Attr::none("order"),
            vault_keys: Attr::none("vault_keys"),
            vault_env: Attr::none("vault_env"),
            files: Attr::none("files"),
            dotenv: Attr::none("dotenv"),
            allow_unknown: Attr::none("allow_unknown"),
        };
        for attr in config_attrs(attrs) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("env_prefix") {
                    // #[config(env_prefix = "APP_")]
                    let v = meta.value()?.parse()?;
                    out.env_prefix.set(cx, &meta, v);
                } else if meta.path.is_ident("vault_mount") {
                    // #[config(vault_mount = "secret")]
                    let v = meta.value()?.parse()?;
                    out.vault_mount.set(cx, &meta, v);
                } else if meta.path.is_ident("vault_path") {
                    // #[config(vault_path = "myapp/{profile}")]
                    let v = meta.value()?.parse()?;
                    out.vault_path.set(cx, &meta, v);
                } else if meta.path.is_ident("validate") {
                    // #[config(validate = path::to::check)]
                    let v = meta.value()?.parse()?;
                    out.validate.set(cx, &meta, v);
                } else if meta.path.is_ident("allow_unknown_env") {
                    // #[config(allow_unknown_env)]
                    out.allow_unknown_env.set(cx, &meta, ());
                } else if meta.path.is_ident("allow_unknown") {
                    // #[config(allow_unknown)]
                    out.allow_unknown.set(cx, &meta, ());
                } else if meta.path.is_ident("files") {
                    // #[config(files = ["config/default.toml", "required:config/{profile}.toml"])]
                    let list = lit_list(&meta)?;
                    out.files.set(cx, &meta, list);
                } else if meta.path.is_ident("dotenv") {
                    // #[config(dotenv = ".env")]
                    let v = meta.value()?.parse()?;
                    out.dotenv.set(cx, &meta, v);
                } else if meta.path.is_ident("refresh") {
                    // #[config(refresh = "5m")]
                    let v = meta.value()?.parse()?;
                    out.refresh.set(cx, &meta, v);
                } else if meta.path.is_ident("order") {
                    // #[config(order = ["vault", "env", "default"])]
                    let list = lit_list(&meta)?;
                    out.order.set(cx, &meta, list);
                } else if meta.path.is_ident("vault_keys") {
                    // #[config(vault_keys = "SCREAMING_SNAKE_CASE")]
                    let v = meta.value()?.parse()?;
                    out.vault_keys.set(cx, &meta, v);
                } else if meta.path.is_ident("vault_env") {
                    // #[config(vault_env(VAULT_ADDR = "VAULT_URL", VAULT_ENABLED = "USE_VAULT"))]
                    let mut pairs = Vec::new();
                    meta.parse_nested_meta(|inner| {
                        let name = inner.path.get_ident().map(ToString::to_string);
                        let lit: LitStr = inner.value()?.parse()?;
                        match name {
                            Some(n) if n.starts_with("VAULT_") && n.len() > 6 => {
                                if lit.value().is_empty() {
                                    cx.error_spanned_by(&lit, "#[config(vault_env)] names must not be empty");
                                }
                                pairs.push((n, lit));
                            }
                            _ => cx.error_spanned_by(
                                &inner.path,
                                "#[config(vault_env(...))] takes standard names such as `VAULT_ADDR = \"VAULT_URL\"`",
                            ),
                        }
                        Ok(())
                    })?;
                    out.vault_env.set(cx, &meta, pairs);
                } else {
                    unknown(cx, &meta, "a struct", CONTAINER_KEYS)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

impl FieldAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> Self {
        let mut out = FieldAttrs {
            secret: Attr::none("secret"),
            default: Attr::none("default"),
            env: Attr::none("env"),
            vault: Attr::none("vault"),
            lease: Attr::none("lease"),
            validate: Attr::none("validate"),
            nested: Attr::none("nested"),
            skip: Attr::none("skip"),
            allow_empty: Attr::none("allow_empty"),
            is_static: Attr::none("static"),
        };
        for attr in config_attrs(attrs) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("secret") {
                    // #[config(secret)]
                    out.secret.set(cx, &meta, ());
                } else if meta.path.is_ident("default") {
                    // #[config(default)] or #[config(default = "text")] or #[config(default = expr)]
                    let v = if meta.input.peek(Token![=]) {
                        match meta.value()?.parse::<Expr>()? {
                            Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Str(s),
                                ..
                            }) => DefaultValue::Str(s),
                            expr => DefaultValue::Expr(expr),
                        }
                    } else {
                        DefaultValue::Trait
                    };
                    out.default.set(cx, &meta, v);
                } else if meta.path.is_ident("env") {
                    // #[config(env = "NAME")]
                    let v = meta.value()?.parse()?;
                    out.env.set(cx, &meta, v);
                } else if meta.path.is_ident("vault") {
                    // #[config(vault(path = "db", key = "url", aliases = ["uri"], mount = "kv"))]
                    let v = VaultAttr::parse(cx, &meta)?;
                    out.vault.set(cx, &meta, v);
                } else if meta.path.is_ident("lease") {
                    // #[config(lease = "database/creds/app")]
                    let v = meta.value()?.parse()?;
                    out.lease.set(cx, &meta, v);
                } else if meta.path.is_ident("validate") {
                    // #[config(validate = path::to::check)]
                    let v = meta.value()?.parse()?;
                    out.validate.set(cx, &meta, v);
                } else if meta.path.is_ident("nested") {
                    // #[config(nested)]
                    out.nested.set(cx, &meta, ());
                } else if meta.path.is_ident("skip") {
                    // #[config(skip)]
                    out.skip.set(cx, &meta, ());
                } else if meta.path.is_ident("allow_empty") {
                    // #[config(allow_empty)]
                    out.allow_empty.set(cx, &meta, ());
                } else if meta.path.is_ident("static") {
                    // #[config(static)]
                    out.is_static.set(cx, &meta, ());
                } else {
                    unknown(cx, &meta, "a field", FIELD_KEYS)?;
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

impl VaultAttr {
    fn parse(cx: &Ctxt, outer: &ParseNestedMeta<'_>) -> syn::Result<Self> {
        let mut out = VaultAttr {
            path: Attr::none("path"),
            key: Attr::none("key"),
            aliases: Attr::none("aliases"),
            mount: Attr::none("mount"),
            folder: Attr::none("folder"),
        };
        if !outer.input.peek(syn::token::Paren) {
            return Err(outer.error(
                "expected `vault(...)` with any of path = \"..\", key = \"..\", aliases = [..], mount = \"..\"",
            ));
        }
        outer.parse_nested_meta(|meta| {
            if meta.path.is_ident("path") {
                // vault(path = "database")
                let v = meta.value()?.parse()?;
                out.path.set(cx, &meta, v);
            } else if meta.path.is_ident("key") {
                // vault(key = "url")
                let v = meta.value()?.parse()?;
                out.key.set(cx, &meta, v);
            } else if meta.path.is_ident("aliases") {
                // vault(aliases = ["username", "user"])
                let list = lit_list(&meta)?;
                out.aliases.set(cx, &meta, list);
            } else if meta.path.is_ident("mount") {
                // vault(mount = "kv")
                let v = meta.value()?.parse()?;
                out.mount.set(cx, &meta, v);
            } else if meta.path.is_ident("folder") {
                // vault(folder = "providers")
                let v = meta.value()?.parse()?;
                out.folder.set(cx, &meta, v);
            } else {
                unknown(cx, &meta, "`vault(...)`", VAULT_KEYS)?;
            }
            Ok(())
        })?;
        Ok(out)
    }
}
