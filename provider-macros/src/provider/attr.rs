//! Parsing of `#[provider(...)]` arguments.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

use crate::diagnostics::Errors;

/// The scope named in `scope = ...`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeArg {
    App,
    Request,
    Transient,
}

impl ScopeArg {
    pub(crate) fn marker(self) -> &'static str {
        match self {
            Self::App => "AppScope",
            Self::Request => "RequestScope",
            Self::Transient => "TransientScope",
        }
    }
}

/// `teardown = before_response | after_response`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimingArg {
    BeforeResponse,
    AfterResponse,
}

/// `#[provider(scope = app, teardown = after_response, crate = "path")]`, parsed.
pub(crate) struct ProviderArgs {
    pub(crate) scope: ScopeArg,
    /// `teardown = ..` with the span of its key, when given.
    pub(crate) timing: Option<(TimingArg, Span)>,
    /// `exclusive`, with its span, when given.
    pub(crate) exclusive: Option<Span>,
    /// `health = path::to::check`, with the span of its key.
    pub(crate) health: Option<(Path, Span)>,
    /// The span of the `scope = ...` value (or the call site when defaulted).
    pub(crate) scope_span: Span,
    pub(crate) krate: Option<Path>,
    /// `name = "sqlx::postgres::pool"`: the name in messages, logs and
    /// graphs, instead of the function's.
    pub(crate) name: Option<LitStr>,
}

impl ProviderArgs {
    pub(crate) fn parse(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Self> {
        let mut scope: Option<(ScopeArg, Span)> = None;
        let mut krate: Option<Path> = None;
        let mut timing: Option<(TimingArg, Span)> = None;
        let mut exclusive: Option<Span> = None;
        let mut health: Option<(Path, Span)> = None;
        let mut name: Option<LitStr> = None;
        while !input.is_empty() {
            let key: Ident = if input.peek(Token![crate]) {
                let token: Token![crate] = input.parse()?;
                Ident::new("crate", token.span)
            } else {
                input.parse()?
            };
            if key == "exclusive" && !input.peek(Token![=]) {
                if exclusive.replace(key.span()).is_some() {
                    errors.push(syn::Error::new(key.span(), "duplicate `exclusive` argument"));
                }
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
                continue;
            }
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "scope" => {
                    let value: Ident = input.parse()?;
                    let parsed = match value.to_string().as_str() {
                        "app" => Some(ScopeArg::App),
                        "request" => Some(ScopeArg::Request),
                        "transient" => Some(ScopeArg::Transient),
                        _ => {
                            errors.push(syn::Error::new(
                                value.span(),
                                format!("unknown scope `{value}`: expected `app`, `request` or `transient`"),
                            ));
                            None
                        }
                    };
                    if scope.is_some() {
                        errors.push(syn::Error::new(key.span(), "duplicate `scope` argument"));
                    } else if let Some(parsed) = parsed {
                        scope = Some((parsed, value.span()));
                    }
                }
                "teardown" => {
                    let value: Ident = input.parse()?;
                    let parsed = match value.to_string().as_str() {
                        "before_response" => Some(TimingArg::BeforeResponse),
                        "after_response" => Some(TimingArg::AfterResponse),
                        _ => {
                            errors.push(syn::Error::new(
                                value.span(),
                                format!(
                                    "unknown teardown timing `{value}`: expected `before_response` (the default) or `after_response`"
                                ),
                            ));
                            None
                        }
                    };
                    if timing.is_some() {
                        errors.push(syn::Error::new(key.span(), "duplicate `teardown` argument"));
                    } else if let Some(parsed) = parsed {
                        timing = Some((parsed, key.span()));
                    }
                }
                "health" => {
                    let path: Path = input.parse()?;
                    if health.is_some() {
                        errors.push(syn::Error::new(key.span(), "duplicate `health` argument"));
                    } else {
                        health = Some((path, key.span()));
                    }
                }
                "name" => {
                    let value: LitStr = input.parse()?;
                    let text = value.value();
                    if text.is_empty() || text.chars().any(char::is_whitespace) {
                        errors.push(syn::Error::new(
                            value.span(),
                            "a provider's name is one word or a path, without spaces: `name = \"sqlx::postgres::pool\"`",
                        ));
                    } else if name.is_some() {
                        errors.push(syn::Error::new(key.span(), "duplicate `name` argument"));
                    } else {
                        name = Some(value);
                    }
                }
                "crate" => {
                    let path = parse_crate_path(input)?;
                    if krate.is_some() {
                        errors.push(syn::Error::new(key.span(), "duplicate `crate` argument"));
                    } else {
                        krate = Some(path);
                    }
                }
                _ => {
                    errors.push(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{key}`: `#[provider]` accepts `scope = app | request | transient`, `exclusive`, `teardown = before_response | after_response`, `health = check_fn`, `name = \"display::name\"` and `crate = \"path\"`"
                        ),
                    ));
                    // Skip the value so that the next argument still parses.
                    let _skipped: syn::Expr = input.parse()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        let (scope, scope_span) = scope.unwrap_or((ScopeArg::Request, Span::call_site()));
        Ok(Self { scope, scope_span, timing, exclusive, health, krate, name })
    }
}

/// `crate = "path"` or `crate = path`.
pub(crate) fn parse_crate_path(input: ParseStream<'_>) -> syn::Result<Path> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        lit.parse()
    } else {
        input.parse()
    }
}

/// Parses attribute arguments with error accumulation.
pub(crate) struct WithErrors<T> {
    pub(crate) value: T,
    pub(crate) errors: Errors,
}

impl Parse for WithErrors<ProviderArgs> {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let value = ProviderArgs::parse(input, &mut errors)?;
        Ok(Self { value, errors })
    }
}
