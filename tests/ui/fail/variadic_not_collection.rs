//! A variadic param must be a collection the client can send element by element.

use rpc_core::rpc;

#[rpc]
trait Api {
    async fn sum(&self, #[rpc(variadic)] numbers: u64) -> u64;
}

fn main() {}
