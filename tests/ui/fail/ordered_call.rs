use rpc_core::rpc;

#[rpc(server)]
trait Editor {
    #[rpc(ordered)]
    async fn apply_change(&self, text: String) -> u64;
}

fn main() {}
