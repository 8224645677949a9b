//! `#[rpc(client_impl)]`: the client implements the trait, so generic code takes either side.

use rpc_core::{RpcError, rpc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub enum KvError {
    Missing,
    Transport(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::Missing => f.write_str("missing"),
            KvError::Transport(why) => write!(f, "transport: {why}"),
        }
    }
}

impl RpcError for KvError {}

impl From<rpc_core::Error> for KvError {
    fn from(e: rpc_core::Error) -> Self {
        KvError::Transport(e.to_string())
    }
}

/// A key-value store.
#[rpc(client_impl, namespace = "kv")]
pub trait Kv {
    /// The value under `key`.
    async fn get(&self, key: String) -> Result<Option<String>, KvError>;

    /// Stores a value; nothing to return but still a `Result`.
    #[rpc(params = "named")]
    async fn put(&self, key: String, value: String) -> Result<(), KvError>;

    /// Every key.
    async fn keys(&self, #[rpc(variadic)] prefixes: Vec<String>) -> Result<Vec<String>, KvError>;
}

struct Empty;

impl Kv for Empty {
    async fn get(&self, _key: String) -> Result<Option<String>, KvError> {
        Ok(None)
    }

    async fn put(&self, _key: String, _value: String) -> Result<(), KvError> {
        Err(KvError::Missing)
    }

    async fn keys(&self, _prefixes: Vec<String>) -> Result<Vec<String>, KvError> {
        Ok(Vec::new())
    }
}

async fn first_key<K: Kv>(kv: &K) -> Result<Option<String>, KvError> {
    Ok(kv.keys(Vec::new()).await?.into_iter().next())
}

fn is_send<T: Send>(_: T) {}

fn main() {
    let _router: axum::Router = rpc_server::router(KvServer(Empty));
    let client = KvClient::new("http://127.0.0.1:1/rpc").unwrap();
    // Both sides through the same generic function; the futures are `Send`.
    is_send(first_key(&Empty));
    is_send(first_key(&client));
    is_send(<KvClient as Kv>::get(&client, "k".into()));
    // The inherent method is still there, with the transport error kept apart.
    is_send(async {
        let _: Result<(), rpc_core::CallError<KvError>> =
            client.put("k".into(), "v".into()).await;
    });
}
