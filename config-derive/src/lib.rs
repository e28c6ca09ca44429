//! `#[derive(VaultConfig)]` for [`vault-config`](https://docs.rs/vault-config). Use it through
//! the facade crate, which documents the attributes.
//!
//! This crate only dispatches: `ast` + `attr` parse, `check` validates across fields,
//! `expand` writes the impl. Every misuse is reported at once, spanned on its token.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `vault_config::VaultConfig` for a struct with named fields.
#[proc_macro_derive(VaultConfig, attributes(config))]
pub fn derive_vault_config(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    derive(&input).into()
}

fn derive(input: &DeriveInput) -> proc_macro2::TokenStream {
    let cx = ctxt::Ctxt::default();
    let container = ast::Container::from_ast(&cx, input);
    if let Some(container) = &container {
        check::check(&cx, container);
    }
    match (cx.check(), container) {
        (Ok(()), Some(container)) => expand::expand(&container),
        (Err(err), _) => {
            let errors = err.to_compile_error();
            // A stub for a generic struct would raise errors of its own.
            let stub = input
                .generics
                .params
                .is_empty()
                .then(|| expand::fallback(&input.ident));
            quote::quote!(#errors #stub)
        }
        (Ok(()), None) => unreachable_shape(input),
    }
}

/// `from_ast` returns `None` only after recording an error; kept total rather than panicking.
fn unreachable_shape(input: &DeriveInput) -> proc_macro2::TokenStream {
    syn::Error::new_spanned(
        &input.ident,
        "#[derive(VaultConfig)] could not read this item",
    )
    .to_compile_error()
}
