//! `#[handler(AppProviders)]`: per-argument checks for a handler.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Item, PathArguments, Token, Type};

use crate::diagnostics::{Errors, respan, runtime_path, shown};
use crate::provider::{parse_crate_path, size_dyn_dep};

struct HandlerArgs {
    registry: Type,
    krate: Option<syn::Path>,
}

impl Parse for HandlerArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(
                input.error("`#[handler]` needs the app's providers type: `#[handler(AppProviders)]`")
            );
        }
        let registry: Type = input.parse()?;
        let mut krate = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let token: Token![crate] = input.parse().map_err(|_| {
                input
                    .error("unknown argument: `#[handler]` accepts the providers type and `crate = \"path\"`")
            })?;
            input.parse::<Token![=]>()?;
            if krate.replace(parse_crate_path(input)?).is_some() {
                return Err(syn::Error::new(token.span, "duplicate `crate` argument"));
            }
        }
        Ok(Self { registry, krate })
    }
}

pub(crate) fn handler(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse2::<HandlerArgs>(args) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    let mut function = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Fn(function)) => function,
        Ok(other) => {
            errors.push(syn::Error::new(other.span(), "`#[handler]` can only be used on a handler function"));
            return with_errors(input, &errors);
        }
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    let Some(args) = args else {
        return with_errors(input, &errors);
    };
    let krate = runtime_path(args.krate.as_ref());
    let registry = &args.registry;
    // Types that name the handler's own generic parameters (or `Self`)
    // cannot be checked from here: they are checked where the handler is
    // used, as without the attribute.
    let generic: Vec<String> = function
        .sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            syn::GenericParam::Type(param) => Some(param.ident.to_string()),
            syn::GenericParam::Const(param) => Some(param.ident.to_string()),
            syn::GenericParam::Lifetime(_) => None,
        })
        .chain(std::iter::once("Self".to_owned()))
        .collect();
    let mut checks = Vec::new();
    // A request lends an exclusive value to one `DepMut` at a time: a second
    // one of the same type in the same handler would answer 500 on every
    // request.
    let mut lent: Vec<String> = Vec::new();
    // The provided arguments (`Dep`, `DepMut`), set up together in front of
    // the first one.
    let mut provided: Vec<Type> = Vec::new();
    let mut first_provided = None;
    for (position, input) in function.sig.inputs.iter_mut().enumerate() {
        let FnArg::Typed(typed) = input else { continue };
        if let Some(wrapper) = optional_dep(&typed.ty) {
            errors.push(syn::Error::new(
                typed.ty.span(),
                format!(
                    "`Option<{wrapper}<..>>` is not an extractor: a handler's `{wrapper}<T>` is always provided \
                     (a missing provider is a compile error); for a value that may be absent, provide `Option<T>` \
                     and take `Dep<Option<T>>`"
                ),
            ));
            continue;
        }
        let written = provided_type(&typed.ty).map(|(name, inner)| (name, shown(inner)));
        if size_dyn_dep(&mut typed.ty)
            && let Some((name, object)) = written
        {
            // Emitted with the type the error suggests: the only error.
            errors.push(syn::Error::new(
                typed.ty.span(),
                format!(
                    "`{name}<{object}>` cannot be provided: a provided type has a size; \
                     provide the interface as `Arc<{object}>` and ask for `{name}<Arc<{object}>>`"
                ),
            ));
        }
        let Some((name, inner)) = provided_type(&typed.ty) else { continue };
        if mentions(inner, &generic) {
            continue;
        }
        let span = inner.span();
        if name != "Lazy" {
            first_provided.get_or_insert(position);
            provided.push(inner.clone());
        }
        if name == "DepMut" {
            let key = quote!(#inner).to_string();
            if lent.contains(&key) {
                errors.push(syn::Error::new(
                    typed.ty.span(),
                    format!(
                        "`DepMut<{key}>` is already an argument of this handler: a request lends an exclusive value to one `DepMut` at a time; take it once and pass `&mut` to the code that needs it"
                    ),
                ));
            }
            lent.push(key);
        }
        let check = if name == "DepMut" {
            quote! { #krate::__private::assert_exclusive::<#registry, #inner>(); }
        } else {
            quote! { #krate::__private::assert_shared::<#registry, #inner>(); }
        };
        // Every token at the argument's type: the error is reported there.
        checks.push(respan(check, span));
    }
    // The checks go first in the body, as an item of their own: that works
    // for a free function, a method and an associated function alike.
    if !checks.is_empty() {
        let body = &function.block;
        let checked: syn::Block = syn::parse_quote! {{
            #[allow(clippy::all, clippy::pedantic, dead_code)]
            fn __check_handler_arguments() {
                #(#checks)*
            }
            #body
        }};
        *function.block = checked;
    }
    // Their providers that wait and do not depend on each other are set up
    // concurrently: axum extracts arguments one after the other.
    if let Some(position) = first_provided.filter(|_| (2..=MAX_TOGETHER).contains(&provided.len())) {
        let together: FnArg = syn::parse_quote! {
            _: #krate::Together<(#(#provided,)*)>
        };
        function.sig.inputs.insert(position, together);
    }
    let errors = errors.to_compile_errors();
    quote! {
        #errors

        #function
    }
}

/// The most provided arguments set up together (`ProvidedSet`'s tuples).
const MAX_TOGETHER: usize = 16;

/// `Option<Dep<T>>` (or `DepMut`, `Lazy`): the name of the wrapper.
fn optional_dep(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(inner) => provided_type(inner).map(|(name, _)| name),
        _ => None,
    })
}

/// Whether `ty` names one of `names` (a generic parameter, `Self`).
fn mentions(ty: &Type, names: &[String]) -> bool {
    use syn::visit::Visit;

    struct Mentions<'n>(&'n [String], bool);

    impl<'ast> Visit<'ast> for Mentions<'_> {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
            if self.0.iter().any(|name| ident == name) {
                self.1 = true;
            }
        }
    }

    let mut visitor = Mentions(names, false);
    visitor.visit_type(ty);
    visitor.1
}

fn provided_type(ty: &Type) -> Option<(String, &Type)> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    let name = segment.ident.to_string();
    if name != "Dep" && name != "DepMut" && name != "Lazy" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else { return None };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(inner) => Some((name.clone(), inner)),
        _ => None,
    })
}

fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let mut output = errors.to_compile_errors();
    output.extend(item);
    output
}
