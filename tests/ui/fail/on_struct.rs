use rpc_core::rpc;

#[rpc]
struct Api {
    value: u32,
}

fn main() {}
