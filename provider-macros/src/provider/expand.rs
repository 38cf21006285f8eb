//! Code generation for `#[provider]`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

use super::ast::{ParamKind, ProviderFn, ReturnShape};
use super::attr::{ProviderArgs, ScopeArg, TimingArg};
use crate::diagnostics::{respan, runtime_path, shown};

/// The function as written, then the marker type named like it, then the
/// trait impls inside `const _: () = { .. };`.
pub(crate) fn expand(model: &ProviderFn, ret: &ReturnShape, args: &ProviderArgs) -> TokenStream {
    let krate = runtime_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let item = &model.item;
    let name = &item.sig.ident;
    let vis = &item.vis;
    let name_str = args.name.as_ref().map_or_else(|| name.to_string(), syn::LitStr::value);
    let scope = Ident::new(args.scope.marker(), args.scope_span);
    let scope_kind = match args.scope {
        ScopeArg::App => quote!(#private::ScopeKind::App),
        ScopeArg::Request => quote!(#private::ScopeKind::Request),
        ScopeArg::Transient => quote!(#private::ScopeKind::Transient),
    };
    let output = &ret.output;
    let access = if args.exclusive.is_some() { quote!(ExclusiveAccess) } else { quote!(SharedAccess) };
    let output_span = output.span();
    let health = args.health.as_ref().map(|(check, _)| {
        let check_span = check.span();
        quote_spanned! {check_span=>
            const HEALTH: ::core::option::Option<#private::HealthCheck> = ::core::option::Option::Some({
                fn __health(
                    stored: &#private::Stored,
                ) -> #private::BoxFuture<'static, ::core::result::Result<(), #private::BoxError>> {
                    let value = #private::app_value::<#output>(stored);
                    ::std::boxed::Box::pin(async move {
                        match value {
                            ::core::option::Option::Some(value) => {
                                #private::TeardownResult::into_teardown_result(#check(&*value).await)
                            }
                            ::core::option::Option::None => ::core::result::Result::Err(
                                ::core::convert::From::from("the app-scoped value has an unexpected type"),
                            ),
                        }
                    })
                }
                __health
            });
        }
    });
    let access_item = respan(quote!(type Access = #private::#access;), output_span);
    let has_teardown = ret.has_teardown.then(|| {
        quote!(
            const HAS_TEARDOWN: bool = true;
        )
    });
    let timing = match args.timing {
        Some((TimingArg::AfterResponse, _)) => {
            Some(quote!(const TEARDOWN: #private::TeardownTiming = #private::TeardownTiming::AfterResponse;))
        }
        _ => None,
    };

    let mut bounds = Vec::new();
    let mut dep_indexes = Vec::new();
    let mut resolve = Vec::new();
    let mut sets_up_now = item.sig.asyncness.is_none();
    let mut uses_request = false;
    let mut call_args = Vec::new();
    let mut borrowed = Vec::new();
    let mut extractions = Vec::new();
    for (i, param) in model.params.iter().enumerate() {
        let arg = format_ident!("__arg{}", i);
        let ty = &param.ty;
        let span = ty.span();
        match &param.kind {
            ParamKind::Dep(inner) | ParamKind::DepMut(inner) => {
                let inner_span = inner.span();
                bounds.push(respan(
                    quote! {
                        __R: #private::Provides<#inner>,
                    },
                    inner_span,
                ));
                // The scope and access checks run while the registry's
                // table is evaluated, and fail here, at the parameter, naming
                // the dependency's provider and the fix.
                let shown = shown(inner);
                let exclusive = matches!(param.kind, ParamKind::DepMut(_));
                let check = quote_spanned! {inner_span=>
                    if !#private::dependency_allowed::<__R, #inner>(#scope_kind, #exclusive) {
                        ::core::panic!(
                            "{}",
                            #private::dependency_violation::<__R, #inner>(#name_str, #scope_kind, #shown, #exclusive)
                                .as_str()
                        )
                    }
                };
                let inner_for_index = inner.clone();
                dep_indexes.push(quote! {
                    {
                        #check
                        <__R as #private::Provides<#inner_for_index>>::INDEX
                    }
                });
                let method = if exclusive { quote!(lend) } else { quote!(shared) };
                resolve.push(quote! {
                    let #arg = __resolver.#method::<#inner>().await?;
                });
            }
            ParamKind::Extractor => {
                bounds.push(respan(
                    quote! {
                        #ty: #private::ProviderParam,
                    },
                    span,
                ));
                extractions.push(quote! {
                    let #arg = #private::extract::<#ty, __R>(__resolver, #name_str).await?;
                });
                sets_up_now = false;
                uses_request = true;
            }
            ParamKind::Borrowed(inner) => {
                let inner_span = inner.span();
                bounds.push(respan(
                    quote! {
                        #inner: #private::RequestHead,
                    },
                    inner_span,
                ));
                borrowed.push(quote! {
                    let #arg = <#inner as #private::RequestHead>::borrow_from(__parts);
                });
                uses_request = true;
            }
        }
        call_args.push(arg);
    }
    // Extractors run first; a provider that does not borrow from the
    // request is then done with it, and gives it back to the setups that
    // wait for it (concurrent setup).
    if !extractions.is_empty() {
        let release = borrowed.is_empty().then(|| quote!(__resolver.done_with_request();));
        resolve.splice(0..0, extractions.into_iter().chain(release));
    }
    // Borrows of the request come last: every other argument needs the
    // resolver, which lends the request's parts.
    if !borrowed.is_empty() {
        resolve.push(quote! {
            let __parts = #private::request_parts::<__R>(__resolver, #name_str)?;
            #(#borrowed)*
        });
    }

    let call = if item.sig.asyncness.is_some() {
        quote!(#name(#(#call_args),*).await)
    } else {
        quote!(#name(#(#call_args),*))
    };
    let produce = |value: TokenStream| {
        if ret.has_teardown {
            quote!(#private::Produced::with_teardown(#value))
        } else {
            quote!(#private::Produced::value(#value))
        }
    };
    // At the error type: an error type that is neither a response nor an
    // error is reported there.
    let into_provider_error = Ident::new("into_provider_error", ret.error_span);
    let result_alias_check = ret.result_alias.as_ref().map(|(alias, ok)| {
        let check = respan(quote!(#private::assert_result_alias::<#alias, #ok>();), alias.span());
        quote! {
            #[allow(dead_code)]
            fn __check_result_alias() {
                #check
            }
        }
    });
    let finish = if ret.is_result {
        let ok = produce(quote!(__value));
        quote! {
            match __returned {
                ::core::result::Result::Ok(__value) => ::core::result::Result::Ok(#ok),
                ::core::result::Result::Err(__error) => {
                    #[allow(unused_imports)]
                    use #private::error_kind::{
                        DebugKind as _, DisplayKind as _, ErrorKind as _, NotAnErrorKind as _,
                        ResponseDisplayKind as _, ResponseErrorKind as _, ResponseKind as _,
                    };
                    let __kind = (&&&&&&#private::error_kind::ErrorWrap(&__error)).__provider_error_kind();
                    ::core::result::Result::Err(__kind.#into_provider_error(__error, #name_str))
                }
            }
        }
    } else {
        let ok = produce(quote!(__returned));
        quote!(::core::result::Result::Ok(#ok))
    };

    let struct_span = name.span();
    let marker_path = quote_spanned! {struct_span=> #name::Provider };
    let module = named_module(name, vis, Some(output));

    // Spanned at the provided type: a provided type that cannot be stored
    // with its access (not `Sync` but shared) is reported there.
    let provider_impl = quote_spanned! {output_span=>
        impl #private::Provider for #marker_path {
            type Output = #output;
            type Scope = #private::#scope;
            #access_item
            const NAME: &'static str = #name_str;
            #timing
            #has_teardown
            #health
        }
    };

    // Spanned at the function's name: a dependency cycle is reported with
    // one note per provider, each pointing at its name.
    // Locals (`__resolver`, `__returned`) are declared and used with the
    // call-site span only: a span from the user's tokens can carry another
    // hygiene context (a provider written inside a `macro_rules!`).
    let setup_fn = quote! {
        #[allow(unused_variables)]
        fn setup(
            __resolver: &mut #private::Resolver<'_, __R>,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<#private::Produced<#output>, #private::ProviderError>,
        > + ::core::marker::Send {
            async move {
                #(#resolve)*
                let __returned = #call;
                #finish
            }
        }
    };
    let sets_up_now = sets_up_now.then(|| {
        quote!(
            const SETS_UP_NOW: bool = true;
        )
    });
    let uses_request = uses_request.then(|| {
        quote!(
            const USES_REQUEST: bool = true;
        )
    });
    let setup_impl = quote_spanned! {struct_span=>
        impl<__R> #private::Setup<__R> for #marker_path
        where
            __R: #private::Registry,
            #(#bounds)*
        {
            const DEPS: &'static [usize] = &[#(#dep_indexes),*];

            #sets_up_now

            #uses_request

            #setup_fn
        }
    };

    quote! {
        #item

        #module

        #[allow(clippy::all, clippy::pedantic, non_local_definitions)]
        const _: () = {
            #provider_impl

            #setup_impl

            #result_alias_check
        };
    }
}

/// The module named like the provider function, which `#[providers(..)]`
/// reaches through the path it is given: functions and modules live in
/// separate namespaces, so `use db::pool;` and `use db::pool as p;` carry the
/// module along with the function.
///
/// It holds the marker the runtime's traits are implemented for, and an alias
/// of the provided type: an alias is expanded where it is used, so the
/// registry's impl headers hold the concrete type, which coherence can compare
/// (a projection such as `<pool::Provider as Provider>::Output` would make
/// every entry look like it conflicts with every other one). The alias sits in
/// a module of its own whose only names are its own (`__Output`, and
/// `__Provider` for the marker), so no name of the marker's module shadows a
/// type the user's output names. The registry imports that module once per
/// entry (`use pool::__output as ..`): a listed name that is not a provider
/// (a type, a function without `#[provider]`) is then one error, at the name.
///
/// `output` is `None` for the stand-in of a provider whose attribute is
/// wrong: it provides an empty type of its own, which nothing asks for.
pub(crate) fn named_module(name: &Ident, vis: &syn::Visibility, output: Option<&syn::Type>) -> TokenStream {
    let (unprovided, output) = match output {
        Some(output) => {
            let mut output = output.clone();
            TwoLevelsDown.visit_type_mut(&mut output);
            (None, quote!(#output))
        }
        None => (
            Some(quote! {
                #[doc(hidden)]
                pub enum Unprovided {}
            }),
            quote!(super::Unprovided),
        ),
    };
    let one_down = nested_visibility(vis, 1);
    let two_down = nested_visibility(vis, 2);
    quote_spanned! {name.span()=>
        #[doc(hidden)]
        #[allow(unreachable_pub)]
        #vis mod #name {
            #[allow(dead_code)]
            #one_down struct Provider {}

            #unprovided

            #[doc(hidden)]
            #one_down mod __output {
                #[allow(unused_imports)]
                use super::super::*;
                #[allow(non_camel_case_types)]
                #two_down type __Output = #output;
                #[allow(unused_imports)]
                #two_down use super::Provider as __Provider;
            }
        }
    }
}

/// `vis` as written beside the function, said `depth` modules further down:
/// an item private to the function's module becomes `pub(super)` one level
/// down. The items of the named module must be exactly as visible as the
/// function: more, and a private output type would be in a public interface.
fn nested_visibility(vis: &syn::Visibility, depth: usize) -> TokenStream {
    let supers = || {
        let supers = std::iter::repeat_n(quote!(super), depth);
        quote!(#(#supers)::*)
    };
    match vis {
        syn::Visibility::Public(_) => quote!(#vis),
        syn::Visibility::Inherited => {
            let path = supers();
            quote!(pub(in #path))
        }
        syn::Visibility::Restricted(restricted) => {
            let path = &*restricted.path;
            let first = path.segments.first().map(|segment| segment.ident.to_string());
            match first.as_deref() {
                Some("crate") if path.leading_colon.is_none() => quote!(#vis),
                Some("self") => {
                    let prefix = supers();
                    let rest = path.segments.iter().skip(1);
                    quote!(pub(in #prefix #(::#rest)*))
                }
                _ => {
                    let prefix = supers();
                    quote!(pub(in #prefix::#path))
                }
            }
        }
    }
}

/// Rewrites the paths of a type written beside the provider function so they
/// mean the same two modules further down: `self::X` becomes
/// `super::super::X`, `super::X` becomes `super::super::super::X`.
struct TwoLevelsDown;

impl VisitMut for TwoLevelsDown {
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        if path.leading_colon.is_none()
            && let Some(first) = path.segments.first()
            && (first.ident == "self" || first.ident == "super")
        {
            let span = first.ident.span();
            let is_self = first.ident == "self";
            let mut segments: syn::punctuated::Punctuated<syn::PathSegment, syn::Token![::]> =
                syn::punctuated::Punctuated::new();
            segments.push(syn::PathSegment::from(Ident::new("super", span)));
            segments.push(syn::PathSegment::from(Ident::new("super", span)));
            for (index, segment) in std::mem::take(&mut path.segments).into_iter().enumerate() {
                if index == 0 && is_self {
                    continue;
                }
                segments.push(segment);
            }
            path.segments = segments;
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}
