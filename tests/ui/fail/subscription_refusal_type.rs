use rpc_core::{rpc, ErrorObject, Subscription};

#[rpc(server)]
trait Feed {
    #[rpc(subscription = "block")]
    async fn subscribe_blocks(&self) -> Result<Subscription<u64, ErrorObject>, std::io::Error>;
}

fn main() {}
