use rpc_core::rpc;

#[rpc]
trait Api {
    #[rpc(name = "rpc.discover")]
    async fn discover(&self) -> String;
}

fn main() {}
