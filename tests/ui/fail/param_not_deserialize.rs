//! A param type that serializes but does not deserialize: one error, on the type, saying what to
//! derive; nothing about the runtime's own traits.

use rpc_core::rpc;
use serde::Serialize;

#[derive(Serialize)]
struct Point {
    x: i32,
    y: i32,
}

#[rpc]
trait Api {
    async fn distance(&self, point: Point) -> f64;
}

fn main() {}
