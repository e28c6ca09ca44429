//! Writes the `VaultConfig` impl: the schema description and the field-by-field build.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Container, Field, is_secret_type, option_inner, type_name};
use crate::attr::DefaultValue;

fn opt_str(v: Option<String>) -> TokenStream {
    match v {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

pub fn expand(cont: &Container<'_>) -> TokenStream {
    let ident = cont.ident;
    let name = ident.to_string();
    let a = &cont.attrs;
    let meta = struct_meta(cont);
    let describe = cont
        .fields
        .iter()
        .filter(|f| !f.attrs.skip.is_set())
        .map(describe_field);
    let (bindings, inits): (Vec<_>, Vec<_>) =
        cont.fields.iter().enumerate().map(build_field).unzip();
    // One failure point for all fields: a `?` per field would give every early return its
    // own drops of the fields before it, quadratic code for large structs.
    let vars: Vec<_> = cont
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.attrs.skip.is_set())
        .map(|(i, _)| quote::format_ident!("__field{}", i))
        .collect();
    let binds = quote! {
        let (#(::core::option::Option::Some(#vars),)*) = (#(#vars,)*) else {
            return ::core::option::Option::None;
        };
    };
    let finish = match a.validate.get() {
        Some(path) => quote_spanned! {path.span()=>
            __ctx.check(__value, #name, #path as fn(&Self) -> _)
        },
        None => quote!(::core::option::Option::Some(__value)),
    };

    quote! {
        #[automatically_derived]
        impl ::vault_config::__private::VaultConfig for #ident {
            fn schema() -> &'static ::vault_config::__private::Schema {
                static SCHEMA: ::vault_config::__private::OnceLock<::vault_config::__private::Schema> =
                    ::vault_config::__private::OnceLock::new();
                SCHEMA.get_or_init(::vault_config::__private::Schema::of::<Self>)
            }

            fn loader() -> ::vault_config::__private::Loader<Self> {
                ::vault_config::__private::loader::<Self>()
            }

            fn __meta() -> ::vault_config::__private::StructMeta {
                #meta
            }

            fn __describe(__builder: &mut ::vault_config::__private::SchemaBuilder) {
                #(#describe)*
            }

            fn __build(__ctx: &mut ::vault_config::__private::BuildCtx<'_>) -> ::core::option::Option<Self> {
                #(#bindings)*
                #binds
                let __value = Self { #(#inits),* };
                #finish
            }
        }
    }
}

/// The struct-level attributes as the `StructMeta` literal the schema is built from.
fn struct_meta(cont: &Container<'_>) -> TokenStream {
    let name = cont.ident.to_string();
    let a = &cont.attrs;
    let env_prefix = a
        .env_prefix
        .get()
        .map(syn::LitStr::value)
        .unwrap_or_default();
    let vault_mount = opt_str(a.vault_mount.get().map(syn::LitStr::value));
    let vault_path = opt_str(a.vault_path.get().map(syn::LitStr::value));
    let (standard, team): (Vec<_>, Vec<_>) = a
        .vault_env
        .get()
        .map(|pairs| pairs.iter().map(|(n, l)| (n.clone(), l.value())).unzip())
        .unwrap_or_default();
    let order: Vec<String> = a
        .order
        .get()
        .map(|list| list.iter().map(syn::LitStr::value).collect())
        .unwrap_or_default();
    let vault_keys = opt_str(a.vault_keys.get().map(syn::LitStr::value));
    let files: Vec<String> = a
        .files
        .get()
        .map(|list| list.iter().map(syn::LitStr::value).collect())
        .unwrap_or_default();
    let dotenv = opt_str(a.dotenv.get().map(syn::LitStr::value));
    let secrets_dirs: Vec<String> = a
        .secrets_dir
        .get()
        .map(|list| list.iter().map(syn::LitStr::value).collect())
        .unwrap_or_default();
    let allow_unknown = a.allow_unknown.is_set();
    let transit_key = opt_str(a.transit_key.get().map(syn::LitStr::value));
    let refresh_ms = match a
        .refresh
        .get()
        .and_then(|l| crate::check::parse_duration_ms(&l.value()))
    {
        Some(ms) => quote!(::core::option::Option::Some(#ms)),
        None => quote!(::core::option::Option::None),
    };

    quote! {
        ::vault_config::__private::StructMeta {
            type_name: #name,
            env_prefix: #env_prefix,
            vault_mount: #vault_mount,
            vault_path: #vault_path,
            refresh_ms: #refresh_ms,
            vault_env: &[#((#standard, #team)),*],
            order: &[#(#order),*],
            vault_keys: #vault_keys,
            files: &[#(#files),*],
            dotenv: #dotenv,
            secrets_dirs: &[#(#secrets_dirs),*],
            allow_unknown: #allow_unknown,
            transit_key: #transit_key,
        }
    }
}

fn describe_field(field: &Field<'_>) -> TokenStream {
    let name = field.name();
    let ty = field.ty;
    let a = &field.attrs;
    if a.nested.is_set() {
        return quote_spanned! {ty.span()=>
            __builder.nested::<#ty>(#name);
        };
    }
    let type_name = type_name(ty);
    let env = opt_str(a.env.get().map(syn::LitStr::value));
    // Leased credentials are secret as a whole: no default, never shown.
    let secret = a.secret.is_set() || a.lease.is_set() || a.pki.is_set() || is_secret_type(ty);
    let default = opt_str(a.default.get().map(|d| match d {
        DefaultValue::Trait => "Default::default()".to_owned(),
        DefaultValue::Str(s) => s.value(),
        DefaultValue::Expr(e) => type_name_of_expr(e),
    }));
    let default_is_text = matches!(a.default.get(), Some(DefaultValue::Str(_)));
    let optional = option_inner(ty).is_some();
    let allow_empty = a.allow_empty.is_set();
    let validated = a.validate.is_set();
    let is_static = a.is_static.is_set();
    let doc = &field.doc;
    let vault = vault_decl(a);
    let transit_key = opt_str(a.transit_key.get().map(syn::LitStr::value));
    quote! {
        __builder.field(::vault_config::__private::FieldDecl {
            name: #name,
            type_name: #type_name,
            env: #env,
            secret: #secret,
            default: #default,
            default_is_text: #default_is_text,
            optional: #optional,
            allow_empty: #allow_empty,
            validated: #validated,
            is_static: #is_static,
            doc: #doc,
            vault: #vault,
            transit_key: #transit_key,
            shape: {
                #[allow(unused_imports)]
                use ::vault_config::__private::{ShapeAny as _, ShapeVia as _};
                (&::vault_config::__private::ShapeOf::<#ty>::new()).shape()
            },
        });
    }
}

/// The field's `VaultDecl`: its `vault(..)`, or its `lease = ".."`, or its `pki = ".."` and
/// terms; `None` for a field outside Vault.
fn vault_decl(a: &crate::attr::FieldAttrs) -> TokenStream {
    let none = quote!(::core::option::Option::None);
    let (mount, path, key, aliases, folder) = match a.vault.get() {
        Some(v) => (
            opt_str(v.mount.get().map(syn::LitStr::value)),
            opt_str(v.path.get().or(v.folder.get()).map(syn::LitStr::value)),
            opt_str(v.key.get().map(syn::LitStr::value)),
            v.aliases.get().cloned().unwrap_or_default(),
            v.folder.is_set(),
        ),
        None => match a.lease.get().or(a.pki.get()) {
            Some(engine_path) => (
                none.clone(),
                quote!(::core::option::Option::Some(#engine_path)),
                none.clone(),
                Vec::new(),
                false,
            ),
            None => return none,
        },
    };
    let lease = a.vault.get().is_none() && a.lease.is_set();
    let pki = match a.pki.get().filter(|_| a.vault.get().is_none() && !lease) {
        Some(_) => {
            let common_name = a
                .common_name
                .get()
                .map(syn::LitStr::value)
                .unwrap_or_default();
            let alt_names = a.alt_names.get().into_iter().flatten();
            let ip_sans = a.ip_sans.get().into_iter().flatten();
            let ttl = opt_str(a.ttl.get().map(syn::LitStr::value));
            let renew_before = opt_str(a.renew_before.get().map(syn::LitStr::value));
            quote! {
                ::core::option::Option::Some(::vault_config::__private::PkiDecl {
                    common_name: #common_name,
                    alt_names: &[#(#alt_names),*],
                    ip_sans: &[#(#ip_sans),*],
                    ttl: #ttl,
                    renew_before: #renew_before,
                })
            }
        }
        None => none,
    };
    quote! {
        ::core::option::Option::Some(::vault_config::__private::VaultDecl {
            mount: #mount,
            path: #path,
            key: #key,
            aliases: &[#(#aliases),*],
            folder: #folder,
            lease: #lease,
            pki: #pki,
        })
    }
}

fn type_name_of_expr(e: &syn::Expr) -> String {
    let raw = quote!(#e).to_string();
    raw.replace(" :: ", "::")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// The `let` that builds one field, and its initializer in `Self { .. }`.
fn build_field((i, field): (usize, &Field<'_>)) -> (TokenStream, TokenStream) {
    let ident = field.ident;
    let ty = field.ty;
    let a = &field.attrs;
    let var = quote::format_ident!("__field{}", i);
    if a.skip.is_set() {
        return (
            TokenStream::new(),
            quote_spanned!(ty.span()=> #ident: ::core::default::Default::default()),
        );
    }
    let binding = if a.nested.is_set() {
        quote_spanned! {ty.span()=>
            let #var = <#ty as ::vault_config::__private::VaultConfig>::__build(__ctx);
        }
    } else {
        let validate = match a.validate.get() {
            Some(path) => quote_spanned! {path.span()=>
                ::core::option::Option::Some(#path as fn(&#ty) -> _)
            },
            None => quote! {
                ::core::option::Option::None::<fn(&#ty) -> ::core::result::Result<(), ::std::string::String>>
            },
        };
        let default = match a.default.get() {
            None => quote!(::core::option::Option::None),
            Some(DefaultValue::Trait) => quote_spanned! {ty.span()=>
                ::core::option::Option::Some((|| ::core::result::Result::Ok(<#ty as ::core::default::Default>::default())) as fn() -> _)
            },
            Some(DefaultValue::Str(lit)) => quote_spanned! {lit.span()=>
                ::core::option::Option::Some((|| ::vault_config::__private::from_str::<#ty>(#lit)) as fn() -> _)
            },
            Some(DefaultValue::Expr(expr)) => quote_spanned! {expr.span()=>
                ::core::option::Option::Some((|| -> ::core::result::Result<#ty, ::vault_config::__private::DeError> {
                    ::core::result::Result::Ok(#expr)
                }) as fn() -> _)
            },
        };
        quote_spanned! {ty.span()=>
            let #var = __ctx.leaf::<#ty, _>(#validate, #default);
        }
    };
    (binding, quote!(#ident: #var))
}

/// A stub impl emitted next to `compile_error!`, so that the user's calls to `load()` and
/// friends raise no follow-on errors.
pub fn fallback(ident: &syn::Ident) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl ::vault_config::__private::VaultConfig for #ident {
            fn schema() -> &'static ::vault_config::__private::Schema {
                ::core::unreachable!()
            }
            fn __meta() -> ::vault_config::__private::StructMeta {
                ::core::unreachable!()
            }
            fn __describe(_: &mut ::vault_config::__private::SchemaBuilder) {}
            fn __build(_: &mut ::vault_config::__private::BuildCtx<'_>) -> ::core::option::Option<Self> {
                ::core::option::Option::None
            }
        }
    }
}
