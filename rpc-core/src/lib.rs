//! The shared core of the `#[rpc]` JSON-RPC 2.0 framework: the wire format, errors, params
//! decoding, and the [`rpc`] attribute itself.
//!
//! Put `#[rpc]` on a trait and the framework generates a server dispatcher (served as an axum
//! route by `rpc-server`) and a typed client (over reqwest, in `rpc-client`) whose calls read like
//! calls on the trait.
//!
//! ```
//! use rpc_core::{rpc, RpcError};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! pub struct MathError(String);
//! impl std::fmt::Display for MathError {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str(&self.0)
//!     }
//! }
//! impl RpcError for MathError {}
//!
//! /// A calculator.
//! #[rpc(server)]
//! pub trait Calculator {
//!     /// Add together everything in `things`.
//!     async fn add_together(&self, #[rpc(variadic)] things: Vec<i64>) -> i64;
//!     /// Roots of a*x*x + b*x + c == 0.
//!     async fn quadratic(&self, a: f64, b: f64, c: f64) -> Result<Vec<f64>, MathError>;
//! }
//!
//! let names: Vec<_> = CalculatorServer::INFO.methods.iter().map(|m| m.name).collect();
//! assert_eq!(names, ["add_together", "quadratic"]);
//! ```
//!
//! The [`rpc`] attribute is documented in full on its own page.

pub mod error;
pub mod meta;
pub mod openrpc;
pub mod params;
pub mod service;
pub mod wire;

pub use error::{BoxError, CallError, Error, ErrorCode, ErrorObject, RpcError};
#[doc = include_str!("../docs/rpc.md")]
pub use rpc_macros::rpc;
pub use service::Service;

/// Items the generated code names by absolute path. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use serde_json::value::RawValue;

    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use crate::{ErrorObject, RpcError};

    /// Checks, at the user's type, that a param can cross the wire.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an RPC parameter or result",
        note = "params and results are serialized with serde: derive or implement `Serialize` and `Deserialize` for `{Self}`"
    )]
    pub trait WireType: Serialize + DeserializeOwned {}
    impl<T: Serialize + DeserializeOwned> WireType for T {}

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

    /// An error type that can hold a failed call, so that the client can implement the trait.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot hold a failed call, so the client cannot implement the trait",
        note = "with `#[rpc(client_impl)]` every method's error type implements `From<rpc_core::Error>`"
    )]
    pub trait ClientCanFail: From<crate::Error> {}
    impl<E: From<crate::Error>> ClientCanFail for E {}

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
    pub fn write_value<T: Serialize + ?Sized>(
        out: &mut Vec<u8>,
        value: &T,
    ) -> Result<(), ErrorObject> {
        serde_json::to_writer(out, value).map_err(|e| {
            // The caller gets -32603 and no detail; the server's log gets the reason.
            tracing::error!(error = %e, "a method's result does not serialize to JSON");
            ErrorObject::internal_error()
        })
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
}
