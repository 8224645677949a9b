use rpc_core::rpc;

#[rpc]
trait Api {
    async fn status(&self) -> String;

    #[rpc(aliases = ["health", "status"])]
    async fn health(&self) -> String;
}

fn main() {}
