use rpc_core::rpc;

#[rpc]
trait Api {
    #[rpc(idempotent = "yes")]
    async fn get(&self) -> u64;
}

#[rpc(idempotent = true)]
trait Other {
    async fn get(&self) -> u64;
}

fn main() {}
