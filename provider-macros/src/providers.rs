//! `#[providers(a, b, c)]`: the registry of an app.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Item, LitStr, Path, Token};

use crate::diagnostics::{Errors, runtime_path, shown};
use crate::provider::parse_crate_path;

/// One item of the list: a provider, a bundle to include, or a bundle the
/// bundle's own macro handed back (see `crate::bundle`).
enum Listed {
    Provider(Path),
    /// `include(path)` as written, or `__include(path, origin)` for a
    /// bundle that an included bundle includes: `origin` is the user's
    /// `include(..)` that brought it, where its errors are reported.
    Include {
        path: Path,
        origin: Path,
        nested: bool,
    },
    Bundle(ResolvedBundle),
}

/// `__bundle([origin, path], "Name", "id", [providers], [includes])`: what
/// a bundle's macro hands back to the registry.
struct ResolvedBundle {
    origin: Path,
    /// The bundle's struct, as the registry reaches it.
    path: Path,
    name: LitStr,
    id: LitStr,
    providers: Vec<Path>,
    includes: Vec<Path>,
}

mod kw {
    syn::custom_keyword!(include);
    syn::custom_keyword!(__include);
    syn::custom_keyword!(__bundle);
    syn::custom_keyword!(__registry);
}

struct RegistryArgs {
    listed: Vec<Listed>,
    /// `autouse = [a, b]`: set up for every request before its handler.
    autouse: Vec<Path>,
    krate: Option<Path>,
    /// `__registry = Name`: the registry's own struct was emitted by an
    /// earlier expansion (before a bundle's macro was called); this one
    /// emits its impls only.
    registry: Option<syn::Ident>,
    errors: Errors,
}

fn bracketed_paths(input: ParseStream<'_>) -> syn::Result<Vec<Path>> {
    let content;
    syn::bracketed!(content in input);
    Ok(content.parse_terminated(Path::parse, Token![,])?.into_iter().collect())
}

impl Parse for RegistryArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut listed: Vec<Listed> = Vec::new();
        let mut autouse: Vec<Path> = Vec::new();
        let mut krate = None;
        let mut registry = None;
        let mut errors = Errors::default();
        let key = |path: &Path| quote!(#path).to_string();
        while !input.is_empty() {
            if input.peek(kw::__registry) && input.peek2(Token![=]) {
                input.parse::<kw::__registry>()?;
                input.parse::<Token![=]>()?;
                registry = Some(input.parse()?);
            } else if input.peek(syn::Ident) && input.peek2(Token![=]) {
                let key: syn::Ident = input.parse()?;
                input.parse::<Token![=]>()?;
                if key != "autouse" {
                    errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`: `#[providers(..)]` takes provider names, `include(Bundle)`, `autouse = [..]` and `crate = \"path\"`"
                        ),
                    ));
                    let _skipped: syn::Expr = input.parse()?;
                } else {
                    let list = bracketed_paths(input)?;
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
            } else if input.peek(kw::include) && input.peek2(syn::token::Paren) {
                input.parse::<kw::include>()?;
                let content;
                syn::parenthesized!(content in input);
                let path: Path = content.parse()?;
                let twice = listed.iter().any(|seen| {
                    matches!(seen, Listed::Include { path: seen, nested: false, .. } if key(seen) == key(&path))
                });
                if twice {
                    errors.push(syn::Error::new(
                        path.span(),
                        format!("bundle `{}` is included twice", shown(&path)),
                    ));
                } else {
                    listed.push(Listed::Include { origin: path.clone(), path, nested: false });
                }
            } else if input.peek(kw::__include) && input.peek2(syn::token::Paren) {
                input.parse::<kw::__include>()?;
                let content;
                syn::parenthesized!(content in input);
                let path: Path = content.parse()?;
                content.parse::<Token![,]>()?;
                let origin: Path = content.parse()?;
                listed.push(Listed::Include { path, origin, nested: true });
            } else if input.peek(kw::__bundle) && input.peek2(syn::token::Paren) {
                input.parse::<kw::__bundle>()?;
                let content;
                syn::parenthesized!(content in input);
                let (origin, path) = {
                    let paths;
                    syn::bracketed!(paths in content);
                    let origin = paths.parse::<Path>()?;
                    paths.parse::<Token![,]>()?;
                    (origin, paths.parse::<Path>()?)
                };
                content.parse::<Token![,]>()?;
                let name: LitStr = content.parse()?;
                content.parse::<Token![,]>()?;
                let id: LitStr = content.parse()?;
                content.parse::<Token![,]>()?;
                let providers = bracketed_paths(&content)?;
                content.parse::<Token![,]>()?;
                let includes = bracketed_paths(&content)?;
                listed.push(Listed::Bundle(ResolvedBundle { origin, path, name, id, providers, includes }));
            } else {
                let path: Path = input.parse()?;
                let twice = listed
                    .iter()
                    .any(|seen| matches!(seen, Listed::Provider(seen) if key(seen) == key(&path)));
                if twice {
                    errors.push(syn::Error::new(
                        path.span(),
                        format!("provider `{}` is listed twice", key(&path)),
                    ));
                } else {
                    listed.push(Listed::Provider(path));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(Self { listed, autouse, krate, registry, errors })
    }
}

