use rpc_core::rpc;

#[rpc]
trait Api {
    async fn consume(self) -> u32;
}

fn main() {}
