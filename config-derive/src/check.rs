//! Rules across attributes and fields, checked after parsing and before expansion.

use std::collections::BTreeMap;

use crate::ast::{
    Container, Field, is_folder_type, is_plain_type, is_secret_type, option_inner, type_name,
};
use crate::attr::{DefaultValue, kw};
use crate::ctxt::Ctxt;

pub fn check(cx: &Ctxt, cont: &Container<'_>) {
    check_container(cx, cont);
    for field in &cont.fields {
        check_field(cx, field);
    }
    check_env_collisions(cx, cont);
}

fn check_container(cx: &Ctxt, cont: &Container<'_>) {
    if let Some(lit) = cont.attrs.vault_path.get() {
        check_placeholders(cx, lit);
    }
    for lit in cont.attrs.files.get().into_iter().flatten() {
        check_file(cx, lit);
    }
    if let Some(lit) = cont.attrs.dotenv.get() {
        if lit.value().trim().is_empty() {
            cx.error_spanned_by(lit, "#[config(dotenv)] must name a file, e.g. \".env\"");
        } else if lit.value().contains('{') {
            cx.error_spanned_by(
                lit,
                "#[config(dotenv)] takes no placeholder: the `.env` file may itself choose the profile",
            );
        }
    }
    for lit in cont.attrs.secrets_dir.get().into_iter().flatten() {
        if lit.value().trim().is_empty() {
            cx.error_spanned_by(
                lit,
                "#[config(secrets_dir)] must name a directory, e.g. \"/run/secrets\"",
            );
        }
    }
    if let Some(lit) = cont.attrs.vault_mount.get() {
        check_mount(cx, lit);
    }
    if let Some(lit) = cont.attrs.transit_key.get() {
        check_key_name(cx, lit);
    }
    if let (Some(list), Some(span)) = (cont.attrs.order.get(), cont.attrs.order.span()) {
        let names: Vec<String> = list.iter().map(syn::LitStr::value).collect();
        let known = vault_config_core::schema::Layer::ORDERS
            .iter()
            .any(|order| order.iter().copied().eq(names.iter().map(String::as_str)));
        if !known {
            cx.syn_error(syn::Error::new(
                span,
                "#[config(order)] is [\"env\", \"vault\", \"default\"] (the standard: env overrides Vault) or [\"vault\", \"env\", \"default\"] (Vault first, env as its backup)",
            ));
        }
    }
    if let Some(lit) = cont.attrs.vault_keys.get() {
        if !vault_config_core::schema::VAULT_KEY_CASES.contains(&lit.value().as_str()) {
            cx.error_spanned_by(
                lit,
                format!(
                    "`vault(keys)` is one of {}",
                    vault_config_core::schema::VAULT_KEY_CASES
                        .map(|c| format!("\"{c}\""))
                        .join(", ")
                ),
            );
        }
    }
    if let Some(lit) = cont.attrs.refresh.get() {
        if parse_duration_ms(&lit.value()).is_none_or(|ms| ms == 0) {
            cx.error_spanned_by(
                lit,
                "#[config(refresh)] must be a duration such as \"30s\", \"5m\" or \"1h\"",
            );
        }
    }
    if let Some(mount) = cont.attrs.vault_mount.get() {
        if mount.value().trim_matches('/').is_empty() {
            cx.error_spanned_by(mount, "`vault(mount)` must not be empty");
        }
    }
}

/// A `refresh` literal in milliseconds, by the one duration grammar of the runtime
/// (`vault_config_core::duration`), saturating.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    vault_config_core::duration::parse(text)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A mount is a fixed name: `{profile}` is replaced in paths only.
fn check_mount(cx: &Ctxt, lit: &syn::LitStr) {
    if lit.value().contains('{') {
        cx.error_spanned_by(
            lit,
            "a mount takes no placeholder; put `{profile}` in a `vault(path = ..)`",
        );
    }
}

/// A config file: a path with a known extension, `{profile}` the only placeholder.
fn check_file(cx: &Ctxt, lit: &syn::LitStr) {
    let written = lit.value();
    let spec = vault_config_core::schema::FileSpec::parse(&written);
    let extension = std::path::Path::new(&spec.path)
        .extension()
        .and_then(|e| e.to_str());
    if spec.path.trim().is_empty() {
        cx.error_spanned_by(lit, "#[config(files)] entries must name a file");
    } else if !matches!(extension, Some("toml" | "yaml" | "yml" | "json")) {
        cx.error_spanned_by(
            lit,
            format!(
                "config file `{}` has no known format: name it .toml, .yaml, .yml or .json",
                spec.path
            ),
        );
    } else {
        check_placeholders(cx, lit);
    }
}

