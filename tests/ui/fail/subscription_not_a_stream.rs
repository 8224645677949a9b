use rpc_core::rpc;

#[rpc(server)]
trait Feed {
    #[rpc(subscription = "block")]
    async fn subscribe_blocks(&self) -> Vec<u64>;
}

fn main() {}
