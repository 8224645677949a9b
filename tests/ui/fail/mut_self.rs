use rpc_core::rpc;

#[rpc]
trait Api {
    async fn bump(&mut self) -> u32;
}

fn main() {}
