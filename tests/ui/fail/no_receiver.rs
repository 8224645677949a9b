use rpc_core::rpc;

#[rpc]
trait Api {
    async fn version() -> String;
}

fn main() {}
