//! What the `#[rpc]` macro records about a trait and each of its methods: wire names, docs,
//! params, result and error types, and their JSON Schemas. Servers publish it for
//! introspection (`rpc.discover`, `system.listMethods`); nothing in dispatch depends on it.

use schemars::{Schema, SchemaGenerator};

/// Writes the JSON Schema of one type into a generator, returning a reference to it.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// An `#[rpc]` trait as the macro saw it.
///
/// ```
/// use rpc_core::meta::{MethodInfo, ParamInfo, ServiceInfo};
/// static ADD: MethodInfo = MethodInfo {
///     name: "add_together",
///     aliases: &[],
///     docs: "Add together everything in `things`.",
///     params: &[ParamInfo {
///         name: "things",
///         ty: "Vec<i64>",
///         optional: false,
///         variadic: true,
///         schema: |g| g.subschema_for::<Vec<i64>>(),
///     }],
///     result: Some("i64"),
///     result_schema: Some(|g| g.subschema_for::<i64>()),
///     error: None,
///     error_schema: None,
///     deprecated: None,
/// };
/// static CALC: ServiceInfo = ServiceInfo { name: "Calculator", docs: "", methods: &[ADD] };
/// assert_eq!(CALC.method("add_together").unwrap().params[0].name, "things");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// The trait's name.
    pub name: &'static str,
    /// The trait's doc comment.
    pub docs: &'static str,
    /// Its methods, in declaration order.
    pub methods: &'static [MethodInfo],
}

impl ServiceInfo {
    /// The method answering to `name` (an alias included).
    pub fn method(&self, name: &str) -> Option<&'static MethodInfo> {
        self.methods
            .iter()
            .find(|m| m.name == name || m.aliases.contains(&name))
    }
}

/// One method of an `#[rpc]` trait.
#[derive(Debug, Clone, Copy)]
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
}

impl MethodInfo {
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
