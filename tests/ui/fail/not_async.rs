use rpc_core::rpc;

#[rpc]
trait Api {
    fn ping(&self) -> u32;
}

fn main() {}
