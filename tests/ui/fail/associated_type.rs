use rpc_core::rpc;

#[rpc]
trait Api {
    type Item;

    async fn get(&self) -> u32;
}

fn main() {}
