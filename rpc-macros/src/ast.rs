//! The model of an `#[rpc]` trait: what the user wrote, read once, with the spans that errors
//! point at. Building it never stops at the first mistake; every problem lands in `errors`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, FnArg, GenericArgument, Ident, ItemTrait, Lit, LitStr, Meta, Pat,
    PathArguments, ReturnType, TraitItem, TraitItemFn, Type,
};

use crate::attr::{MethodArgs, ParamArgs, ParamStyle, TraitArgs};

/// The whole trait, borrowing the syn tree it was read from.
pub(crate) struct RpcTrait<'a> {
    /// The trait as written, `#[rpc]` attributes included: [`clean`] removes them for output.
    pub(crate) item: &'a ItemTrait,
    pub(crate) docs: String,
    pub(crate) args: TraitArgs,
    pub(crate) methods: Vec<Method<'a>>,
}

/// One method.
pub(crate) struct Method<'a> {
    pub(crate) ident: &'a Ident,
    /// The method as written, `#[rpc]` attributes included.
    pub(crate) item: &'a TraitItemFn,
    pub(crate) docs: String,
    pub(crate) deprecated: Option<String>,
    /// The wire name, namespace included, and the span it came from.
    pub(crate) name: String,
    pub(crate) name_span: Span,
    pub(crate) aliases: Vec<LitStr>,
    pub(crate) style: ParamStyle,
    /// Whether calling it twice has the effect of calling it once: a client may then retry it.
    pub(crate) idempotent: bool,
    pub(crate) params: Vec<Param>,
    pub(crate) output: Output,
    /// For a subscription method, its notification's name and its unsubscribe method's.
    pub(crate) subscription: Option<SubscriptionNames>,
    /// The `subscription = ".."` argument, when given: a subscription method has it.
    pub(crate) subscription_arg: Option<LitStr>,
    /// The `unsubscribe = ".."` argument, when given.
    pub(crate) unsubscribe_arg: Option<LitStr>,
    /// `ordered`, and where it was written.
    pub(crate) ordered: Option<Span>,
}

/// The names that go with a subscription method.
pub(crate) struct SubscriptionNames {
    pub(crate) notification: LitStr,
    /// Namespaced like the method; `None` when none was given and none can be derived.
    pub(crate) unsubscribe: Option<String>,
}

/// One param.
pub(crate) struct Param {
    pub(crate) ident: Ident,
    /// The name on the wire: the identifier without `r#`.
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) optional: bool,
    pub(crate) variadic: Option<Span>,
}

/// What a method returns. Built once per method, so the size difference between variants
/// costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Output {
    /// `()`, written or not.
    Unit,
    /// A plain value.
    Value(Type),
    /// `Result<T, E>`: `E` travels as a typed error.
    Result { ok: Type, err: Type },
    /// `Subscription<T, E>` (`E` defaults to `ErrorObject`), or
    /// `Result<Subscription<T, E>, E2>` when the subscription may be refused.
    Subscription {
        item: Type,
        err: Option<Type>,
        refusal: Option<Type>,
    },
}

impl Output {
    /// The type of the value a call answers; for a subscription, of each item.
    pub(crate) fn ok_type(&self) -> Option<&Type> {
        match self {
            Output::Unit => None,
            Output::Value(ty)
            | Output::Result { ok: ty, .. }
            | Output::Subscription { item: ty, .. } => Some(ty),
        }
    }

    /// The method's own error type, when it declares one.
    pub(crate) fn err_type(&self) -> Option<&Type> {
        match self {
            Output::Result { err, .. } => Some(err),
            Output::Subscription { err, refusal, .. } => err.as_ref().or(refusal.as_ref()),
            _ => None,
        }
    }
}

/// The trait as the user wrote it, every `#[rpc]` attribute (on the trait, its methods and their
/// params) removed: what the compiler sees of it.
pub(crate) fn clean(item: &ItemTrait) -> ItemTrait {
    fn strip(attrs: &mut Vec<Attribute>) {
        attrs.retain(|a| !a.path().is_ident("rpc"));
    }
    let mut item = item.clone();
    strip(&mut item.attrs);
    for trait_item in &mut item.items {
        if let TraitItem::Fn(f) = trait_item {
            strip(&mut f.attrs);
            for input in &mut f.sig.inputs {
                if let FnArg::Typed(pat) = input {
                    strip(&mut pat.attrs);
                }
            }
        }
    }
    item
}

impl<'a> RpcTrait<'a> {
    pub(crate) fn parse(
        args: TraitArgs,
        item: &'a ItemTrait,
        errors: &mut Vec<syn::Error>,
    ) -> Self {
        let namespace = args.namespace.as_ref().map(LitStr::value);
        let default_style = args.params.unwrap_or(ParamStyle::Positional);
        let default_idempotent = args.idempotent.is_some();
        let methods = item
            .items
            .iter()
            .filter_map(|trait_item| match trait_item {
                TraitItem::Fn(f) => Some(Method::parse(
                    f,
                    namespace.as_deref(),
                    default_style,
                    default_idempotent,
                    errors,
                )),
                _ => None,
            })
            .collect();
        RpcTrait {
            docs: docs(&item.attrs),
            item,
            args,
            methods,
        }
    }
}

