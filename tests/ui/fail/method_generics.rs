use rpc_core::rpc;

#[rpc]
trait Api {
    async fn echo<T>(&self, value: T) -> T;
}

fn main() {}
