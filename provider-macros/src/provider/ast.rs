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
    /// The return type and its `Ok` type, when it is read as a `Result`
    /// through an alias whose name ends in `Result` (`DbResult<Pool>`,
    /// `io::Result<Config>`): the generated code checks that it is one.
    pub(crate) result_alias: Option<(Type, Type)>,
    /// Where a problem with the error type is reported: `E` of `Result<T, E>`,
    /// or the whole return type.
    pub(crate) error_span: proc_macro2::Span,
}

pub(crate) struct ProviderFn {
    pub(crate) item: ItemFn,
    pub(crate) params: Vec<Param>,
    pub(crate) ret: Option<ReturnShape>,
}

impl ProviderFn {
    /// Builds the model; problems with the signature's shape go to `errors`
    /// (the rest of the rules are in `validate`).
    pub(crate) fn from_item(mut item: ItemFn, errors: &mut Errors) -> Self {
        let mut params = Vec::new();
        for input in &mut item.sig.inputs {
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
                    // The function is emitted as written: with the type the
                    // error suggests, so it is the only error.
                    size_dyn_dep(&mut typed.ty);
                    params.push(Param { ty, kind });
                }
            }
        }
        let ret = return_shape(&item.sig.output, &item.sig.ident, errors);
        Self { item, params, ret }
    }
}

/// Rewrites `Dep<dyn Trait>` (and `DepMut<..>`, `Lazy<..>`) to
/// `Dep<Arc<dyn Trait>>`, the spelling the error about it suggests: emitted
/// with the error, the function then compiles, and the error is the only one.
/// Returns whether it rewrote.
pub(crate) fn size_dyn_dep(ty: &mut Type) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(segment) = path.path.segments.last_mut() else { return false };
    if !matches!(segment.ident.to_string().as_str(), "Dep" | "DepMut" | "Lazy") {
        return false;
    }
    let PathArguments::AngleBracketed(args) = &mut segment.arguments else { return false };
    let mut rewrote = false;
    for arg in &mut args.args {
        if let GenericArgument::Type(inner @ Type::TraitObject(_)) = arg {
            let object = inner.clone();
            *inner = syn::parse_quote_spanned!(object.span()=> ::std::sync::Arc<#object>);
            rewrote = true;
        }
    }
    rewrote
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
        Some(Type::TraitObject(object)) => {
            let shown = crate::diagnostics::shown(object);
            errors.push(syn::Error::new(
                object.span(),
                format!(
                    "`{name}<{shown}>` cannot be provided: a provided type has a size; \
                     provide the interface as `Arc<{shown}>` and ask for `{name}<Arc<{shown}>>`"
                ),
            ));
            ParamKind::Extractor
        }
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
    // `Result<T, E>`, or an alias of one: a name ending in `Result` with a
    // type argument (`DbResult<T>`, `io::Result<T>`), checked to be a
    // `Result` by the generated code.
    let (is_result, ok, result_alias, error_span) = match last_segment(ty) {
        Some((name, args)) if name == "Result" => match args.and_then(first_type_arg) {
            Some(ok) => {
                let error = args.and_then(|args| args.args.iter().filter_map(type_arg).nth(1));
                (true, ok, None, error.map_or_else(|| ty.span(), Spanned::span))
            }
            None => {
                errors.push(syn::Error::new(ty.span(), "expected `Result<T, E>` with the provided type `T`"));
                return None;
            }
        },
        Some((name, Some(args))) if name.ends_with("Result") && first_type_arg(args).is_some() => {
            let ok = first_type_arg(args)?;
            (true, ok, Some((ty.clone(), ok.clone())), ty.span())
        }
        _ => (false, ty, None, ty.span()),
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
    if let Some(borrow) = borrowed_part(output) {
        errors.push(syn::Error::new(
            borrow,
            "a provided value must own its data: it outlives the provider's arguments \
             (the request's parts among them), so it cannot borrow from them; \
             return an owned type (`String` rather than `&str`, `HeaderValue`, `Arc<T>`)",
        ));
        return None;
    }
    Some(ReturnShape { output: output.clone(), is_result, has_teardown, result_alias, error_span })
}

/// The span of the first borrow in `ty` that is not `'static`: a reference
/// (`&str`, `&'a T`) or a lifetime argument (`View<'_>`, `View<'a>`).
pub(crate) fn borrowed_part(ty: &Type) -> Option<proc_macro2::Span> {
    use syn::visit::Visit;

    struct Borrows(Option<proc_macro2::Span>);

    impl<'ast> Visit<'ast> for Borrows {
        fn visit_type_reference(&mut self, reference: &'ast syn::TypeReference) {
            let is_static = reference.lifetime.as_ref().is_some_and(|lifetime| lifetime.ident == "static");
            if !is_static && self.0.is_none() {
                self.0 = Some(reference.and_token.span);
            }
            syn::visit::visit_type_reference(self, reference);
        }

        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            if lifetime.ident != "static" && self.0.is_none() {
                self.0 = Some(lifetime.span());
            }
        }
    }

    let mut borrows = Borrows(None);
    borrows.visit_type(ty);
    borrows.0
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
    args.args.iter().find_map(type_arg)
}

fn type_arg(arg: &GenericArgument) -> Option<&Type> {
    match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}
