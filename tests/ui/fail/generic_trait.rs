use rpc_core::rpc;

#[rpc]
trait Api<T> {
    async fn echo(&self, value: u32) -> u32;
}

fn main() {}
