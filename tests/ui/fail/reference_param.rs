use rpc_core::rpc;

#[rpc]
trait Api {
    async fn greet(&self, name: &str) -> String;
}

fn main() {}