/// Only `{profile}` may appear in braces.
fn check_placeholders(cx: &Ctxt, lit: &syn::LitStr) {
    let text = lit.value();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open..];
        match after.find('}') {
            Some(close) if &after[..=close] == "{profile}" => rest = &after[close + 1..],
            _ => {
                cx.error_spanned_by(
                    lit,
                    format!(
                        "unknown placeholder in `{text}`; the only placeholder is `{{profile}}`"
                    ),
                );
                return;
            }
        }
    }
}

/// Every rule of one field, in named steps; a `skip` or `nested` field takes no other key.
fn check_field(cx: &Ctxt, field: &Field<'_>) {
    let a = &field.attrs;
    if a.skip.is_set() {
        forbid_others(cx, field, kw::SKIP, "", &others(field, &[kw::SKIP]));
        return;
    }
    if let Some(lease) = a.lease.get() {
        check_lease(cx, field, lease);
    }
    check_pki(cx, field);
    if a.nested.is_set() {
        forbid_others(
            cx,
            field,
            kw::NESTED,
            "; put it on the fields of the nested struct",
            &others(field, &[kw::NESTED, kw::LEASE, kw::SKIP]),
        );
        return;
    }
    check_secret(cx, field);
    if let Some(lit) = a.transit_key.get() {
        check_transit_key(cx, field, lit);
    }
    if let Some(env) = a.env.get() {
        let v = env.value();
        if v.is_empty() || v.contains('=') || v.contains('\0') {
            cx.error_spanned_by(env, "#[config(env)] must be a non-empty name without `=`");
        }
    }
    check_vault_location(cx, field);
    if let Some(DefaultValue::Str(lit)) = a.default.get() {
        check_text_default(cx, field, lit);
    }
}

/// The field's keys other than `except`, with where each was written.
fn others(field: &Field<'_>, except: &[&str]) -> Vec<(&'static str, Option<proc_macro2::Span>)> {
    let a = &field.attrs;
    [
        (kw::SECRET, a.secret.span()),
        (kw::DEFAULT, a.default.span()),
        (kw::ENV, a.env.span()),
        (kw::VAULT, a.vault.span()),
        (kw::LEASE, a.lease.span()),
        (kw::PKI, a.pki.span()),
        (kw::COMMON_NAME, a.common_name.span()),
        (kw::ALT_NAMES, a.alt_names.span()),
        (kw::IP_SANS, a.ip_sans.span()),
        (kw::TTL, a.ttl.span()),
        (kw::RENEW_BEFORE, a.renew_before.span()),
        (kw::TRANSIT_KEY, a.transit_key.span()),
        (kw::VALIDATE, a.validate.span()),
        (kw::NESTED, a.nested.span()),
        (kw::SKIP, a.skip.span()),
        (kw::ALLOW_EMPTY, a.allow_empty.span()),
        (kw::STATIC, a.is_static.span()),
    ]
    .into_iter()
    .filter(|(key, _)| !except.contains(key))
    .collect()
}

/// `lease = "mount/path"`: an engine path, alone (no default, KV location, nesting or pin).
fn check_lease(cx: &Ctxt, field: &Field<'_>, lease: &syn::LitStr) {
    let a = &field.attrs;
    forbid_others(
        cx,
        field,
        kw::LEASE,
        "; leased credentials come from their path alone and are replaced before they expire",
        &[
            (kw::DEFAULT, a.default.span()),
            (kw::VAULT, a.vault.span()),
            (kw::NESTED, a.nested.span()),
            (kw::STATIC, a.is_static.span()),
        ],
    );
    check_placeholders(cx, lease);
    let written = lease.value();
    let parts: Vec<&str> = written.trim_matches('/').split('/').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        cx.error_spanned_by(
            lease,
            format!("`lease = \"{written}\"` must be an engine path such as \"database/creds/app\": the mount, then the path in it"),
        );
    }
}

