use rpc_core::rpc;

#[rpc]
trait Api {
    async fn sum(&self, #[rpc(varargs)] numbers: Vec<i64>) -> i64;
}

fn main() {}
