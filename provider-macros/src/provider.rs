//! `#[provider]`: parse, validate, expand.

mod ast;
mod attr;
mod expand;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Item;

pub(crate) use attr::parse_crate_path;
pub(crate) use expand::output_alias;

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
    let Some(args) = args else {
        return with_errors(model.item.into_token_stream(), &errors);
    };
    validate::validate(&model, &args, &mut errors);
    match (&model.ret, errors.is_empty()) {
        (Some(ret), true) => expand::expand(&model, ret, &args),
        _ => with_errors(model.item.into_token_stream(), &errors),
    }
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
