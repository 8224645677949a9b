use rpc_core::rpc;

#[rpc]
trait Api {
    async fn join(&self, #[rpc(variadic)] parts: Vec<String>, sep: String) -> String;
}

fn main() {}
