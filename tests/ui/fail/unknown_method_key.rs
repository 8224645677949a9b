use rpc_core::rpc;

#[rpc]
trait Api {
    #[rpc(rename = "pong")]
    async fn ping(&self) -> u32;
}

fn main() {}
