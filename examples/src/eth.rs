//! A small Ethereum-shaped node: the chain id, a block number that grows every 200 ms, balances,
//! and `newHeads` subscriptions, in the wire format Ethereum clients (web3.py, alloy, cast)
//! expect, over HTTP, WebSocket and IPC alike.
//!
//! Ethereum numbers travel as hex strings ("quantities", `"0x7a69"`). A [`Quantity`] is a `u64`
//! that serializes that way: a method returns `Quantity` and needs no second, string-typed
//! twin.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream;
use rpc_core::{RpcError, Subscription, rpc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::watch;

/// An Ethereum quantity: a number written as a `0x`-prefixed hex string without leading zeros.
///
/// ```
/// use examples::eth::Quantity;
/// assert_eq!(serde_json::to_string(&Quantity(31337)).unwrap(), r#""0x7a69""#);
/// assert_eq!(serde_json::from_str::<Quantity>(r#""0x0""#).unwrap(), Quantity(0));
/// assert!(serde_json::from_str::<Quantity>(r#""12""#).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Quantity(pub u64);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:#x}", self.0))
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        let digits = text
            .strip_prefix("0x")
            .ok_or_else(|| serde::de::Error::custom("a quantity starts with 0x"))?;
        u64::from_str_radix(digits, 16)
            .map(Quantity)
            .map_err(|e| serde::de::Error::custom(format!("a quantity is hex digits: {e}")))
    }
}

impl schemars::JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^0x(0|[1-9a-f][0-9a-f]*)$",
            "description": "a number as 0x-prefixed hex"
        })
    }
}

/// A block header, in the JSON shape of `eth_getBlockByNumber` and `newHeads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// The block's number.
    pub number: Quantity,
    /// The block's hash.
    pub hash: String,
    /// The hash of the block before it.
    pub parent_hash: String,
    /// The proof-of-work nonce (zero since the merge).
    pub nonce: String,
    /// The hash of its (empty) uncle list.
    pub sha3_uncles: String,
    /// The bloom filter of its logs.
    pub logs_bloom: String,
    /// The root of its transactions' trie.
    pub transactions_root: String,
    /// The root of the state trie after it.
    pub state_root: String,
    /// The root of its receipts' trie.
    pub receipts_root: String,
    /// Who gets its fees.
    pub miner: String,
    /// Zero since the merge.
    pub difficulty: Quantity,
    /// Bytes the producer chose.
    pub extra_data: String,
    /// The most gas its transactions may use.
    pub gas_limit: Quantity,
    /// The gas its transactions used.
    pub gas_used: Quantity,
    /// When it was made, in seconds since the Unix epoch.
    pub timestamp: Quantity,
    /// The base fee per gas (EIP-1559), in wei.
    pub base_fee_per_gas: Quantity,
    /// The beacon chain's randomness (`prevRandao`).
    pub mix_hash: String,
}

/// A 32-byte hash as hex, made from a number (the example has no real hashing to do).
fn hash_of(n: u64, salt: u8) -> String {
    let mut hex = String::with_capacity(66);
    hex.push_str("0x");
    for i in 0..32u64 {
        let byte = (n
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left((i * 8) as u32) as u8)
            ^ salt
            ^ i as u8;
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

impl Header {
    /// Block `number`, made at `timestamp` (seconds).
    pub fn new(number: u64, timestamp: u64) -> Self {
        Header {
            number: Quantity(number),
            hash: hash_of(number, 0),
            parent_hash: if number == 0 {
                format!("0x{}", "0".repeat(64))
            } else {
                hash_of(number - 1, 0)
            },
            nonce: "0x0000000000000000".into(),
            sha3_uncles: "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
                .into(),
            logs_bloom: format!("0x{}", "0".repeat(512)),
            transactions_root: hash_of(number, 1),
            state_root: hash_of(number, 2),
            receipts_root: hash_of(number, 3),
            miner: "0x0000000000000000000000000000000000000000".into(),
            difficulty: Quantity(0),
            extra_data: "0x".into(),
            gas_limit: Quantity(30_000_000),
            gas_used: Quantity(21_000 * (number % 7)),
            timestamp: Quantity(timestamp),
            base_fee_per_gas: Quantity(1_000_000_000),
            mix_hash: hash_of(number, 4),
        }
    }
}

/// A request the node does not take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unsupported {
    /// What was asked.
    pub asked: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unsupported: {}", self.asked)
    }
}

