use rpc_core::rpc;

struct Point {
    x: i32,
    y: i32,
}

#[rpc]
trait Api {
    async fn distance(&self, point: Point) -> f64;
}

fn main() {}
