//! The grammar of `#[rpc(...)]` on a trait, a method and a param.
//!
//! Each parser reads `key`, `key = "value"` or `key = ["a", "b"]` items, reports an unknown or
//! repeated key on the key's own span, and keeps every value's span for later errors.

use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Token, bracketed};

/// Where a key is used, for the list of keys an error message offers.
const TRAIT_KEYS: &[&str] = &[
    "server",
    "client",
    "client_impl",
    "namespace",
    "params",
    "rpc_core",
    "rpc_client",
    "idempotent",
];
const METHOD_KEYS: &[&str] = &[
    "name",
    "aliases",
    "params",
    "idempotent",
    "subscription",
    "unsubscribe",
    "ordered",
];
const PARAM_KEYS: &[&str] = &["variadic"];

/// `#[rpc(...)]` on the trait.
#[derive(Default)]
pub(crate) struct TraitArgs {
    pub(crate) server: Option<Span>,
    pub(crate) client: Option<Span>,
    pub(crate) client_impl: Option<Span>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) params: Option<ParamStyle>,
    /// Where `rpc-core` is, when the user's crate renames it.
    pub(crate) rpc_core: Option<syn::Path>,
    /// Where `rpc-client` is, when the user's crate renames it.
    pub(crate) rpc_client: Option<syn::Path>,
    /// Every method is idempotent unless it says otherwise.
    pub(crate) idempotent: Option<Span>,
}

/// `#[rpc(...)]` on a method.
#[derive(Default)]
pub(crate) struct MethodArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) aliases: Vec<LitStr>,
    pub(crate) aliases_span: Option<Span>,
    pub(crate) params: Option<ParamStyle>,
    /// `idempotent` or `idempotent = true | false`.
    pub(crate) idempotent: Option<bool>,
    /// `subscription = "NOTIFICATION"`: the method subscribes; its items are notifications
    /// of this name.
    pub(crate) subscription: Option<LitStr>,
    /// `unsubscribe = "NAME"`: the method that ends the subscription.
    pub(crate) unsubscribe: Option<LitStr>,
    /// `ordered`: sent as a notification, the method runs in arrival order on its connection.
    pub(crate) ordered: Option<Span>,
}

/// `#[rpc(...)]` on a param.
#[derive(Default)]
pub(crate) struct ParamArgs {
    pub(crate) variadic: Option<Span>,
}

/// How the generated client sends a method's params.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamStyle {
    Positional,
    Named,
    /// The method's one param is the whole params object (as LSP and MCP methods take one).
    Object,
}

fn unknown(key: &Ident, allowed: &[&str]) -> syn::Error {
    let list = allowed
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    syn::Error::new(
        key.span(),
        format!("unknown argument `{key}`, expected one of: {list}"),
    )
}

fn duplicate(key: &Ident) -> syn::Error {
    syn::Error::new(key.span(), format!("duplicate argument `{key}`"))
}

fn set<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(input: ParseStream<'_>, key: &Ident) -> syn::Result<Span> {
    if input.peek(Token![=]) {
        return Err(syn::Error::new(
            input.span(),
            format!("`{key}` takes no value"),
        ));
    }
    Ok(key.span())
}

/// `key` alone (true) or `key = true | false`.
fn boolean(input: ParseStream<'_>) -> syn::Result<bool> {
    if !input.peek(Token![=]) {
        return Ok(true);
    }
    input.parse::<Token![=]>()?;
    let lit: syn::LitBool = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "expected `true` or `false`"))?;
    Ok(lit.value)
}

fn string(input: ParseStream<'_>) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    input.parse()
}

fn path(input: ParseStream<'_>) -> syn::Result<syn::Path> {
    let lit = string(input)?;
    lit.parse::<syn::Path>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`{}` is not a path, expected one like \"::my_rpc_core\"",
                lit.value()
            ),
        )
    })
}

