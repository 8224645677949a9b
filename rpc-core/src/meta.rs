//! What the `#[rpc]` macro records about each method: its wire name, docs, params and result.
//! Servers publish it for introspection; nothing in dispatch depends on it.

/// One method of an `#[rpc]` trait, as the macro saw it.
///
/// ```
/// use rpc_core::meta::{MethodInfo, ParamInfo};
/// static ADD: MethodInfo = MethodInfo {
///     name: "add_together",
///     aliases: &[],
///     docs: "Add together everything in `things`.",
///     params: &[ParamInfo { name: "things", ty: "Vec<i64>", optional: false, variadic: true }],
///     result: "i64",
///     error: None,
///     deprecated: None,
///     notification: false,
///     param_structure: rpc_core::meta::ParamStructure::Either,
/// };
/// assert_eq!(ADD.params[0].name, "things");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodInfo {
    /// The name on the wire, namespace included.
    pub name: &'static str,
    /// Other names the method also answers to.
    pub aliases: &'static [&'static str],
    /// The doc comment, with the leading space of each line removed.
    pub docs: &'static str,
    /// The params, in order.
    pub params: &'static [ParamInfo],
    /// The success type, as written in the trait (`()` for none).
    pub result: &'static str,
    /// The method's own error type, when it returns `Result<T, E>`.
    pub error: Option<&'static str>,
    /// The `#[deprecated]` note: `Some("")` when deprecated without one.
    pub deprecated: Option<&'static str>,
    /// Whether the method returns `()` and so is meant to be called as a notification.
    pub notification: bool,
    /// How the generated client sends the params.
    pub param_structure: ParamStructure,
}

/// One param of a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    /// The param's name.
    pub name: &'static str,
    /// Its type, as written in the trait.
    pub ty: &'static str,
    /// Whether it is an `Option` and may be left out.
    pub optional: bool,
    /// Whether it collects the remaining positional params.
    pub variadic: bool,
}

/// Which param structures a method's client uses; the server always accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamStructure {
    /// The client sends an array; the server takes both.
    Either,
    /// The client sends an object.
    ByName,
}
