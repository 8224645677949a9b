//! The names generated code uses, gathered in one place (see the module's docs in `lib.rs`).
//! Adding a name here is a change to the macro's contract: keep the list short, and prefer
//! `const fn` constructors to struct literals so that a new field breaks no expansion.

pub use schemars;
pub use serde;
pub use serde_json;
pub use serde_json::value::RawValue;

pub use crate::meta::{MethodInfo, ParamInfo, ServiceInfo, SubscriptionInfo};
pub use crate::openrpc::document as openrpc_document;
pub use crate::params::{Named, Positional, Signature, Variadic, decode};
pub use crate::subscription::{ItemStream, Subscribing, Subscription, item_stream};
pub use crate::{CallError, Error, ErrorObject, MethodError, Service};

use serde::Serialize;
use serde::de::DeserializeOwned;

// One check per type and role, chosen by the sides the trait generates, so that a type that
// cannot cross the wire is one error on the user's type, saying what to derive.

/// Requirement on params when the trait has both sides.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    label = "params cross the wire with serde",
    note = "a server decodes params and a client encodes them: derive or implement `Serialize` and `Deserialize` for `{Self}` (or generate one side only, with `#[rpc(server)]` or `#[rpc(client)]`)"
)]
pub trait RpcParam: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> RpcParam for T {}

/// Server-side requirement on params.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    label = "params cross the wire with serde",
    note = "a server decodes params with serde: derive or implement `Deserialize` for `{Self}`"
)]
pub trait ServerParam: DeserializeOwned {}
impl<T: DeserializeOwned> ServerParam for T {}

/// Client-side requirement on params.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    label = "params cross the wire with serde",
    note = "a client encodes params with serde: derive or implement `Serialize` for `{Self}`"
)]
pub trait ClientParam: Serialize {}
impl<T: Serialize + ?Sized> ClientParam for T {}

/// Requirement on results when the trait has both sides.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    label = "results cross the wire with serde",
    note = "a server encodes results and a client decodes them: derive or implement `Serialize` and `Deserialize` for `{Self}` (or generate one side only, with `#[rpc(server)]` or `#[rpc(client)]`)"
)]
pub trait RpcResult: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> RpcResult for T {}

/// Server-side requirement on results.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    label = "results cross the wire with serde",
    note = "a server encodes results with serde: derive or implement `Serialize` for `{Self}`"
)]
pub trait ServerResult: Serialize {}
impl<T: Serialize + ?Sized> ServerResult for T {}

/// Client-side requirement on results.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    label = "results cross the wire with serde",
    note = "a client decodes results with serde: derive or implement `Deserialize` for `{Self}`"
)]
pub trait ClientResult: DeserializeOwned {}
impl<T: DeserializeOwned> ClientResult for T {}

/// Requirement on a variadic param when the client is generated: it is sent element by element.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a variadic param",
    label = "a variadic param collects the remaining params",
    note = "a variadic param is a collection whose elements serialize, such as `Vec<T>`"
)]
pub trait ClientVariadic {}
impl<T: ?Sized> ClientVariadic for T
where
    for<'a> &'a T: IntoIterator,
    for<'a> <&'a T as IntoIterator>::Item: Serialize,
{
}

/// An error type that can hold a failed call, so that the client can implement the trait.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a failed call, so the client cannot implement the trait",
    note = "with `#[rpc(client_impl)]` every method's error type implements `From<rpc_core::Error>`"
)]
pub trait ClientCanFail: From<crate::Error> {}
impl<E: From<crate::Error>> ClientCanFail for E {}

/// Asserts `T: RpcParam` at a span of the user's choosing.
pub const fn param<T: RpcParam>() {}
/// Asserts `T: ServerParam`.
pub const fn server_param<T: ServerParam>() {}
/// Asserts `T: ClientParam`.
pub const fn client_param<T: ClientParam>() {}
/// Asserts `T: ClientVariadic`.
pub const fn client_variadic<T: ClientVariadic + ?Sized>() {}
/// Asserts `T: RpcResult`.
pub const fn result<T: RpcResult>() {}
/// Asserts `T: ServerResult`.
pub const fn server_result<T: ServerResult>() {}
/// Asserts `T: ClientResult`.
pub const fn client_result<T: ClientResult>() {}
/// Asserts `E: MethodError`.
pub const fn method_error<E: MethodError>() {}
/// Asserts `E: From<rpc_core::Error>`, which a client needs to implement the trait.
pub const fn client_error<E: ClientCanFail>() {}

/// The type a probe stands for. Generated code reaches the runtime's generic functions through
/// probes, `(&Probe::<T>::new()).method(..)`, with two traits in scope: one whose impl has the
/// runtime's bounds and does the work, and a fallback, on `&Probe`, with none. Method
/// resolution takes the first when its bounds hold; when they do not, the check above has
/// already failed the build with the one error that names the type, and the fallback keeps
/// every use of the type from failing again. The fallback never runs in a program that builds.
pub struct Probe<T: ?Sized>(core::marker::PhantomData<fn() -> core::marker::PhantomData<T>>);

// Built only by generated code, in a const-like position; `Default` would be one more name
// in the contract for nothing.
#[allow(clippy::new_without_default)]
impl<T: ?Sized> Probe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        Probe(core::marker::PhantomData)
    }
}