fn style(input: ParseStream<'_>) -> syn::Result<ParamStyle> {
    let lit = string(input)?;
    match lit.value().as_str() {
        "positional" => Ok(ParamStyle::Positional),
        "named" => Ok(ParamStyle::Named),
        "object" => Ok(ParamStyle::Object),
        other => Err(syn::Error::new(
            lit.span(),
            format!("unknown params style `{other}`, expected `positional`, `named` or `object`"),
        )),
    }
}

/// Runs `item` over comma-separated `key ...` items.
fn parse_items(
    tokens: TokenStream,
    mut item: impl FnMut(&Ident, ParseStream<'_>) -> syn::Result<()>,
) -> syn::Result<()> {
    let parser = |input: ParseStream<'_>| {
        while !input.is_empty() {
            let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            item(&key, input)?;
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    parser.parse2(tokens)
}

impl TraitArgs {
    /// Whether the server side is generated: always, unless only `client` is asked for.
    pub(crate) fn wants_server(&self) -> bool {
        self.server.is_some() || self.client.is_none()
    }

    /// Whether the client side is generated: always, unless only `server` is asked for.
    pub(crate) fn wants_client(&self) -> bool {
        self.client.is_some() || self.server.is_none()
    }

    pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Self> {
        let mut args = TraitArgs::default();
        parse_items(tokens, |key, input| match key.to_string().as_str() {
            "server" => set(&mut args.server, key, flag(input, key)?),
            "client" => set(&mut args.client, key, flag(input, key)?),
            "client_impl" => set(&mut args.client_impl, key, flag(input, key)?),
            "namespace" => set(&mut args.namespace, key, string(input)?),
            "params" => set(&mut args.params, key, style(input)?),
            "rpc_core" => set(&mut args.rpc_core, key, path(input)?),
            "rpc_client" => set(&mut args.rpc_client, key, path(input)?),
            "idempotent" => set(&mut args.idempotent, key, flag(input, key)?),
            _ => Err(unknown(key, TRAIT_KEYS)),
        })?;
        Ok(args)
    }
}

/// Reads every `#[rpc(...)]` among `attrs` with `f`, collecting errors into `errors`.
fn each_rpc_attr(
    attrs: &[Attribute],
    errors: &mut Vec<syn::Error>,
    mut f: impl FnMut(TokenStream) -> syn::Result<()>,
) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("rpc")) {
        let result = match &attr.meta {
            syn::Meta::List(list) => f(list.tokens.clone()),
            other => Err(syn::Error::new(
                other.span(),
                "expected `#[rpc(...)]` with arguments",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
}

impl MethodArgs {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Self {
        let mut args = MethodArgs::default();
        each_rpc_attr(attrs, errors, |tokens| {
            parse_items(tokens, |key, input| match key.to_string().as_str() {
                "name" => set(&mut args.name, key, string(input)?),
                "params" => set(&mut args.params, key, style(input)?),
                "idempotent" => set(&mut args.idempotent, key, boolean(input)?),
                "subscription" => set(&mut args.subscription, key, string(input)?),
                "unsubscribe" => set(&mut args.unsubscribe, key, string(input)?),
                "ordered" => set(&mut args.ordered, key, flag(input, key)?),
                "aliases" => {
                    input.parse::<Token![=]>()?;
                    let content;
                    bracketed!(content in input);
                    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                    set(&mut args.aliases_span, key, key.span())?;
                    args.aliases.extend(list);
                    Ok(())
                }
                _ => Err(unknown(key, METHOD_KEYS)),
            })
        });
        args
    }
}

impl ParamArgs {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Vec<syn::Error>) -> Self {
        let mut args = ParamArgs::default();
        each_rpc_attr(attrs, errors, |tokens| {
            parse_items(tokens, |key, input| match key.to_string().as_str() {
                "variadic" => set(&mut args.variadic, key, flag(input, key)?),
                _ => Err(unknown(key, PARAM_KEYS)),
            })
        });
        args
    }
}
