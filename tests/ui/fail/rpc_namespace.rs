use rpc_core::rpc;

#[rpc(namespace = "rpc")]
trait Api {
    async fn ping(&self) -> u32;
}

fn main() {}