impl ToTokens for Listed {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(match self {
            Self::Provider(path) => quote!(#path),
            Self::Include { path, nested: false, .. } => quote!(include(#path)),
            Self::Include { path, origin, nested: true } => quote!(__include(#path, #origin)),
            Self::Bundle(ResolvedBundle { origin, path, name, id, providers, includes }) => {
                quote!(__bundle([#origin, #path], #name, #id, [#(#providers),*], [#(#includes),*]))
            }
        });
    }
}

impl RegistryArgs {
    /// The arguments other than the list, as written.
    fn settings(&self, registry: &syn::Ident) -> TokenStream {
        let autouse = &self.autouse;
        let autouse = (!autouse.is_empty()).then(|| quote!(autouse = [#(#autouse),*],));
        let krate = self.krate.as_ref().map(|krate| quote!(crate = #krate,));
        quote!(#autouse #krate __registry = #registry)
    }

    /// Moves the includes of every bundle handed back into the list, right
    /// after it, and drops a bundle already in the list (included by two
    /// others, or by one it includes).
    fn flatten_bundles(&mut self) {
        let mut seen: Vec<String> = Vec::new();
        let mut flat = Vec::with_capacity(self.listed.len());
        for listed in std::mem::take(&mut self.listed) {
            match listed {
                Listed::Bundle(mut bundle) => {
                    let id = bundle.id.value();
                    if seen.contains(&id) {
                        continue;
                    }
                    seen.push(id);
                    let includes = std::mem::take(&mut bundle.includes);
                    let origin = bundle.origin.clone();
                    flat.push(Listed::Bundle(bundle));
                    flat.extend(includes.into_iter().map(|path| Listed::Include {
                        path,
                        origin: origin.clone(),
                        nested: true,
                    }));
                }
                other => flat.push(other),
            }
        }
        self.listed = flat;
    }
}

/// One provider of the registry's table.
struct Entry {
    path: Path,
    /// Where its errors are reported: the provider's name, or the user's
    /// `include(..)` that brought it.
    span: Span,
    /// The bundle that brought it in: its name, and the name its struct is
    /// imported under.
    bundle: Option<(LitStr, syn::Ident)>,
}

/// `path` with the location of every token moved to `span`, its meaning
/// (`$crate`, hygiene) kept.
fn located_at(path: &Path, span: Span) -> Path {
    fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Group(group) => {
                    let mut moved =
                        proc_macro2::Group::new(group.delimiter(), relocate(group.stream(), span));
                    moved.set_span(group.span().located_at(span));
                    TokenTree::Group(moved)
                }
                mut other => {
                    other.set_span(other.span().located_at(span));
                    other
                }
            })
            .collect()
    }
    let tokens = relocate(path.to_token_stream(), span);
    syn::parse2(tokens).unwrap_or_else(|_| path.clone())
}

/// The span of a bundle's errors: its name in the user's `include(..)`.
fn origin_span(origin: &Path) -> Span {
    origin.segments.last().map_or_else(|| origin.span(), |segment| segment.ident.span())
}

pub(crate) fn providers(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let mut args = match syn::parse2::<RegistryArgs>(args) {
        Ok(args) => args,
        Err(error) => {
            errors.push(error);
            return with_errors(input, &errors);
        }
    };
    errors.extend(std::mem::take(&mut args.errors));
    // A later expansion, called back by a bundle's macro: the struct was
    // emitted (and checked) by the first one.
    let (item, registry) = match args.registry.clone() {
        Some(registry) => (None, registry),
        None => {
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
            let registry = item.ident.clone();
            (Some(item), registry)
        }
    };
    let key = |path: &Path| quote!(#path).to_string();
    let own = |path: &Path| {
        args.listed.iter().any(|listed| matches!(listed, Listed::Provider(p) if key(p) == key(path)))
    };
    for path in &args.autouse {
        if !own(path) {
            errors.push(syn::Error::new(
                path.span(),
                format!("`{}` is not listed: list it with the other providers, then in `autouse`", key(path)),
            ));
        }
    }
    if !errors.is_empty() {
        return with_errors(item.map(ToTokens::into_token_stream).unwrap_or_default(), &errors);
    }
    let krate = runtime_path(args.krate.as_ref());

    args.flatten_bundles();
    if let Some(position) = args.listed.iter().position(|listed| matches!(listed, Listed::Include { .. })) {
        // Ask the bundle's macro for its providers: it calls this attribute
        // again, with the list it was given and its own `__bundle(..)` in
        // place of the include.
        let (before, rest) = args.listed.split_at(position);
        let (Some(Listed::Include { path, origin, .. }), after) =
            (rest.first(), rest.get(1..).unwrap_or_default())
        else {
            return TokenStream::new();
        };
        let settings = args.settings(&registry);
        return quote! {
            #item

            #path! {
                [#krate::providers]
                [#(#before,)*]
                [#origin, #path]
                [#(, #after)*, #settings]
                const _: () = ();
            }
        };
    }

    let mut entries = Vec::new();
    let mut bundle_imports = Vec::new();
    for listed in &args.listed {
        match listed {
            Listed::Provider(path) => {
                entries.push(Entry { path: path.clone(), span: path.span(), bundle: None })
            }
            Listed::Bundle(bundle) => {
                let span = origin_span(&bundle.origin);
                let name = LitStr::new(&bundle.name.value(), span);
                let bundle_path = located_at(&bundle.path, span);
                let alias = syn::Ident::new(&format!("__bundle{}", bundle_imports.len()), span);
                bundle_imports.push(quote_spanned! {span=> use #bundle_path as #alias; });
                entries.extend(bundle.providers.iter().map(|path| Entry {
                    path: located_at(path, span),
                    span,
                    bundle: Some((name.clone(), alias.clone())),
                }));
            }
            Listed::Include { .. } => {}
        }
    }
    let autouse_indexes = args.autouse.iter().filter_map(|path| {
        entries.iter().position(|entry| entry.bundle.is_none() && key(&entry.path) == key(path))
    });

    let private = quote!(#krate::__private);
    // A name listed by the app that is not a provider (a function without
    // `#[provider]`) has no module beside it: the registry then finds a
    // stand-in of its own under that name (an explicit import shadows a glob
    // one in the namespace it binds, so the stand-in's module, brought by a
    // glob, is found only when the name has no module), and says so at the
    // name. Not for a name that looks like a type (`Config`), for which
    // rustc's own message ("`Config` is a struct, not a module") is the
    // right one, nor with a `crate = ..` path that a nested module might not
    // see.
    let stand_ins_allowed = args.krate.as_ref().is_none_or(|path| {
        path.leading_colon.is_some() || path.segments.first().is_some_and(|segment| segment.ident == "crate")
    });
    let mut stand_ins = Vec::new();
    let mut not_a_provider_checks = Vec::new();
    let (imports, modules): (Vec<TokenStream>, Vec<TokenStream>) = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            let module = entry_module(index, entry.span);
            let provider = &entry.path;
            let looks_like_a_function = provider
                .segments
                .last()
                .is_some_and(|segment| segment.ident.to_string().starts_with(|c: char| c.is_lowercase() || c == '_'));
            if entry.bundle.is_some() || !stand_ins_allowed || !looks_like_a_function {
                let import = quote_spanned! {entry.span=> use #provider::__output as #module; };
                return (import, quote!(#module));
            }
            let listed = syn::Ident::new(&format!("__listed{index}"), entry.span);
            stand_ins.push(quote! {
                pub mod #listed {
                    pub mod __output {
                        pub type __Output = #private::NotAProvider<#index>;
                        pub type __Provider = #private::NotAProvider<#index>;
                    }
                }
            });
            // Named by path, not through a second import: an import through
            // a name that a glob import may also bind would be ambiguous
            // while imports are resolved.
            let module = quote_spanned!(entry.span=> #listed::__output);
            let name = shown(provider);
            let message = LitStr::new(
                &format!(
                    "`{name}` is not a provider: a registry lists the functions marked `#[provider]`; add `#[provider]` to `fn {name}`, or list another name"
                ),
                entry.span,
            );
            // A name that resolves to nothing at all (a typo) gets rustc's
            // unresolved import, and this as well: silencing it would take
            // a use of the name as a value, which a generic function (a
            // `#[provider]` mistake, already reported) cannot have without
            // a second error of its own.
            not_a_provider_checks.push(quote_spanned! {entry.span=>
                const _: () = if <#module::__Provider as #private::Provider>::NOT_A_PROVIDER {
                    ::core::panic!(#message)
                };
            });
            (quote_spanned! {entry.span=> use #provider as #listed; }, module)
        })
        .unzip();
    let stand_ins = (!stand_ins.is_empty()).then(|| {
        quote! {
            mod __not_providers {
                #(#stand_ins)*
            }
            use __not_providers::*;
        }
    });
    let table = entries.iter().enumerate().map(|(index, entry)| {
        let provider = marker_path(&modules[index], entry.span);
        match &entry.bundle {
            None => quote_spanned! {entry.span=> #private::ProviderEntry::<#registry>::of::<#provider>() },
            // Through the bundle's struct: a dependency the registry lacks
            // is reported with "required for `Bundle` to implement ..".
            Some((name, bundle)) => quote_spanned! {entry.span=>
                <#bundle as #private::BundleEntry<#registry, #provider>>::ENTRY.in_bundle(#name)
            },
        }
    });
    let provides = entries.iter().enumerate().map(|(index, entry)| {
        let field = syn::Index::from(index);
        let output = output_path(&modules[index], entry.span);
        let provider = marker_path(&modules[index], entry.span);
        quote_spanned! {entry.span=>
            impl #private::Provides<#output> for #registry {
                type Scope = <#private::ScopeId<{
                    <<#provider as #private::Provider>::Scope as #private::ScopeMarker>::ID
                }> as #private::ScopeById>::Marker;
                type Access = <#private::AccessId<{
                    <<#provider as #private::Provider>::Access as #private::Access>::ID
                }> as #private::AccessById>::Marker;
                const NAME: &'static str = <#provider as #private::Provider>::NAME;
                const INDEX: usize = #index;
                #[inline]
                fn slot(slots: &__Slots) -> &#private::Slot {
                    &slots.#field
                }
            }
        }
    });
    let slot_types = entries.iter().map(|_| quote!(#private::Slot));
    let empty_slots = entries.iter().map(|_| quote!(#private::Slot::new()));
    // Evaluated at compile time (`cargo check` included): a dependency cycle
    // fails here, at the registry, naming the cycle.
    let acyclic = quote_spanned! {registry.span()=>
        const _: () = #private::assert_acyclic::<#registry>();
    };
    quote! {
        #item

        #[allow(clippy::all, clippy::pedantic, non_local_definitions, unused_imports)]
        const _: () = {
            #stand_ins
            #(#imports)*
            #(#bundle_imports)*
            #(#not_a_provider_checks)*

            /// One slot per provider, in the order of the list.
            pub struct __Slots(#(#slot_types),*);

            impl #private::SlotTable for __Slots {
                fn empty() -> Self {
                    Self(#(#empty_slots),*)
                }
            }

            impl #private::Registry for #registry {
                const PROVIDERS: &'static [#private::ProviderEntry<Self>] = &[#(#table),*];
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
fn entry_module(index: usize, span: Span) -> syn::Ident {
    syn::Ident::new(&format!("__entry{index}"), span)
}

/// The alias of the type the provider of an entry produces, in its `module`.
fn output_path(module: &TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> #module::__Output)
}

/// The marker of the provider of an entry, in its `module`, which the
/// runtime's traits are implemented for.
fn marker_path(module: &TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> #module::__Provider)
}

fn with_errors(item: TokenStream, errors: &Errors) -> TokenStream {
    let mut output = errors.to_compile_errors();
    output.extend(item);
    output
}