impl<'a> Method<'a> {
    fn parse(
        f: &'a TraitItemFn,
        namespace: Option<&str>,
        default_style: ParamStyle,
        default_idempotent: bool,
        errors: &mut Vec<syn::Error>,
    ) -> Self {
        let args = MethodArgs::parse(&f.attrs, errors);
        let ident = &f.sig.ident;
        let base = args
            .name
            .as_ref()
            .map_or_else(|| unraw(ident), LitStr::value);
        let name_span = args.name.as_ref().map_or(ident.span(), LitStr::span);
        let name = match namespace {
            Some(ns) => format!("{ns}.{base}"),
            None => base,
        };
        let aliases = args
            .aliases
            .iter()
            .map(|a| match namespace {
                Some(ns) => LitStr::new(&format!("{ns}.{}", a.value()), a.span()),
                None => a.clone(),
            })
            .collect();
        let subscription = args.subscription.as_ref().map(|notification| {
            let unsubscribe = match &args.unsubscribe {
                Some(lit) => Some(lit.value()),
                None => {
                    let base = args
                        .name
                        .as_ref()
                        .map_or_else(|| unraw(ident), LitStr::value);
                    base.starts_with("subscribe").then(|| format!("un{base}"))
                }
            };
            SubscriptionNames {
                notification: notification.clone(),
                unsubscribe: unsubscribe.map(|u| match namespace {
                    Some(ns) => format!("{ns}.{u}"),
                    None => u,
                }),
            }
        });
        let params = f
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(pat) => Some(Param::parse(pat, errors)),
                FnArg::Receiver(_) => None,
            })
            .flatten()
            .collect();
        Method {
            ident,
            docs: docs(&f.attrs),
            deprecated: deprecated(&f.attrs),
            name,
            name_span,
            aliases,
            style: args.params.unwrap_or(default_style),
            idempotent: args.idempotent.unwrap_or(default_idempotent),
            params,
            output: Output::parse(&f.sig.output),
            subscription,
            subscription_arg: args.subscription,
            unsubscribe_arg: args.unsubscribe,
            ordered: args.ordered,
            item: f,
        }
    }

    pub(crate) fn is_subscription(&self) -> bool {
        matches!(self.output, Output::Subscription { .. }) && self.subscription.is_some()
    }

    /// Every wire name of the method with its span: the name first, then the aliases.
    pub(crate) fn wire_names(&self) -> impl Iterator<Item = (String, Span)> + '_ {
        std::iter::once((self.name.clone(), self.name_span))
            .chain(self.aliases.iter().map(|a| (a.value(), a.span())))
    }

    /// Whether the method returns nothing and so is meant to be sent as a notification.
    pub(crate) fn is_notification(&self) -> bool {
        matches!(self.output, Output::Unit)
    }

    pub(crate) fn is_variadic(&self) -> bool {
        self.params.last().is_some_and(|p| p.variadic.is_some())
    }
}

impl Param {
    fn parse(pat: &syn::PatType, errors: &mut Vec<syn::Error>) -> Option<Self> {
        let args = ParamArgs::parse(&pat.attrs, errors);
        let ident = match &*pat.pat {
            Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => p.ident.clone(),
            other => {
                errors.push(syn::Error::new(
                    other.span(),
                    "`#[rpc]` params must be plain identifiers: the name is the param's name on the wire",
                ));
                return None;
            }
        };
        Some(Param {
            name: unraw(&ident),
            ident,
            optional: is_option(&pat.ty),
            ty: (*pat.ty).clone(),
            variadic: args.variadic,
        })
    }
}

impl Output {
    fn parse(output: &ReturnType) -> Self {
        let ty = match output {
            ReturnType::Default => return Output::Unit,
            ReturnType::Type(_, ty) => &**ty,
        };
        if let Type::Tuple(t) = ty
            && t.elems.is_empty()
        {
            return Output::Unit;
        }
        if let Some([ok, err]) = last_segment_args(ty, "Result") {
            if let Some((item, stream_err)) = subscription_args(ok) {
                return Output::Subscription {
                    item,
                    err: stream_err,
                    refusal: Some(err.clone()),
                };
            }
            return Output::Result {
                ok: ok.clone(),
                err: err.clone(),
            };
        }
        if let Some((item, err)) = subscription_args(ty) {
            return Output::Subscription {
                item,
                err,
                refusal: None,
            };
        }
        Output::Value(ty.clone())
    }
}

/// The type arguments of `ty` when its last path segment is `name<..>`.
fn last_segment_args<'t, const N: usize>(ty: &'t Type, name: &str) -> Option<[&'t Type; N]> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    if segment.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .filter_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect();
    types.try_into().ok()
}

/// The item and error types of `Subscription<T>` or `Subscription<T, E>`.
fn subscription_args(ty: &Type) -> Option<(Type, Option<Type>)> {
    if let Some([item, err]) = last_segment_args(ty, "Subscription") {
        return Some((item.clone(), Some(err.clone())));
    }
    last_segment_args::<1>(ty, "Subscription").map(|[item]| (item.clone(), None))
}

fn is_option(ty: &Type) -> bool {
    last_segment_args::<1>(ty, "Option").is_some()
}

/// The identifier as a wire name, without a raw `r#`.
fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

/// The doc comment, lines joined, the one leading space rustdoc adds removed.
fn docs(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(lit) => match &lit.lit {
                    Lit::Str(s) => Some(s.value()),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').map(str::to_owned).unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}

/// The `#[deprecated]` note: `Some("")` when there is none.
fn deprecated(attrs: &[Attribute]) -> Option<String> {
    let attr = attrs.iter().find(|a| a.path().is_ident("deprecated"))?;
    let note = match &attr.meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => s.value(),
            _ => String::new(),
        },
        Meta::List(_) => {
            let mut note = String::new();
            let _ = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("note") {
                    note = meta.value()?.parse::<LitStr>()?.value();
                } else {
                    let _ = meta.value().and_then(|v| v.parse::<LitStr>());
                }
                Ok(())
            });
            note
        }
        Meta::Path(_) => String::new(),
    };
    Some(note)
}
