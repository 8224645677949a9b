use rpc_core::rpc;

#[rpc]
trait Api {
    async fn batch(&self, items: Vec<u32>) -> u32;
}

fn main() {}
