//! The model of a provider function, keeping the user's tokens for spans.

use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

use crate::diagnostics::Errors;

/// How a parameter is resolved.
pub(crate) enum ParamKind {
    /// `Dep<T>`: shared access to another provided type.
    Dep(Type),
    /// `DepMut<T>`: exclusive access to another provided type.
    DepMut(Type),
    /// Anything else: an axum `FromRequestParts` extractor.
    Extractor,
    /// `&T`: a part of the request, borrowed (`&HeaderMap`, `&Parts`, ...).
    Borrowed(Type),
}

pub(crate) struct Param {
    pub(crate) ty: Type,
    pub(crate) kind: ParamKind,
}

/// What the function returns: `T`, `Result<T, E>`, either around `Teardown<T>`.
pub(crate) struct ReturnShape {
    /// `T`: what consumers receive.
    pub(crate) output: Type,
    pub(crate) is_result: bool,
    pub(crate) has_teardown: bool,
}

pub(crate) struct ProviderFn {
    pub(crate) item: ItemFn,
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Option<ReturnShape>,
}

impl ProviderFn {
    /// Builds the model; problems with the signature's shape go to `errors`
    /// (the rest of the rules are in `validate`).
    pub(crate) fn from_item(item: ItemFn, errors: &mut Errors) -> Self {
        let mut params = Vec::new();
        for input in &item.sig.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    let span = receiver.self_token.span;
                    errors.push(syn::Error::new(
                        span,
                        "`#[provider]` cannot take `self`: a provider is a free function; \
                         move it out of the `impl` block and take what it needs as `Dep<T>` parameters",
                    ));
                }
                FnArg::Typed(typed) => {
                    let ty = (*typed.ty).clone();
                    let kind = classify(&ty, errors);
                    params.push(Param { ty, kind });
                }
            }
        }
        let ret = return_shape(&item.sig.output, &item.sig.ident, errors);
        Self { item, params, ret }
    }
}

/// `Dep<T>`, `DepMut<T>` or an extractor, by the last path segment.
fn classify(ty: &Type, errors: &mut Errors) -> ParamKind {
    if let Type::Reference(reference) = ty {
        if let Some(mutability) = &reference.mutability {
            errors.push(syn::Error::new(
                mutability.span,
                "a provider borrows the request only immutably: `&HeaderMap`, `&Parts`, `&Uri`, `&Method`",
            ));
        }
        return ParamKind::Borrowed((*reference.elem).clone());
    }
    let Some((name, args)) = last_segment(ty) else {
        return ParamKind::Extractor;
    };
    let wrapper = match name.as_str() {
        "Dep" => ParamKind::Dep as fn(Type) -> ParamKind,
        "DepMut" => ParamKind::DepMut as fn(Type) -> ParamKind,
        _ => return ParamKind::Extractor,
    };
    match single_type_arg(args) {
        Some(inner) => wrapper(inner.clone()),
        None => {
            errors.push(syn::Error::new(
                ty.span(),
                format!("`{name}` takes one type: the provided type, as in `{name}<PgPool>`"),
            ));
            ParamKind::Extractor
        }
    }
}

fn return_shape(output: &ReturnType, name: &syn::Ident, errors: &mut Errors) -> Option<ReturnShape> {
    let ty = match output {
        ReturnType::Default => {
            errors.push(syn::Error::new(
                name.span(),
                format!(
                    "provider `{name}` returns nothing: a provider returns the value it provides, \
                     as `T`, `Result<T, E>`, `Teardown<T>` or `Result<Teardown<T>, E>`"
                ),
            ));
            return None;
        }
        ReturnType::Type(_, ty) => &**ty,
    };
    if let Type::ImplTrait(impl_trait) = ty {
        errors.push(syn::Error::new(
            impl_trait.span(),
            "a provider must name the type it provides: consumers ask for it by type, so `impl Trait` cannot be provided",
        ));
        return None;
    }
    let (is_result, ok) = match last_segment(ty) {
        Some((name, args)) if name == "Result" => match args.and_then(first_type_arg) {
            Some(ok) => (true, ok),
            None => {
                errors.push(syn::Error::new(ty.span(), "expected `Result<T, E>` with the provided type `T`"));
                return None;
            }
        },
        _ => (false, ty),
    };
    let (has_teardown, output) = match last_segment(ok) {
        Some((name, args)) if name == "Teardown" => match single_type_arg(args) {
            Some(inner) => (true, inner),
            None => {
                errors.push(syn::Error::new(ok.span(), "expected `Teardown<T>` with the provided type `T`"));
                return None;
            }
        },
        _ => (false, ok),
    };
    Some(ReturnShape { output: output.clone(), is_result, has_teardown })
}

fn last_segment(ty: &Type) -> Option<(String, Option<&syn::AngleBracketedGenericArguments>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let segment = path.path.segments.last()?;
    let args = match &segment.arguments {
        PathArguments::AngleBracketed(args) => Some(args),
        _ => None,
    };
    Some((segment.ident.to_string(), args))
}

fn single_type_arg(args: Option<&syn::AngleBracketedGenericArguments>) -> Option<&Type> {
    let args = args?;
    if args.args.len() != 1 {
        return None;
    }
    first_type_arg(args)
}

fn first_type_arg(args: &syn::AngleBracketedGenericArguments) -> Option<&Type> {
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}
