//! Several traits on one endpoint: calls to each, in one batch too, the documents covering all,
//! and a name served twice refused when the route is built.

mod common;

use rpc_core::rpc;
use rpc_server::{RouterExt, RpcService};

/// Chain data.
#[rpc(namespace = "eth")]
pub trait Eth {
    /// The latest block's number.
    async fn block_number(&self) -> u64;
}

/// The node's network.
#[rpc(namespace = "net")]
pub trait Net {
    /// The network's id.
    async fn version(&self) -> String;
    /// Peers connected.
    #[rpc(aliases = ["peers"])]
    async fn peer_count(&self) -> u32;
}

/// A second network service, clashing with `Net`'s alias on purpose.
#[rpc(server, namespace = "net")]
pub trait Peers {
    /// `net.peers`, which `Net` answers already.
    async fn peers(&self) -> u32;
}

struct Node;

impl Eth for Node {
    async fn block_number(&self) -> u64 {
        19_000_000
    }
}

impl Net for Node {
    async fn version(&self) -> String {
        "1".into()
    }
    async fn peer_count(&self) -> u32 {
        25
    }
}

impl Peers for Node {
    async fn peers(&self) -> u32 {
        3
    }
}

#[tokio::test]
async fn two_traits_answer_on_one_url() {
    let endpoint = RpcService::new(EthServer(Node))
        .merge(NetServer(Node))
        .unwrap()
        .introspection(true);
    let url = common::serve(axum::Router::new().rpc("/rpc", endpoint), "/rpc").await;
    let eth = EthClient::new(&url).unwrap();
    let net = NetClient::new(&url).unwrap();
    assert_eq!(eth.block_number().await.unwrap(), 19_000_000);
    assert_eq!(net.version().await.unwrap(), "1");

    // One batch holding calls of both traits.
    let mut batch = NetBatch::from(eth.batch().into_inner());
    let peers = batch.peer_count();
    let mut batch = EthBatch::from(batch.into_inner());
    let block = batch.block_number();
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.take(peers).unwrap(), 25);
    assert_eq!(answers.take(block).unwrap(), 19_000_000);

    let raw = common::post(
        &url,
        r#"[{"jsonrpc":"2.0","method":"net.peers","id":1},{"jsonrpc":"2.0","method":"eth.block_number","id":2}]"#,
    )
    .await
    .json();
    assert_eq!(raw[0]["result"], 25);
    assert_eq!(raw[1]["result"], 19_000_000);

    // The documents cover both.
    let client = eth.client();
    let doc: serde_json::Value = client.call("rpc.discover", None::<&()>).await.unwrap();
    let names: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eth.block_number", "net.version", "net.peer_count"]);
    assert_eq!(doc["info"]["title"], "Eth + Net");
    let listed: Vec<String> = client
        .call("system.listMethods", None::<&()>)
        .await
        .unwrap();
    for name in [
        "eth.block_number",
        "net.version",
        "net.peer_count",
        "net.peers",
    ] {
        assert!(listed.iter().any(|m| m == name), "{name} in {listed:?}");
    }
    let help: String = client
        .call("system.methodHelp", Some(&["net.version"]))
        .await
        .unwrap();
    assert_eq!(help, "The network's id.");
}

#[test]
fn a_name_served_twice_is_an_error_naming_both_traits() {
    let e = RpcService::new(NetServer(Node))
        .merge(EthServer(Node))
        .unwrap()
        .merge(PeersServer(Node))
        .unwrap_err();
    assert_eq!(e.method, "net.peers");
    assert_eq!((e.first, e.second), ("Net", "Peers"));
    assert_eq!(
        e.to_string(),
        "method `net.peers` is served by both `Net` and `Peers`"
    );
}
