//! The `#[rpc]` attribute of the JSON-RPC 2.0 framework. Use it through `rpc_core::rpc`,
//! where it is documented in full.
//!
//! ```
//! use rpc_core::rpc;
//!
//! /// Says hello.
//! #[rpc(server)]
//! pub trait Hello {
//!     /// Greets `name`.
//!     async fn hello(&self, name: String) -> String;
//! }
//!
//! assert_eq!(HelloServer::INFO.methods[0].name, "hello");
//! assert_eq!(HelloServer::INFO.methods[0].docs, "Greets `name`.");
//! ```
//!
//! The crate is split the way the macro works: `attr` reads `#[rpc(...)]` arguments, `ast`
//! builds a model of the trait, `valid` checks the rules across it, and `expand` writes the
//! trait, the server dispatcher and the client.

use proc_macro::TokenStream;

mod ast;
mod attr;
mod expand;
mod limits;
mod type_name;
mod valid;

/// Generates a JSON-RPC server dispatcher and a typed client from a trait.
/// See `rpc_core::rpc` for the full reference.
#[proc_macro_attribute]
pub fn rpc(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::rpc(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Writes the runtime's params impls for every arity the macro accepts, and `MAX_PARAMS`, so
/// that the limit lives in one place. Used once, by `rpc-core`; not a public API.
#[doc(hidden)]
#[proc_macro]
pub fn __params_impls(input: TokenStream) -> TokenStream {
    limits::params_impls(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
