use rpc_core::rpc;

#[rpc(servr)]
trait Api {
    async fn ping(&self) -> u32;
}

fn main() {}
