//! A key-value store behind a bearer-token layer: generic code runs against the local store and
//! the remote client alike, and writes need an admin token.
//!
//! ```text
//! cargo run -p examples --example store
//! ```

use examples::store::{MemoryStore, Store, StoreClient, StoreError, copy_value};
use rpc_core::CallError;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = examples::spawn(examples::store::app(), "127.0.0.1:0").await?;
    let url = format!("http://{addr}/rpc");
    let connect = |token: &str| -> Result<StoreClient, rpc_core::Error> {
        let client = rpc_client::Client::builder(&url)
            .bearer_auth(token)
            .build()?;
        Ok(StoreClient::from_client(client))
    };
    let admin = connect("admin-token")?;
    let reader = connect("reader-token")?;

    // The same generic function, once in process and once over HTTP.
    let local = MemoryStore::default();
    local.put("greeting".into(), "hello".into()).await?;
    println!(
        "local:  copy_value -> {:?}",
        copy_value(&local, "greeting", "copy").await?
    );
    Store::put(&admin, "greeting".into(), "hello over HTTP".into()).await?;
    println!(
        "remote: copy_value -> {:?}",
        copy_value(&admin, "greeting", "copy").await?
    );

    println!(
        "reader: get(\"copy\") -> {:?}",
        reader.get("copy".into()).await?
    );
    match reader.put("copy".into(), "overwritten".into()).await {
        Err(CallError::Method(StoreError::Forbidden)) => {
            println!("reader: put -> forbidden, as it should be")
        }
        other => return Err(format!("a reader must not write: {other:?}").into()),
    }
    match connect("wrong-token")?.keys().await {
        Err(CallError::Call(e)) => println!("bad token: {e}"),
        other => return Err(format!("expected 401: {other:?}").into()),
    }
    Ok(())
}
