//! The input model: a struct with named fields, its attributes and doc comments.

use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{ContainerAttrs, FieldAttrs};
use crate::ctxt::Ctxt;

pub struct Container<'a> {
    pub ident: &'a Ident,
    pub attrs: ContainerAttrs,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
    pub doc: String,
}

impl<'a> Container<'a> {
    /// The model of `input`, or `None` when its shape is not supported (reported in `cx`).
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Self> {
        let attrs = ContainerAttrs::parse(cx, &input.attrs);
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "#[derive(VaultConfig)] does not support generic structs; use a concrete struct",
            );
        }
        let named = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(_) => {
                    cx.error_spanned_by(
                        &s.fields,
                        "#[derive(VaultConfig)] does not support tuple structs; name the fields",
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error_spanned_by(
                        &input.ident,
                        "#[derive(VaultConfig)] does not support unit structs; add named fields",
                    );
                    return None;
                }
            },
            Data::Enum(e) => {
                cx.error_spanned_by(
                    e.enum_token,
                    "#[derive(VaultConfig)] does not support enums; use a struct with named fields",
                );
                return None;
            }
            Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    "#[derive(VaultConfig)] does not support unions; use a struct with named fields",
                );
                return None;
            }
        };
        let fields = named
            .named
            .iter()
            .filter_map(|f| {
                Some(Field {
                    ident: f.ident.as_ref()?,
                    ty: &f.ty,
                    attrs: FieldAttrs::parse(cx, &f.attrs),
                    doc: doc_text(&f.attrs),
                })
            })
            .collect();
        Some(Container {
            ident: &input.ident,
            attrs,
            fields,
        })
    }
}

/// The `///` text: each line trimmed, paragraphs kept.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => Some(s.value().trim().to_owned()),
            _ => None,
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

impl Field<'_> {
    /// The field name without a raw-identifier prefix.
    pub fn name(&self) -> String {
        self.ident.to_string().trim_start_matches("r#").to_owned()
    }
}

/// The last path segment of a type and its generic arguments, e.g. `Option` and `<T>`.
pub fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// The `T` of `Option<T>`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    if seg.ident != "Option" {
        return None;
    }
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

/// The secrecy types (and `SecretFolder`) by their last path segment.
const SECRET_TYPES: &[&str] = &["SecretString", "SecretBox", "SecretSlice", "SecretFolder"];

/// Whether the type holds a secret anywhere in it: `SecretString`, `SecretBox<T>`,
/// `SecretSlice<T>` or `SecretFolder`, also inside `Option`, `Vec`, maps, `Arc`, `Box`,
/// tuples, arrays and references (`Vec<SecretString>`, `Option<HashMap<String,
/// SecretString>>`). A type alias cannot be seen through: such a field needs
/// `#[config(secret)]`.
pub fn is_secret_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => {
            p.qself.as_ref().is_some_and(|q| is_secret_type(&q.ty))
                || p.path.segments.iter().any(|seg| {
                    SECRET_TYPES.iter().any(|s| seg.ident == s)
                        || match &seg.arguments {
                            syn::PathArguments::AngleBracketed(args) => {
                                args.args.iter().any(|a| match a {
                                    syn::GenericArgument::Type(t) => is_secret_type(t),
                                    _ => false,
                                })
                            }
                            _ => false,
                        }
                })
        }
        Type::Group(g) => is_secret_type(&g.elem),
        Type::Paren(p) => is_secret_type(&p.elem),
        Type::Array(a) => is_secret_type(&a.elem),
        Type::Slice(s) => is_secret_type(&s.elem),
        Type::Reference(r) => is_secret_type(&r.elem),
        Type::Tuple(t) => t.elems.iter().any(is_secret_type),
        _ => false,
    }
}

/// Whether the type is plainly not a secret holder: std's strings, numbers, `bool`, `char`,
/// and containers of only those. `#[config(secret)]` on such a type is an error (its value
/// would print through the struct's own `Debug`); on any other type (a type alias of a
/// secrecy type, say) it is taken at its word.
pub fn is_plain_type(ty: &Type) -> bool {
    const PLAIN: &[&str] = &[
        "String", "str", "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f32", "f64", "PathBuf", "Duration",
    ];
    const CONTAINERS: &[&str] = &["Option", "Vec", "Box", "Arc", "HashMap", "BTreeMap"];
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let Some(seg) = p.path.segments.last() else {
                return false;
            };
            if PLAIN.iter().any(|s| seg.ident == s) {
                return true;
            }
            CONTAINERS.iter().any(|s| seg.ident == s)
                && match &seg.arguments {
                    syn::PathArguments::AngleBracketed(args) => args.args.iter().all(|a| match a {
                        syn::GenericArgument::Type(t) => is_plain_type(t),
                        _ => true,
                    }),
                    _ => false,
                }
        }
        Type::Group(g) => is_plain_type(&g.elem),
        Type::Paren(p) => is_plain_type(&p.elem),
        Type::Reference(r) => is_plain_type(&r.elem),
        Type::Tuple(t) => !t.elems.is_empty() && t.elems.iter().all(is_plain_type),
        _ => false,
    }
}

/// Whether the type is `SecretFolder` or `Option<SecretFolder>`.
pub fn is_folder_type(ty: &Type) -> bool {
    let ty = option_inner(ty).unwrap_or(ty);
    last_segment(ty).is_some_and(|s| s.ident == "SecretFolder")
}

/// The type as the user wrote it, with the spaces `quote` adds removed.
pub fn type_name(ty: &Type) -> String {
    let raw = quote::quote!(#ty).to_string();
    let mut out = String::with_capacity(raw.len());
    let chars: Vec<char> = raw.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let tight =
                |c: Option<char>| matches!(c, Some('<' | '>' | ':' | '&' | '(' | ')' | '[' | ']'));
            if tight(prev) || tight(next) || next == Some(',') {
                continue;
            }
        }
        out.push(c);
    }
    out
}
