//! `#[providers(a, b, c)]`: the registry of an app.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Item, Path, Token};

use crate::diagnostics::{Errors, runtime_path};
use crate::provider::parse_crate_path;

struct RegistryArgs {
    providers: Vec<Path>,
    /// `autouse = [a, b]`: set up for every request before its handler.
    autouse: Vec<Path>,
    krate: Option<Path>,
    errors: Errors,
}

impl Parse for RegistryArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut providers: Vec<Path> = Vec::new();
        let mut autouse: Vec<Path> = Vec::new();
        let mut krate = None;
        let mut errors = Errors::default();
        while !input.is_empty() {
            if input.peek(syn::Ident) && input.peek2(Token![=]) {
                let key: syn::Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                if key != "autouse" {
                    errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`: `#[providers(..)]` takes provider names, `autouse = [..]` and `crate = \"path\"`"
                        ),
                    ));
                    let _skipped: syn::Expr = input.parse()?;
                } else {
                    let content;
                    syn::bracketed!(content in input);
                    let list = content.parse_terminated(Path::parse, Token![,])?;
                    if !autouse.is_empty() {
                        errors.push(syn::Error::new(key.span(), "duplicate `autouse` argument"));
                    }
                    autouse.extend(list);
                }
            } else if input.peek(Token![crate]) && input.peek2(Token![=]) {
                let token: Token![crate] = input.parse()?;
                input.parse::<Token![=]>()?;
                let path = parse_crate_path(input)?;
                if krate.replace(path).is_some() {
                    errors.push(syn::Error::new(token.span, "duplicate `crate` argument"));
                }
            } else {
                let path: Path = input.parse()?;
                let key = quote!(#path).to_string();
                if providers.iter().any(|seen| quote!(#seen).to_string() == key) {
                    errors.push(syn::Error::new(path.span(), format!("provider `{key}` is listed twice")));
                } else {
                    providers.push(path);
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Self { providers, autouse, krate, errors })
    }
}

pub(crate) fn providers(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = match syn::parse2::<RegistryArgs>(args) {
        Ok(args) => args,
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    errors.extend(args.errors);
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(Item::Struct(item)) => item,
        Ok(other) => {
            errors.push(syn::Error::new(
                other.span(),
                "`#[providers(..)]` goes on a unit struct that names the app's providers: `pub struct AppProviders;`",
            ));
            return with_errors(input, &errors);
        }
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    if !matches!(item.fields, syn::Fields::Unit) {
        errors.push(syn::Error::new(
            item.fields.span(),
            "`#[providers(..)]` goes on a unit struct: `pub struct AppProviders;`",
        ));
    }
    if let Some(param) = item.generics.params.first() {
        errors.push(syn::Error::new(param.span(), "a providers registry cannot be generic"));
    }
    let key = |path: &Path| quote!(#path).to_string();
    let mut autouse_indexes = Vec::new();
    for path in &args.autouse {
        match args.providers.iter().position(|provider| key(provider) == key(path)) {
            Some(index) => autouse_indexes.push(index),
            None => errors.push(syn::Error::new(
                path.span(),
                format!("`{}` is not listed: list it with the other providers, then in `autouse`", key(path)),
            )),
        }
    }
    if !errors.is_empty() {
        return with_errors(input, &errors);
    }

    let krate = runtime_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let registry = &item.ident;
    let imports = args.providers.iter().enumerate().map(|(index, provider)| {
        let module = entry_module(index, provider.span());
        quote_spanned! {provider.span()=> use #provider::__output as #module; }
    });
    let entries = args.providers.iter().enumerate().map(|(index, provider)| {
        let provider = marker_path(index, provider);
        quote_spanned! {provider.span()=> #private::ProviderEntry::<#registry>::of::<#provider>() }
    });
    let provides = args.providers.iter().enumerate().map(|(index, provider)| {
        let field = syn::Index::from(index);
        let output = output_path(index, provider);
        let provider = marker_path(index, provider);
        quote_spanned! {provider.span()=>
            impl #private::Provides<#output> for #registry {
                type Scope = <#private::ScopeId<{
                    <<#provider as #private::Provider>::Scope as #private::ScopeMarker>::ID
                }> as #private::ScopeById>::Marker;
                type Access = <#private::AccessId<{
                    <<#provider as #private::Provider>::Access as #private::Access>::ID
                }> as #private::AccessById>::Marker;
                const NAME: &'static str = <#provider as #private::Provider>::NAME;
                const INDEX: usize = #index;
                type Cell = <<Self as #private::Provides<#output>>::Access as #private::StoreAs<#output>>::Cell;
                #[inline]
                fn slot(slots: &__Slots) -> &#private::Slot<Self::Cell> {
                    &slots.#field
                }
            }
        }
    });
    let slot_types = args.providers.iter().enumerate().map(|(index, provider)| {
        let output = output_path(index, provider);
        quote_spanned! {provider.span()=> #private::Slot<<#registry as #private::Provides<#output>>::Cell> }
    });
    let empty_slots = args.providers.iter().map(|_| quote!(#private::Slot::new()));
    // Evaluated at compile time (`cargo check` included): a dependency cycle
    // fails here, at the registry, naming the cycle.
    let acyclic = quote_spanned! {registry.span()=>
        const _: () = #private::assert_acyclic::<#registry>();
    };
    quote! {
        #item

        #[allow(clippy::all, clippy::pedantic, non_local_definitions)]
        const _: () = {
            #(#imports)*

            /// One slot per provider, in the order of the list.
            pub struct __Slots(#(#slot_types),*);

            impl #private::SlotTable for __Slots {
                fn empty() -> Self {
                    Self(#(#empty_slots),*)
                }
            }

            impl #private::Registry for #registry {
                const PROVIDERS: &'static [#private::ProviderEntry<Self>] = &[#(#entries),*];
                const AUTOUSE: &'static [usize] = &[#(#autouse_indexes),*];
                type Slots = __Slots;
            }
            #(#provides)*
            #acyclic
        };
    }
}

/// The name under which the registry imports the module `#[provider]` emits
/// beside the function of its entry `index` (see
/// `provider::expand::named_module`).
fn entry_module(index: usize, span: proc_macro2::Span) -> syn::Ident {
    syn::Ident::new(&format!("__entry{index}"), span)
}

/// The alias of the type the provider of entry `index` produces.
fn output_path(index: usize, provider: &Path) -> TokenStream {
    let module = entry_module(index, provider.span());
    quote_spanned!(provider.span()=> #module::__Output)
}

/// The marker of the provider of entry `index`, which the runtime's traits are
/// implemented for.
fn marker_path(index: usize, provider: &Path) -> TokenStream {
    let module = entry_module(index, provider.span());
    quote_spanned!(provider.span()=> #module::__Provider)
}

fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let mut output = errors.to_compile_errors();
    output.extend(item);
    output
}
