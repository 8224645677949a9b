use rpc_core::rpc;

#[rpc]
trait Api {
    async fn store(&self, bytes: impl Into<Vec<u8>>) -> u64;
    async fn items(&self) -> Box<dyn Iterator<Item = u8>>;
}

fn main() {}
