//! Rules that involve more than one part of the provider.

use syn::spanned::Spanned;

use super::ast::{ParamKind, ProviderFn};
use super::attr::{ProviderArgs, ScopeArg};
use crate::diagnostics::Errors;
use crate::provider::ast::ReturnShape;

pub(crate) fn validate(model: &ProviderFn, args: &ProviderArgs, errors: &mut Errors) {
    let sig = &model.item.sig;
    let name = &sig.ident;
    // Lifetime parameters are fine (`fn host<'a>(headers: &'a HeaderMap) ->
    // String`); a borrowed output is reported where the type is read.
    let generic = sig.generics.params.iter().find(|param| !matches!(param, syn::GenericParam::Lifetime(_)));
    if let Some(param) = generic {
        errors.push(syn::Error::new(
            param.span(),
            format!(
                "provider `{name}` cannot be generic: each provider produces one concrete type; \
                 write one provider per type (use newtypes for distinct roles)"
            ),
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new(unsafety.span, "a provider cannot be an `unsafe fn`"));
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new(constness.span, "a provider cannot be a `const fn`"));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new(abi.span(), "a provider cannot have an `extern` ABI"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new(variadic.span(), "a provider cannot be variadic"));
    }
    if let (Some(span), ScopeArg::App) = (args.exclusive, args.scope) {
        errors.push(syn::Error::new(
            span,
            "an app-scoped value is shared by every request and cannot be `exclusive`; \
             put a pool or a lock inside it, or make the provider request-scoped",
        ));
    }
    if let (Some((_, span)), false) = (&args.health, args.scope == ScopeArg::App) {
        errors.push(syn::Error::new(
            *span,
            "`health = ..` checks an app-scoped value (a pool, a client): add `scope = app`, or remove it",
        ));
    }
    if let Some((_, span)) = args.timing {
        if args.scope == ScopeArg::App {
            errors.push(syn::Error::new(
                span,
                "`teardown = ..` applies to request-scoped and transient providers: app-scoped values are torn down at shutdown",
            ));
        } else if matches!(&model.ret, Some(ReturnShape { has_teardown: false, .. })) {
            errors.push(syn::Error::new(
                span,
                format!("`teardown = ..` needs a teardown: make `{name}` return `Teardown<T>` (or `Result<Teardown<T>, E>`)"),
            ));
        }
    }
    for param in &model.params {
        if let syn::Type::ImplTrait(impl_trait) = &param.ty {
            errors.push(syn::Error::new(
                impl_trait.span(),
                "a provider parameter must name its type: `impl Trait` makes the provider generic",
            ));
            continue;
        }
        if args.scope == ScopeArg::App && matches!(param.kind, ParamKind::Extractor | ParamKind::Borrowed(_))
        {
            let shown = crate::diagnostics::shown(&param.ty);
            errors.push(syn::Error::new(
                param.ty.span(),
                format!(
                    "app-scoped provider `{name}` cannot take the request extractor `{shown}`: \
                     app-scoped values are set up once, at startup, outside any request; \
                     make the provider request-scoped (remove `scope = app`), \
                     or take provided values only (`Dep<T>`)"
                ),
            ));
        }
    }
}
