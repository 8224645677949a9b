//! Every kind of error type a method may return: a typed `RpcError`, `ErrorObject` itself, and
//! the catch-all boxed errors, into which any error flows with `?`. One implementation is
//! shared through `Arc`, and the typed client is built through its builder.

use std::sync::Arc;
use std::time::Duration;

use rpc_core::{CallError, ErrorObject, rpc};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[rpc]
pub trait Files {
    async fn read(&self, path: String) -> Result<String, ErrorObject>;
    async fn size(&self, path: String) -> Result<u64, BoxError>;
    async fn parse(&self, text: String) -> Result<i64, Box<dyn std::error::Error>>;
}

struct Disk;

impl Files for Disk {
    async fn read(&self, path: String) -> Result<String, ErrorObject> {
        Err(ErrorObject::new(4004, "not found").with_data(&path))
    }

    async fn size(&self, path: String) -> Result<u64, BoxError> {
        let n: u64 = path.parse()?;
        Ok(n)
    }

    async fn parse(&self, text: String) -> Result<i64, Box<dyn std::error::Error>> {
        Ok(text.parse()?)
    }
}

async fn remote() -> Result<(), Box<dyn std::error::Error>> {
    let client = FilesClient::builder("http://127.0.0.1:1/rpc")
        .timeout(Duration::from_secs(1))
        .build()?;
    let _: String = client.read("a".into()).await?;
    match client.size("b".into()).await {
        Err(CallError::Method(boxed)) => println!("{boxed}"),
        other => drop(other),
    }
    Ok(())
}

fn main() {
    let shared = Arc::new(Disk);
    let _server = FilesServer(shared.clone());
    let _local = shared.size("1".into());
    let _ = remote();
}
