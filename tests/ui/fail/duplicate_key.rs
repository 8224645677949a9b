use rpc_core::rpc;

#[rpc]
trait Api {
    #[rpc(name = "a", name = "b")]
    async fn ping(&self) -> u32;
}

fn main() {}
