use rpc_core::{rpc, Subscription};

struct Block;

#[rpc(server)]
trait Feed {
    #[rpc(subscription = "block")]
    async fn subscribe_blocks(&self) -> Subscription<Block>;
}

fn main() {}
