//! `#[provider]`: parse, validate, expand.

mod ast;
mod attr;
mod expand;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Item;

pub(crate) use ast::size_dyn_dep;
pub(crate) use attr::parse_crate_path;

use crate::diagnostics::Errors;

pub(crate) fn provider(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse2::<attr::WithErrors<attr::ProviderArgs>>(args) {
        Ok(parsed) => {
            errors.extend(parsed.errors);
            Some(parsed.value)
        }
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    let Item::Fn(function) = item else {
        errors.push(syn::Error::new(
            item_keyword_span(&item),
            "`#[provider]` can only be used on a function (`async fn` or `fn`) that returns the provided value",
        ));
        return with_errors(input, &errors);
    };
    let model = ast::ProviderFn::from_item(function, &mut errors);
    let krate = args.as_ref().and_then(|args| args.krate.clone());
    let Some(args) = args else {
        return with_stand_in(&model.item, krate.as_ref(), &errors);
    };
    validate::validate(&model, &args, &mut errors);
    match (&model.ret, errors.is_empty()) {
        (Some(ret), true) => expand::expand(&model, ret, &args),
        _ => with_stand_in(&model.item, krate.as_ref(), &errors),
    }
}

/// The function unchanged, the errors, and a stand-in provider under the
/// function's name that a registry can list without a second error: one
/// mistake in `#[provider]` is one error. It provides a type of its own that
/// nothing asks for, and never runs (the crate does not compile).
fn with_stand_in(function: &syn::ItemFn, krate: Option<&syn::Path>, errors: &Errors) -> TokenStream {
    if function.sig.receiver().is_some() {
        // A method: no item can stand beside it in its `impl` block.
        return with_errors(function.to_token_stream(), errors);
    }
    let private = {
        let krate = crate::diagnostics::runtime_path(krate);
        quote::quote!(#krate::__private)
    };
    let name = &function.sig.ident;
    let vis = &function.vis;
    let name_str = name.to_string();
    let module = expand::named_module(name, vis, None);
    let mut output = errors.to_compile_errors();
    output.extend(function.to_token_stream());
    output.extend(quote::quote! {
        #module

        #[allow(clippy::all, clippy::pedantic, non_local_definitions)]
        const _: () = {
            impl #private::Provider for #name::Provider {
                type Output = #name::__output::__Output;
                type Scope = #private::RequestScope;
                type Access = #private::ExclusiveAccess;
                const NAME: &'static str = #name_str;
            }

            impl<__R: #private::Registry> #private::Setup<__R> for #name::Provider {
                const DEPS: &'static [usize] = &[];

                fn setup(
                    _: &mut #private::Resolver<'_, __R>,
                ) -> impl ::core::future::Future<
                    Output = ::core::result::Result<
                        #private::Produced<#name::__output::__Output>,
                        #private::ProviderError,
                    >,
                > + ::core::marker::Send {
                    ::core::future::pending()
                }
            }
        };
    });
    output
}

/// The item unchanged plus the errors: the user sees these errors only, not a
/// cascade from a missing item.
fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let mut output = errors.to_compile_errors();
    output.extend(item);
    output
}

fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Struct(item) => item.struct_token.span,
        Item::Enum(item) => item.enum_token.span,
        Item::Union(item) => item.union_token.span,
        Item::Impl(item) => item.impl_token.span,
        Item::Trait(item) => item.trait_token.span,
        Item::Const(item) => item.const_token.span,
        Item::Static(item) => item.static_token.span,
        Item::Mod(item) => item.mod_token.span,
        Item::Type(item) => item.type_token.span,
        Item::Use(item) => item.use_token.span,
        _ => Span::call_site(),
    }
}