/// Decodes a method's argument tuple.
pub trait Decode<T> {
    /// See [`crate::params::decode`]: params by position or by name.
    fn decode(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject>;
    /// See [`crate::params::decode`]: a `params = "object"` signature's.
    fn decode_object(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject>;
}

impl<T: crate::params::FromParams> Decode<T> for Probe<T> {
    fn decode(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject> {
        crate::params::decode_listed(params, sig)
    }

    fn decode_object(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject> {
        crate::params::decode_object(params, sig)
    }
}

/// The fallback of [`Decode`].
pub trait DecodeFallback<T> {
    /// Never runs in a program that builds.
    fn decode(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject>;
    /// Never runs in a program that builds.
    fn decode_object(&self, params: Option<&RawValue>, sig: &Signature) -> Result<T, ErrorObject>;
}

impl<T> DecodeFallback<T> for &Probe<T> {
    fn decode(&self, _: Option<&RawValue>, _: &Signature) -> Result<T, ErrorObject> {
        Err(ErrorObject::internal_error())
    }

    fn decode_object(&self, _: Option<&RawValue>, _: &Signature) -> Result<T, ErrorObject> {
        Err(ErrorObject::internal_error())
    }
}

/// Writes a method's result: a plain value, or a `Result` whose error becomes an error object.
pub trait Write<R> {
    /// Writes `value`'s JSON into `out`, or returns the error object to send instead; a value
    /// that does not serialize is logged with `method`.
    fn write(&self, out: &mut Vec<u8>, value: R, method: &str) -> Result<(), ErrorObject>;
}

impl<T: Serialize> Write<T> for Probe<T> {
    fn write(&self, out: &mut Vec<u8>, value: T, method: &str) -> Result<(), ErrorObject> {
        crate::wire::write_json(out, &value, method)
    }
}

/// The fallback of [`Write`].
pub trait WriteFallback<R> {
    /// Never runs in a program that builds.
    fn write(&self, out: &mut Vec<u8>, value: R, method: &str) -> Result<(), ErrorObject>;
}

impl<R> WriteFallback<R> for &Probe<R> {
    fn write(&self, _: &mut Vec<u8>, _: R, _: &str) -> Result<(), ErrorObject> {
        Err(ErrorObject::internal_error())
    }
}

/// Writes a method's `Result`: the value's JSON, or the error as an error object.
pub trait WriteResult<T, E> {
    /// Writes the value's JSON into `out`, or returns the error object to send instead; a value
    /// that does not serialize is logged with `method`.
    fn write(
        &self,
        out: &mut Vec<u8>,
        value: Result<T, E>,
        method: &str,
    ) -> Result<(), ErrorObject>;
}

impl<T: Serialize, E: MethodError> WriteResult<T, E> for Probe<Result<T, E>> {
    fn write(
        &self,
        out: &mut Vec<u8>,
        value: Result<T, E>,
        method: &str,
    ) -> Result<(), ErrorObject> {
        match value {
            Ok(value) => crate::wire::write_json(out, &value, method),
            Err(e) => Err(e.into_error_object()),
        }
    }
}

/// Turns a subscription method's value into the server's item stream: the value's
/// `Subscription`, or the error object refusing it.
pub trait Items<R> {
    /// See [`item_stream`].
    fn items(&self, value: R, method: &'static str) -> Result<ItemStream, ErrorObject>;
}

impl<T: Serialize + 'static, E: MethodError + 'static> Items<Subscription<T, E>>
    for Probe<Subscription<T, E>>
{
    fn items(
        &self,
        value: Subscription<T, E>,
        method: &'static str,
    ) -> Result<ItemStream, ErrorObject> {
        Ok(item_stream(value, method))
    }
}

impl<T: Serialize + 'static, E: MethodError + 'static> Items<Result<Subscription<T, E>, E>>
    for Probe<Result<Subscription<T, E>, E>>
{
    fn items(
        &self,
        value: Result<Subscription<T, E>, E>,
        method: &'static str,
    ) -> Result<ItemStream, ErrorObject> {
        match value {
            Ok(subscription) => Ok(item_stream(subscription, method)),
            Err(e) => Err(e.into_error_object()),
        }
    }
}

/// The fallback of [`Items`].
pub trait ItemsFallback<R> {
    /// Never runs in a program that builds.
    fn items(&self, value: R, method: &'static str) -> Result<ItemStream, ErrorObject>;
}

impl<R> ItemsFallback<R> for &Probe<R> {
    fn items(&self, _: R, _: &'static str) -> Result<ItemStream, ErrorObject> {
        Err(ErrorObject::internal_error())
    }
}

/// Picks a type's JSON Schema when it implements `schemars::JsonSchema`, and an open
/// schema naming the Rust type when it does not, so that deriving `JsonSchema` is an
/// improvement to the published document, never a requirement. Generated code calls
/// `(&SchemaProbe::<T>::new("T")).schema(generator)` with both traits in scope; method
/// resolution takes the `JsonSchema` impl first when it applies.
pub struct SchemaProbe<T: ?Sized>(&'static str, core::marker::PhantomData<T>);

impl<T: ?Sized> SchemaProbe<T> {
    /// A probe for `T`, written `rust_type` in the trait.
    pub const fn new(rust_type: &'static str) -> Self {
        SchemaProbe(rust_type, core::marker::PhantomData)
    }
}

/// The schema of a type that implements `JsonSchema`.
pub trait ViaJsonSchema {
    /// The schema.
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema;
}

impl<T: ?Sized + schemars::JsonSchema> ViaJsonSchema for SchemaProbe<T> {
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<T>()
    }
}

/// The open schema of a type that does not implement `JsonSchema`.
pub trait ViaRustType {
    /// The schema.
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema;
}

impl<T: ?Sized> ViaRustType for &SchemaProbe<T> {
    fn schema(&self, _: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut schema = schemars::Schema::default();
        schema.insert("x-rust-type".into(), self.0.into());
        schema
    }
}
