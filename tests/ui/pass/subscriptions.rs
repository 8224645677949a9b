//! Subscriptions on both sides: plain and refusable, a default and a shared unsubscribe name,
//! in a namespace; the client's methods return typed streams.

use rpc_core::{rpc, ErrorObject, RpcError, Subscription};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("gone")
    }
}

impl RpcError for Gone {}

/// Chain events.
#[rpc(namespace = "eth")]
pub trait Chain {
    /// New block numbers.
    #[rpc(subscription = "newHeads", unsubscribe = "unsubscribe")]
    async fn subscribe_heads(&self) -> Subscription<u64>;

    /// Logs of `address`; refused for an unknown one.
    #[rpc(subscription = "logs", unsubscribe = "unsubscribe")]
    async fn subscribe_logs(&self, address: String) -> Result<Subscription<String, Gone>, Gone>;

    /// Pending transactions, with the derived unsubscribe name.
    #[rpc(subscription = "pending")]
    async fn subscribe_pending(&self, full: Option<bool>) -> Subscription<String, ErrorObject>;

    /// An ordinary call beside them.
    async fn block_number(&self) -> u64;
}

fn main() {
    let methods = ChainServer::INFO.methods;
    let subscription = |i: usize| methods[i].subscription.unwrap();
    assert_eq!(subscription(0).notification, "newHeads");
    assert_eq!(subscription(0).unsubscribe, "eth.unsubscribe");
    assert_eq!(subscription(1).unsubscribe, "eth.unsubscribe");
    assert_eq!(subscription(2).unsubscribe, "eth.unsubscribe_pending");
    assert!(methods[3].subscription.is_none());

    #[allow(unused)]
    async fn typed(client: &ChainClient) -> Result<(), rpc_core::CallError<Gone>> {
        let _heads: Result<
            rpc_client::Subscription<u64, ErrorObject>,
            rpc_core::CallError<ErrorObject>,
        > = client.subscribe_heads().await;
        let _logs: rpc_client::Subscription<String, Gone> =
            client.subscribe_logs("0x0".into()).await?;
        Ok(())
    }
}
