use rpc_core::rpc;

#[rpc]
trait Api {
    #[rpc(name = "get")]
    async fn get_one(&self) -> u32;

    #[rpc(name = "get")]
    async fn get_two(&self) -> u32;
}

fn main() {}
