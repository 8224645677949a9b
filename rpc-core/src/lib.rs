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
pub mod framing;
pub mod json;
pub mod meta;
pub mod openrpc;
pub mod params;
pub mod peer;
pub mod service;
pub mod subscription;
pub mod wire;

pub use error::{
    BoxError, CallError, EndpointFailure, Error, ErrorCode, ErrorObject, MethodError, RpcError,
};
#[doc = include_str!("../docs/rpc.md")]
pub use rpc_macros::rpc;
pub use service::Service;
pub use subscription::Subscription;

/// Everything the code `#[rpc]` generates names in this crate, and nothing else: the contract
/// between the macro and the runtime. Not a public API. The version in its name changes with
/// every release that changes the contract, and `rpc-core` pins `rpc-macros` to its exact
/// version, so mismatched crates fail to resolve the path instead of miscompiling.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private_v0_1;
