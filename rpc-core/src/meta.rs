//! What the `#[rpc]` macro records about a trait and each of its methods: wire names, docs,
//! params, result and error types, and their JSON Schemas. Servers publish it for
//! introspection (`rpc.discover`, `system.listMethods`); nothing in dispatch depends on it.

use schemars::{Schema, SchemaGenerator};

/// Writes the JSON Schema of one type into a generator, returning a reference to it.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// An `#[rpc]` trait as the macro saw it.
///
/// The records are built with `const fn` constructors, so a field added later breaks no
/// code that builds them:
///
/// ```
/// use rpc_core::meta::{MethodInfo, ParamInfo, ServiceInfo};
/// static ADD: MethodInfo = MethodInfo::new(
///     "add_together",
///     "Add together everything in `things`.",
///     &[ParamInfo::new("things", "Vec<i64>", |g| g.subschema_for::<Vec<i64>>()).variadic()],
/// )
/// .with_result("i64", |g| g.subschema_for::<i64>());
/// static CALC: ServiceInfo = ServiceInfo::new("Calculator", "", &[ADD]);
/// let add = CALC.method("add_together").unwrap();
/// assert_eq!(add.params[0].name, "things");
/// assert!(add.params[0].variadic && !add.is_notification());
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ServiceInfo {
    /// The trait's name.
    pub name: &'static str,
    /// The trait's doc comment.
    pub docs: &'static str,
    /// Its methods, in declaration order.
    pub methods: &'static [MethodInfo],
}

impl ServiceInfo {
    /// A trait's record: its name, doc comment and methods.
    pub const fn new(
        name: &'static str,
        docs: &'static str,
        methods: &'static [MethodInfo],
    ) -> Self {
        ServiceInfo {
            name,
            docs,
            methods,
        }
    }

    /// The method answering to `name` (an alias included).
    pub fn method(&self, name: &str) -> Option<&'static MethodInfo> {
        self.methods
            .iter()
            .find(|m| m.name == name || m.aliases.contains(&name))
    }
}

/// One method of an `#[rpc]` trait.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MethodInfo {
    /// The name on the wire, namespace included.
    pub name: &'static str,
    /// Other names the method also answers to.
    pub aliases: &'static [&'static str],
    /// The doc comment, with the leading space of each line removed.
    pub docs: &'static str,
    /// The params, in order.
    pub params: &'static [ParamInfo],
    /// The success type as written in the trait; `None` for a method returning `()`, which is
    /// meant to be called as a notification.
    pub result: Option<&'static str>,
    /// The success type's JSON Schema.
    pub result_schema: Option<SchemaFn>,
    /// The method's own error type, when it returns `Result<T, E>`.
    pub error: Option<&'static str>,
    /// The error type's JSON Schema (the schema of the error object's `data`).
    pub error_schema: Option<SchemaFn>,
    /// The `#[deprecated]` note: `Some("")` when deprecated without one.
    pub deprecated: Option<&'static str>,
    /// Whether calling it twice has the effect of calling it once (`#[rpc(idempotent)]`), so
    /// that a client may send it again after a failure.
    pub idempotent: bool,
    /// For a subscription method, its notification's and unsubscribe method's names; its
    /// [`result`](Self::result) is then the type of each item.
    pub subscription: Option<SubscriptionInfo>,
    /// Whether, sent as a notification, it runs in arrival order on its connection
    /// (`#[rpc(ordered)]`): each finished before the connection's next message is dispatched.
    pub ordered: bool,
}

/// The names that go with a subscription method (see [`crate::subscription`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionInfo {
    /// The method name of the notifications carrying its items.
    pub notification: &'static str,
    /// The method that ends a subscription.
    pub unsubscribe: &'static str,
}

impl SubscriptionInfo {
    /// Names for a subscription.
    pub const fn new(notification: &'static str, unsubscribe: &'static str) -> Self {
        SubscriptionInfo {
            notification,
            unsubscribe,
        }
    }
}

impl MethodInfo {
    /// A method returning `()` (a notification), with no aliases, not deprecated; the `with_`
    /// constructors add the rest.
    pub const fn new(name: &'static str, docs: &'static str, params: &'static [ParamInfo]) -> Self {
        MethodInfo {
            name,
            aliases: &[],
            docs,
            params,
            result: None,
            result_schema: None,
            error: None,
            error_schema: None,
            deprecated: None,
            idempotent: false,
            subscription: None,
            ordered: false,
        }
    }

    /// Marks a subscription method, whose items are notifications named `notification` and
    /// which `unsubscribe` ends.
    pub const fn with_subscription(
        mut self,
        notification: &'static str,
        unsubscribe: &'static str,
    ) -> Self {
        self.subscription = Some(SubscriptionInfo::new(notification, unsubscribe));
        self
    }

    /// The same method, run in arrival order on its connection when sent as a notification.
    pub const fn with_ordered(mut self) -> Self {
        self.ordered = true;
        self
    }

    /// The same method, idempotent.
    pub const fn with_idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// The same method also answering to `aliases`.
    pub const fn with_aliases(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    /// The same method returning `ty` (as written in the trait), with its schema.
    pub const fn with_result(mut self, ty: &'static str, schema: SchemaFn) -> Self {
        self.result = Some(ty);
        self.result_schema = Some(schema);
        self
    }

    /// The same method failing with its own error type `ty`, with its schema.
    pub const fn with_error(mut self, ty: &'static str, schema: SchemaFn) -> Self {
        self.error = Some(ty);
        self.error_schema = Some(schema);
        self
    }

    /// The same method, deprecated with `note` (empty when there is none).
    pub const fn with_deprecated(mut self, note: &'static str) -> Self {
        self.deprecated = Some(note);
        self
    }

    /// Whether the method returns nothing and so is meant to be sent as a notification.
    pub fn is_notification(&self) -> bool {
        self.result.is_none()
    }

    /// The first paragraph of the docs.
    pub fn summary(&self) -> &'static str {
        self.docs.split("\n\n").next().unwrap_or("").trim()
    }
}

/// One param of a method.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The param's name.
    pub name: &'static str,
    /// Its type, as written in the trait.
    pub ty: &'static str,
    /// Whether it is an `Option` and may be left out.
    pub optional: bool,
    /// Whether it collects the remaining positional params.
    pub variadic: bool,
    /// Its JSON Schema.
    pub schema: SchemaFn,
}

impl ParamInfo {
    /// A required param named `name` of type `ty` (as written in the trait), with its schema.
    pub const fn new(name: &'static str, ty: &'static str, schema: SchemaFn) -> Self {
        ParamInfo {
            name,
            ty,
            optional: false,
            variadic: false,
            schema,
        }
    }

    /// The same param, which may be left out (an `Option`).
    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The same param, collecting the remaining positional params.
    pub const fn variadic(mut self) -> Self {
        self.variadic = true;
        self
    }
}
