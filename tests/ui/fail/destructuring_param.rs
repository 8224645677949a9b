use rpc_core::rpc;

#[rpc]
trait Api {
    async fn add(&self, (a, b): (i64, i64)) -> i64;
}

fn main() {}
