//! Code generation for `#[provider]`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{ParamKind, ProviderFn, ReturnShape};
use super::attr::{ProviderArgs, TimingArg};
use crate::diagnostics::{respan, runtime_path};

/// The function as written, then the marker type named like it, then the
/// trait impls inside `const _: () = { .. };`.
pub(crate) fn expand(model: &ProviderFn, ret: &ReturnShape, args: &ProviderArgs) -> TokenStream {
    let krate = runtime_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let item = &model.item;
    let name = &item.sig.ident;
    let vis = &item.vis;
    let name_str = name.to_string();
    let docs = item.attrs.iter().filter(|attr| attr.path().is_ident("doc"));
    let scope = Ident::new(args.scope.marker(), args.scope_span);
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
    let timing = match args.timing {
        Some((TimingArg::AfterResponse, _)) => {
            Some(quote!(const TEARDOWN: #private::TeardownTiming = #private::TeardownTiming::AfterResponse;))
        }
        _ => None,
    };

    let mut bounds = Vec::new();
    let mut dep_types = Vec::new();
    let mut resolve = Vec::new();
    let mut sets_up_now = item.sig.asyncness.is_none();
    let mut call_args = Vec::new();
    let mut borrowed = Vec::new();
    for (i, param) in model.params.iter().enumerate() {
        let arg = format_ident!("__arg{}", i);
        let ty = &param.ty;
        let span = ty.span();
        match &param.kind {
            ParamKind::Dep(inner) | ParamKind::DepMut(inner) => {
                let inner_span = inner.span();
                bounds.push(quote_spanned! {inner_span=>
                    __R: #private::Provides<#inner>,
                });
                bounds.push(quote_spanned! {span=>
                    <__R as #private::Provides<#inner>>::Scope:
                        #private::InjectableInto<#private::#scope>,
                });
                let method = if matches!(param.kind, ParamKind::DepMut(_)) {
                    bounds.push(quote_spanned! {span=>
                        <__R as #private::Provides<#inner>>::Access:
                            #private::Lendable<#inner>,
                    });
                    quote!(exclusive)
                } else {
                    bounds.push(quote_spanned! {span=>
                        <__R as #private::Provides<#inner>>::Access:
                            #private::Shareable,
                    });
                    quote!(shared)
                };
                dep_types.push(inner.clone());
                resolve.push(quote! {
                    let #arg = __resolver.#method::<#inner>().await?;
                });
            }
            ParamKind::Extractor => {
                bounds.push(quote_spanned! {span=>
                    #ty: #private::ProviderParam,
                });
                resolve.push(quote! {
                    let #arg = #private::extract::<#ty, __R>(__resolver, #name_str).await?;
                });
                sets_up_now = false;
            }
            ParamKind::Borrowed(inner) => {
                let inner_span = inner.span();
                bounds.push(quote_spanned! {inner_span=>
                    #inner: #private::RequestHead,
                });
                borrowed.push(quote! {
                    let #arg = <#inner as #private::RequestHead>::borrow_from(__parts);
                });
            }
        }
        call_args.push(arg);
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
    let finish = if ret.is_result {
        let ok = produce(quote!(__value));
        quote! {
            match __returned {
                ::core::result::Result::Ok(__value) => ::core::result::Result::Ok(#ok),
                ::core::result::Result::Err(__error) => {
                    #[allow(unused_imports)]
                    use #private::error_kind::{
                        DebugKind as _, DisplayKind as _, ErrorKind as _, ResponseDisplayKind as _,
                        ResponseErrorKind as _, ResponseKind as _,
                    };
                    let __kind = (&&&&&#private::error_kind::ErrorWrap(&__error)).__provider_error_kind();
                    ::core::result::Result::Err(__kind.into_provider_error(__error, #name_str))
                }
            }
        }
    } else {
        let ok = produce(quote!(__returned));
        quote!(::core::result::Result::Ok(#ok))
    };

    let struct_span = name.span();
    let marker = quote_spanned! {struct_span=>
        #(#docs)*
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #name {}
    };

    // Spanned at the provided type: a provided type that cannot be stored
    // with its access (not `Sync` but shared) is reported there.
    let provider_impl = quote_spanned! {output_span=>
        impl #private::Provider for #name {
            type Output = #output;
            type Scope = #private::#scope;
            #access_item
            const NAME: &'static str = #name_str;
            #timing
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
    let setup_impl = quote_spanned! {struct_span=>
        impl<__R> #private::Setup<__R> for #name
        where
            __R: #private::Registry,
            #(#bounds)*
        {
            const DEPS: &'static [usize] = &[#(<__R as #private::Provides<#dep_types>>::INDEX),*];

            #sets_up_now

            #setup_fn
        }
    };

    // The registry names the provided type through this alias: an alias is
    // expanded where it is used, so the registry's impl header holds the
    // concrete type, which coherence can compare (a projection such as
    // `<pool as Provider>::Output` from another crate would make every entry
    // look like it conflicts with every other one).
    let alias = output_alias(name);
    let alias_item = quote_spanned! {struct_span=>
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis type #alias = #output;
    };

    quote! {
        #item

        #marker

        #alias_item

        #[allow(clippy::all, clippy::pedantic, non_local_definitions)]
        const _: () = {
            #provider_impl

            #setup_impl
        };
    }
}

/// The name of the alias of the type a provider function produces.
pub(crate) fn output_alias(function: &proc_macro2::Ident) -> proc_macro2::Ident {
    quote::format_ident!("__output_of_{}", function)
}