/// `pki = "mount/issue/role"`: an issue path with a common name, alone like a lease; the
/// terms (`common_name`, `alt_names`, `ip_sans`, `ttl`, `renew_before`) only beside it.
fn check_pki(cx: &Ctxt, field: &Field<'_>) {
    let a = &field.attrs;
    let terms = [
        (kw::COMMON_NAME, a.common_name.span()),
        (kw::ALT_NAMES, a.alt_names.span()),
        (kw::IP_SANS, a.ip_sans.span()),
        (kw::TTL, a.ttl.span()),
        (kw::RENEW_BEFORE, a.renew_before.span()),
    ];
    let Some(pki) = a.pki.get() else {
        for (key, span) in terms {
            if let Some(span) = span {
                cx.syn_error(syn::Error::new(
                    span,
                    format!("`{key}` is a term of a certificate request: it goes with `pki = \"pki/issue/<role>\"`"),
                ));
            }
        }
        return;
    };
    forbid_others(
        cx,
        field,
        kw::PKI,
        "; a certificate comes from its issue path alone and is issued again before it ends",
        &[
            (kw::DEFAULT, a.default.span()),
            (kw::VAULT, a.vault.span()),
            (kw::LEASE, a.lease.span()),
            (kw::NESTED, a.nested.span()),
            (kw::STATIC, a.is_static.span()),
        ],
    );
    check_placeholders(cx, pki);
    let written = pki.value();
    let parts: Vec<&str> = written.trim_matches('/').split('/').collect();
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
        cx.error_spanned_by(
            pki,
            format!("`pki = \"{written}\"` must be a PKI role's issue path such as \"pki/issue/internal\": the mount, `issue`, then the role"),
        );
    }
    match a.common_name.get() {
        Some(cn) if !cn.value().trim().is_empty() => check_placeholders(cx, cn),
        Some(cn) => cx.error_spanned_by(cn, "`common_name` must not be empty"),
        None => cx.error_spanned_by(
            pki,
            format!(
                "`pki` field `{}` needs `common_name = \"..\"`, the name the certificate is for",
                field.name()
            ),
        ),
    }
    for (key, lit) in [
        (kw::TTL, a.ttl.get()),
        (kw::RENEW_BEFORE, a.renew_before.get()),
    ] {
        let Some(lit) = lit else { continue };
        if parse_duration_ms(&lit.value()).is_none_or(|ms| ms == 0) {
            cx.error_spanned_by(
                lit,
                format!("`{key}` must be a duration such as \"24h\", \"30m\" or \"90s\""),
            );
        }
    }
}

/// `transit_key = "myapp"` on a field: a key name (`mount/name` allowed) on a secret that
/// is read as text (not leased, issued or a folder).
fn check_transit_key(cx: &Ctxt, field: &Field<'_>, lit: &syn::LitStr) {
    let a = &field.attrs;
    let made =
        a.lease.is_set() || a.pki.is_set() || a.vault.get().is_some_and(|v| v.folder.is_set());
    if made {
        cx.error_spanned_by(
            lit,
            "#[config(transit_key)] is for a secret written as a ciphertext; leased credentials, certificates and folders come from Vault itself",
        );
    } else if !(a.secret.is_set() || is_secret_type(field.ty)) {
        cx.error_spanned_by(
            lit,
            format!("#[config(transit_key)] on `{}`, which is no secret: only secrets are decrypted (mark it `secret`)", field.name()),
        );
    }
    check_key_name(cx, lit);
}

/// A transit key as written: `name` or `mount/name`, `{profile}` allowed.
fn check_key_name(cx: &Ctxt, lit: &syn::LitStr) {
    check_placeholders(cx, lit);
    if vault_config_core::transit::TransitKey::parse(&lit.value()).is_none() {
        cx.error_spanned_by(
            lit,
            "#[config(transit_key)] names a transit key, e.g. \"myapp\" or \"transit/myapp\"",
        );
    }
}

/// A secret is held in a secrecy type and never falls back to a literal; a folder field is a
/// `SecretFolder` naming its folder.
fn check_secret(cx: &Ctxt, field: &Field<'_>) {
    let a = &field.attrs;
    let name = field.name();
    let secret_type = is_secret_type(field.ty);
    let has_folder = a.vault.get().is_some_and(|v| v.folder.is_set());
    if is_folder_type(field.ty) && !has_folder {
        cx.error_spanned_by(
            field.ty,
            format!("SecretFolder field `{name}` needs #[config(vault(folder = \"path\"))] naming the folder to read"),
        );
    }
    if a.secret.is_set() && !secret_type && is_plain_type(field.ty) {
        cx.error_spanned_by(
            field.ty,
            format!(
                "#[config(secret)] field `{name}` must be SecretString or SecretBox<T>; found `{}`",
                type_name(field.ty)
            ),
        );
    }
    if (a.secret.is_set() || secret_type) && a.default.is_set() {
        let span = a.default.span().unwrap_or_else(|| field.ident.span());
        cx.syn_error(syn::Error::new(
            span,
            format!(
                "#[config(default)] is not allowed on secret field `{name}`: a secret never falls back to a literal"
            ),
        ));
    }
}

