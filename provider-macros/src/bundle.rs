//! `#[bundle(crate::a, crate::b)]`: a group of providers that a registry in
//! another crate includes with `include(Bundle)`.
//!
//! A proc macro sees only its own tokens, so the registry cannot read a
//! bundle's list. The bundle hands it over: next to the struct it emits a
//! `macro_rules!` named like the struct (macros live in a namespace of their
//! own, so `use lib::Sqlite;` brings it along, as `use db::pool;` brings the
//! module of a provider). `#[providers(.., include(Sqlite), ..)]` calls that
//! macro with its own arguments; the macro calls `#[providers(..)]` back with
//! `__bundle([Sqlite], "Sqlite", "id", [$crate::a, $crate::b], [includes])`
//! in place of the include. The registry then lists the bundle's providers
//! by `$crate`-absolute paths, reported at the user's `include(..)` token.
//! A bundle that includes others hands back their paths; the registry calls
//! their macros in turn (a bundle reached twice is listed once).

use std::hash::{Hash as _, Hasher as _};

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Item, LitStr, Path, Token};

use crate::diagnostics::{Errors, shown};

mod kw {
    syn::custom_keyword!(include);
}

struct BundleArgs {
    providers: Vec<Path>,
    includes: Vec<Path>,
    errors: Errors,
}

impl Parse for BundleArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut providers: Vec<Path> = Vec::new();
        let mut includes: Vec<Path> = Vec::new();
        let mut errors = Errors::default();
        while !input.is_empty() {
            let (path, list, what) = if input.peek(kw::include) && input.peek2(syn::token::Paren) {
                input.parse::<kw::include>()?;
                let content;
                syn::parenthesized!(content in input);
                (content.parse::<Path>()?, &mut includes, "bundle")
            } else {
                (input.parse::<Path>()?, &mut providers, "provider")
            };
            if !from_crate_root(&path) {
                let message = if what == "bundle" {
                    let name = path.segments.last().map(|last| last.ident.to_string()).unwrap_or_default();
                    format!(
                        "a bundle names the bundles it includes by their path from the crate root, `crate::module::{name}`; \
                         to include another crate's bundle, re-export it (`pub use {};`) and name the re-export",
                        shown(&path),
                    )
                } else {
                    format!(
                        "a bundle names each provider by its path from the crate root: `crate::{}` or `crate::module::{}` \
                         (an app in another crate reaches it through the bundle)",
                        shown(&path),
                        shown(&path),
                    )
                };
                errors.push(syn::Error::new(path.span(), message));
            } else if list.iter().any(|seen| shown(seen) == shown(&path)) {
                errors
                    .push(syn::Error::new(path.span(), format!("{what} `{}` is listed twice", shown(&path))));
            } else {
                list.push(path);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Self { providers, includes, errors })
    }
}

/// `crate::..`: the only paths that mean the same in the bundle's crate and,
/// as `$crate::..`, in the app's.
fn from_crate_root(path: &Path) -> bool {
    path.leading_colon.is_none()
        && path.segments.len() > 1
        && path.segments.first().is_some_and(|segment| segment.ident == "crate")
}

/// `crate::a::b` as `$crate::a::b`.
fn dollar_crate(path: &Path) -> TokenStream {
    let rest = path.segments.iter().skip(1);
    quote!($crate #(:: #rest)*)
}

pub(crate) fn bundle(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse2::<BundleArgs>(args) {
        Ok(args) => args,
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Struct(item)) => item,
        Ok(other) => {
            errors.push(syn::Error::new(
                other.span(),
                "`#[bundle(..)]` goes on a unit struct that names the bundle: `pub struct DatabaseProviders;`",
            ));
            return with_errors(input, &errors);
        }
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    errors.extend(args.errors);
    if !matches!(item.fields, syn::Fields::Unit) {
        errors.push(syn::Error::new(
            item.fields.span(),
            "`#[bundle(..)]` goes on a unit struct: `pub struct DatabaseProviders;`",
        ));
    }
    if let Some(param) = item.generics.params.first() {
        errors.push(syn::Error::new(param.span(), "a bundle cannot be generic"));
    }
    // After an error, the macro still stands (listing nothing), so an app
    // that includes the bundle gets no second error.
    let (listed, included) =
        if errors.is_empty() { (&args.providers[..], &args.includes[..]) } else { (&[][..], &[][..]) };

    let name = &item.ident;
    let vis = &item.vis;
    let name_str = LitStr::new(&name.to_string(), name.span());
    // `#[macro_export]` puts the macro at the crate root: its name must be
    // unique in the crate, and stable across builds.
    let id = {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        name.to_string().hash(&mut hasher);
        for path in listed.iter().chain(included) {
            path.to_token_stream().to_string().hash(&mut hasher);
        }
        format!("{:016x}", hasher.finish())
    };
    let id_str = LitStr::new(&id, Span::call_site());
    let macro_name = format_ident!("__axum_providers_bundle_{}_{}", name, id);
    let providers = listed.iter().map(dollar_crate);
    let includes = included.iter().map(dollar_crate);
    // In the bundle's crate: a listed path that is not a provider is an
    // error here, at the path, not in every app that includes the bundle.
    let checks = listed.iter().map(|path| {
        quote_spanned! {path.span()=>
            #[allow(unused_imports)]
            use #path::__output as _;
        }
    });

    let errors = errors.to_compile_errors();
    quote! {
        #errors

        #item

        #[doc(hidden)]
        #[macro_export]
        macro_rules! #macro_name {
            ([$($callback:tt)*] [$($before:tt)*] [$($origin:tt)*] [$($after:tt)*] $($item:tt)*) => {
                #[$($callback)*(
                    $($before)*
                    __bundle([$($origin)*], #name_str, #id_str, [#(#providers),*], [#(#includes),*])
                    $($after)*
                )]
                $($item)*
            };
        }

        #[doc(hidden)]
        #vis use #macro_name as #name;

        const _: () = {
            #(#checks)*
            // The struct names the bundle; it is never built otherwise.
            let _ = #name;
        };
    }
}

fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let mut output = errors.to_compile_errors();
    output.extend(item);
    output
}
