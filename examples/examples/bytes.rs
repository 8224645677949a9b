//! Bytes on the wire. serde sends a `Vec<u8>` as a JSON array of numbers, about four bytes of
//! JSON per byte; wrapped in a type that serializes as base64 (here with `serde_with`) it takes
//! about 1.33. Both sides use the same type, so the calls read as before.
//!
//! Run with `cargo run -p examples --example bytes`.

use rpc_core::rpc;
use serde::{Deserialize, Serialize};
use serde_with::As;
use serde_with::base64::Base64;

/// Bytes that travel as one base64 string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blob(#[serde(with = "As::<Base64>")] pub Vec<u8>);

/// Stores blobs.
#[rpc]
pub trait Blobs {
    /// Stores `data` (sent as base64) and returns its length.
    async fn put(&self, data: Blob) -> usize;
    /// The same, with the bytes as serde's default array of numbers, for comparison.
    async fn put_raw(&self, data: Vec<u8>) -> usize;
    /// Returns `len` bytes counting up from 0, as base64.
    async fn get(&self, len: usize) -> Blob;
}

struct Store;

impl Blobs for Store {
    async fn put(&self, data: Blob) -> usize {
        data.0.len()
    }

    async fn put_raw(&self, data: Vec<u8>) -> usize {
        data.len()
    }

    async fn get(&self, len: usize) -> Blob {
        Blob((0..len).map(|i| i as u8).collect())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = axum::Router::new().nest("/rpc", rpc_server::router(BlobsServer(Store)));
    let addr = examples::spawn(app, "127.0.0.1:0").await?;
    let blobs = BlobsClient::new(&format!("http://{addr}/rpc"))?;

    let data: Vec<u8> = (0..=255).collect();
    assert_eq!(blobs.put(Blob(data.clone())).await?, 256);
    assert_eq!(blobs.put_raw(data.clone()).await?, 256);
    assert_eq!(blobs.get(4).await?, Blob(vec![0, 1, 2, 3]));

    let as_base64 = serde_json::to_string(&Blob(data.clone()))?.len();
    let as_numbers = serde_json::to_string(&data)?.len();
    println!("256 bytes as base64: {as_base64} bytes of JSON; as numbers: {as_numbers}");
    Ok(())
}