impl RpcError for Unsupported {}

/// The node's methods, with Ethereum's names.
#[rpc]
pub trait Eth {
    /// The chain id: 31337 (`0x7a69`), a local development chain's.
    #[rpc(name = "eth_chainId")]
    async fn chain_id(&self) -> Quantity;

    /// The number of the newest block.
    #[rpc(name = "eth_blockNumber")]
    async fn block_number(&self) -> Quantity;

    /// The balance of `address` (in wei) at `block` (`"latest"`, or a quantity).
    #[rpc(name = "eth_getBalance")]
    async fn get_balance(
        &self,
        address: String,
        block: Option<String>,
    ) -> Result<Quantity, Unsupported>;

    /// `newHeads`: every new block's header, as `eth_subscription` notifications.
    #[rpc(
        name = "eth_subscribe",
        subscription = "eth_subscription",
        unsubscribe = "eth_unsubscribe"
    )]
    async fn subscribe(
        &self,
        kind: String,
    ) -> Result<Subscription<Header, Unsupported>, Unsupported>;
}

/// The chain: a new block every `interval`, for as long as the node lives.
#[derive(Clone)]
pub struct Node {
    heads: watch::Receiver<Header>,
    _miner: Arc<tokio::task::JoinHandle<()>>,
}

/// How often the node makes a block.
pub const BLOCK_INTERVAL: Duration = Duration::from_millis(200);

impl Node {
    /// Starts the chain at block 0 (must be called within a tokio runtime).
    pub fn start() -> Self {
        let now = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        let (tx, heads) = watch::channel(Header::new(0, now()));
        let miner = tokio::spawn(async move {
            let mut every = tokio::time::interval(BLOCK_INTERVAL);
            every.tick().await;
            let mut number = 0;
            loop {
                every.tick().await;
                number += 1;
                if tx.send(Header::new(number, now())).is_err() {
                    return;
                }
            }
        });
        Node {
            heads,
            _miner: Arc::new(miner),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if Arc::strong_count(&self._miner) == 1 {
            self._miner.abort();
        }
    }
}

impl Eth for Node {
    async fn chain_id(&self) -> Quantity {
        Quantity(31337)
    }

    async fn block_number(&self) -> Quantity {
        self.heads.borrow().number
    }

    async fn get_balance(
        &self,
        address: String,
        block: Option<String>,
    ) -> Result<Quantity, Unsupported> {
        let well_formed = address.len() == 42
            && address.starts_with("0x")
            && address[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(Unsupported {
                asked: format!("the address {address:?} (expected 0x and 40 hex digits)"),
            });
        }
        match block.as_deref() {
            None | Some("latest" | "pending" | "safe" | "finalized" | "earliest") => {}
            Some(n) if n.starts_with("0x") => {}
            Some(other) => {
                return Err(Unsupported {
                    asked: format!("the block {other:?}"),
                });
            }
        }
        // Every account holds 1 ether plus its last byte in wei: a balance a test can check.
        let last = u64::from_str_radix(&address[40..], 16).unwrap_or(0);
        Ok(Quantity(1_000_000_000_000_000_000 + last))
    }

    async fn subscribe(
        &self,
        kind: String,
    ) -> Result<Subscription<Header, Unsupported>, Unsupported> {
        if kind != "newHeads" {
            return Err(Unsupported {
                asked: format!("the subscription {kind:?} (this node has newHeads)"),
            });
        }
        let mut heads = self.heads.clone();
        heads.mark_unchanged();
        Ok(Subscription::from_items(stream::unfold(
            heads,
            |mut heads| async move {
                heads.changed().await.ok()?;
                let head = heads.borrow_and_update().clone();
                Some((head, heads))
            },
        )))
    }
}

/// The node's endpoint.
pub fn endpoint(node: Node) -> rpc_server::RpcService<EthServer<Node>> {
    rpc_server::RpcService::new(EthServer(node))
}
