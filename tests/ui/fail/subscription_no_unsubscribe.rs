use rpc_core::{rpc, Subscription};

#[rpc(server)]
trait Feed {
    #[rpc(subscription = "block")]
    async fn blocks(&self) -> Subscription<u64>;
}

fn main() {}
