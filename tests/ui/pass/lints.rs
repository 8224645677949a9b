//! The generated code is warning-free under strict lints: every generated public item is
//! documented, and no path it writes is needlessly qualified.

#![deny(warnings)]
#![deny(missing_docs, unused_qualifications)]
#![deny(missing_debug_implementations, unreachable_pub, unused_results, trivial_casts)]
#![deny(rust_2018_idioms, unused_lifetimes, single_use_lifetimes)]

use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};

/// Why a lookup failed.
#[derive(Debug, Serialize, Deserialize)]
pub struct Missing;

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("missing")
    }
}

impl RpcError for Missing {}

impl From<rpc_core::Error> for Missing {
    fn from(_: rpc_core::Error) -> Self {
        Missing
    }
}

/// A documented service.
#[rpc(namespace = "docs")]
pub trait Documented {
    /// Looks something up.
    async fn lookup(&self, key: String, default: Option<u32>) -> Result<u32, Missing>;

    /// Adds numbers.
    #[rpc(name = "add", aliases = ["plus"], params = "named")]
    async fn add_numbers(&self, a: i64, b: i64) -> i64;

    /// A notification.
    async fn poke(&self, #[rpc(variadic)] reasons: Vec<String>);

    /// No params, no result.
    async fn reset(&self);
}

/// A documented service whose client implements it.
#[rpc(client_impl)]
pub trait Mirrored {
    /// Looks something up.
    async fn lookup(&self, key: String) -> Result<u32, Missing>;

    /// A `Result<()>` method, the `client_impl` form of a notification.
    async fn reset(&self) -> Result<(), Missing>;
}

/// A documented server-only service.
#[rpc(server)]
pub trait ServerSide {
    /// Echoes.
    async fn echo(&self, value: serde_json::Value) -> serde_json::Value;
}

/// A documented client-only service.
#[rpc(client)]
pub trait ClientSide {
    /// Echoes.
    async fn echo(&self, value: serde_json::Value) -> serde_json::Value;

    /// A notification.
    async fn ping(&self);
}

struct Impl;

impl Documented for Impl {
    async fn lookup(&self, _key: String, default: Option<u32>) -> Result<u32, Missing> {
        default.ok_or(Missing)
    }

    async fn add_numbers(&self, a: i64, b: i64) -> i64 {
        a + b
    }

    async fn poke(&self, _reasons: Vec<String>) {}

    async fn reset(&self) {}
}

impl Mirrored for Impl {
    async fn lookup(&self, _key: String) -> Result<u32, Missing> {
        Err(Missing)
    }

    async fn reset(&self) -> Result<(), Missing> {
        Ok(())
    }
}

impl ServerSide for Impl {
    async fn echo(&self, value: serde_json::Value) -> serde_json::Value {
        value
    }
}

/// Uses every generated item, so that `dead_code` (part of `warnings`) has nothing to report
/// about the user's code and anything left is the macro's.
async fn use_everything() -> Result<(), rpc_core::Error> {
    let _: axum::Router = rpc_server::router(DocumentedServer(Impl));
    let _: axum::Router = rpc_server::router(MirroredServer(Impl));
    let _: axum::Router = rpc_server::router(ServerSideServer(Impl));

    let documented = DocumentedClient::new("http://127.0.0.1:1/rpc")?;
    let _ = documented.lookup("k".to_owned(), None).await;
    let _ = documented.add_numbers(1, 2).await?;
    documented.poke(Vec::new()).await?;
    documented.reset().await?;
    documented.notify().poke(vec!["x".to_owned()]).await?;
    documented.notify().reset().await?;
    let mut batch = documented.batch();
    let lookup = batch.lookup("k".to_owned(), Some(1));
    let add = batch.add_numbers(1, 2);
    let poke = batch.poke(Vec::new());
    let reset = batch.reset();
    batch.notify().poke(Vec::new());
    batch.notify().reset();
    let mut answers = batch.send().await?;
    let _ = answers.take(lookup);
    let _ = answers.take(add)?;
    answers.take(poke)?;
    answers.take(reset)?;
    let _ = DocumentedBatch::from(documented.client().batch()).into_inner();
    let _ = DocumentedClient::from_client(documented.client().clone());

    let mirrored = MirroredClient::new("http://127.0.0.1:1/rpc")?;
    let _ = Mirrored::lookup(&mirrored, "k".to_owned()).await;
    let _ = Mirrored::reset(&mirrored).await;
    let _ = MirroredClient::lookup(&mirrored, "k".to_owned()).await;
    let _ = MirroredClient::reset(&mirrored).await;
    let mut batch = mirrored.batch();
    let _ = batch.lookup("k".to_owned());
    let _ = batch.reset();
    let _ = batch.send().await?;

    let client_side = ClientSideClient::new("http://127.0.0.1:1/rpc")?;
    let _ = client_side.echo(serde_json::Value::Null).await?;
    client_side.ping().await?;
    client_side.notify().ping().await?;
    let mut batch = client_side.batch();
    let _ = batch.echo(serde_json::Value::Null);
    let _ = batch.ping();
    batch.notify().ping();
    let _ = batch.send().await?;
    Ok(())
}

fn main() {
    drop(use_everything());
}
