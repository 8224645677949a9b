use rpc_core::{rpc, Subscription};

#[rpc(server)]
trait Feed {
    async fn subscribe_blocks(&self) -> Subscription<u64>;
}

fn main() {}
