//! The names generated code uses, gathered in one place (see the module's docs in `lib.rs`).
//! Adding a name here is a change to the macro's contract: keep the list short, and prefer
//! `const fn` constructors to struct literals so that a new field breaks no expansion.

pub use schemars;
pub use serde;
pub use serde_json;
pub use serde_json::value::RawValue;

pub use crate::meta::{MethodInfo, ParamInfo, ServiceInfo};
pub use crate::openrpc::document as openrpc_document;
pub use crate::params::{Named, Positional, Signature, Variadic, decode};
pub use crate::{CallError, Error, ErrorObject, Service};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RpcError;

/// Server-side requirement on params.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    note = "a server decodes params with serde: derive or implement `Deserialize` for `{Self}`"
)]
pub trait ServerParam: DeserializeOwned {}
impl<T: DeserializeOwned> ServerParam for T {}

/// Server-side requirement on results.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    note = "a server encodes results with serde: derive or implement `Serialize` for `{Self}`"
)]
pub trait ServerResult: Serialize {}
impl<T: Serialize + ?Sized> ServerResult for T {}

/// Client-side requirement on params.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC parameter",
    note = "a client encodes params with serde: derive or implement `Serialize` for `{Self}`"
)]
pub trait ClientParam: Serialize {}
impl<T: Serialize + ?Sized> ClientParam for T {}

/// Client-side requirement on results.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an RPC result",
    note = "a client decodes results with serde: derive or implement `Deserialize` for `{Self}`"
)]
pub trait ClientResult: DeserializeOwned {}
impl<T: DeserializeOwned> ClientResult for T {}

/// An error type that can hold a failed call, so that the client can implement the trait.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold a failed call, so the client cannot implement the trait",
    note = "with `#[rpc(client_impl)]` every method's error type implements `From<rpc_core::Error>`"
)]
pub trait ClientCanFail: From<crate::Error> {}
impl<E: From<crate::Error>> ClientCanFail for E {}

/// Asserts `T: ServerParam` at a span of the user's choosing.
pub const fn server_param<T: ServerParam>() {}
/// Asserts `T: ServerResult`.
pub const fn server_result<T: ServerResult>() {}
/// Asserts `T: ClientParam`.
pub const fn client_param<T: ClientParam>() {}
/// Asserts `T: ClientResult`.
pub const fn client_result<T: ClientResult>() {}
/// Asserts `E: RpcError`.
pub const fn rpc_error<E: RpcError>() {}
/// Asserts `E: From<rpc_core::Error>`, which a client needs to implement the trait.
pub const fn client_error<E: ClientCanFail>() {}

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

/// Serializes a method's result into the response buffer.
pub fn write_value<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), ErrorObject> {
    crate::wire::write_json(out, value)
}

/// Serializes a method's `Result` into the response buffer, or its error into an error object.
pub fn write_result<T: Serialize, E: RpcError>(
    out: &mut Vec<u8>,
    result: Result<T, E>,
) -> Result<(), ErrorObject> {
    match result {
        Ok(value) => write_value(out, &value),
        Err(e) => Err(e.into_error_object()),
    }
}