/// A field's `vault(..)`: a folder alone, placeholders, mount and keys well formed.
fn check_vault_location(cx: &Ctxt, field: &Field<'_>) {
    let Some(vault) = field.attrs.vault.get() else {
        return;
    };
    let name = field.name();
    if let Some(span) = vault.folder.span() {
        for (other, set) in [
            (kw::PATH, vault.path.is_set()),
            (kw::KEY, vault.key.is_set()),
            (kw::ALIASES, vault.aliases.is_set()),
        ] {
            if set {
                cx.syn_error(syn::Error::new(
                    span,
                    format!("`vault(folder)` on `{name}` reads every secret of a folder; it cannot have `{other}`"),
                ));
            }
        }
        if !is_folder_type(field.ty) {
            cx.error_spanned_by(
                field.ty,
                format!(
                    "`vault(folder)` field `{name}` must be SecretFolder; found `{}`",
                    type_name(field.ty)
                ),
            );
        }
    }
    for lit in [vault.path.get(), vault.folder.get()].into_iter().flatten() {
        check_placeholders(cx, lit);
    }
    if let Some(lit) = vault.mount.get() {
        check_mount(cx, lit);
    }
    for lit in vault
        .key
        .get()
        .into_iter()
        .chain(vault.aliases.get().into_iter().flatten())
    {
        if lit.value().is_empty() {
            cx.error_spanned_by(lit, "a Vault key must not be empty");
        }
    }
}

/// `default = "text"` is parsed like an env value: not empty (that counts as unset), and for
/// a number, `bool` or `Duration` checked here, so that serde's habit (`default = "fn_name"`,
/// a function there) fails to compile and says how to call a function.
fn check_text_default(cx: &Ctxt, field: &Field<'_>, lit: &syn::LitStr) {
    let name = field.name();
    let text = lit.value();
    if text.is_empty() && !field.attrs.allow_empty.is_set() {
        cx.error_spanned_by(
            lit,
            format!("#[config(default = \"\")] on `{name}` is empty; use `default` (Default::default()) or add `allow_empty`"),
        );
        return;
    }
    let ty = type_name(option_inner(field.ty).unwrap_or(field.ty));
    // The runtime's own parser (`vault_config_core::de`), for the types whose name says it all.
    macro_rules! parse_as {
        ($($name:literal => $t:ty),* $(,)?) => {
            match ty.as_str() {
                $($name => vault_config_core::de::from_str::<$t>(&text).err(),)*
                _ => None,
            }
        };
    }
    let error = parse_as! {
        "u8" => u8, "u16" => u16, "u32" => u32, "u64" => u64, "u128" => u128, "usize" => usize,
        "i8" => i8, "i16" => i16, "i32" => i32, "i64" => i64, "i128" => i128, "isize" => isize,
        "f32" => f32, "f64" => f64, "bool" => bool,
        "Duration" => std::time::Duration, "std::time::Duration" => std::time::Duration,
    };
    if let Some(error) = error {
        // Text that reads as a Rust path was most likely meant as serde's function.
        let is_path = text.split("::").all(|segment| {
            segment.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let call = if is_path {
            format!(
                "; to use a function's value (serde's `default = \"{text}\"`), write `default = {text}()`"
            )
        } else {
            String::new()
        };
        cx.error_spanned_by(
            lit,
            format!("`default = \"{text}\"` on `{name}` is not a `{ty}` ({error}): a text default is parsed like an env value{call}"),
        );
    }
}

/// Reports each attribute in `others` that is set next to `kind`, spanned on that attribute.
fn forbid_others(
    cx: &Ctxt,
    field: &Field<'_>,
    kind: &str,
    hint: &str,
    others: &[(&str, Option<proc_macro2::Span>)],
) {
    for (other, span) in others {
        if let Some(span) = span {
            cx.syn_error(syn::Error::new(
                *span,
                format!(
                    "#[config({kind})] field `{}` cannot also have `{other}`{hint}",
                    field.name()
                ),
            ));
        }
    }
}

/// Two fields of one struct must not read the same env var.
fn check_env_collisions(cx: &Ctxt, cont: &Container<'_>) {
    let prefix = cont
        .attrs
        .env_prefix
        .get()
        .map(syn::LitStr::value)
        .unwrap_or_default();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for field in &cont.fields {
        let a = &field.attrs;
        if a.skip.is_set() || a.nested.is_set() {
            continue;
        }
        let env = match a.env.get() {
            Some(lit) => lit.value(),
            None => format!("{prefix}{}", field.name().to_ascii_uppercase()),
        };
        if let Some(first) = seen.get(&env) {
            let message = format!(
                "env var `{env}` of field `{}` collides with field `{first}`; set a distinct #[config(env = \"...\")]",
                field.name()
            );
            match a.env.get() {
                Some(lit) => cx.error_spanned_by(lit, message),
                None => cx.error_spanned_by(field.ident, message),
            }
        } else {
            seen.insert(env, field.name());
        }
    }
}
