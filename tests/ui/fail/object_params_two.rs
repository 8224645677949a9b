use rpc_core::rpc;

#[derive(serde::Deserialize)]
struct Position {
    line: u32,
}

#[rpc(server)]
trait Editor {
    #[rpc(params = "object")]
    async fn hover(&self, position: Position, extra: u32) -> String;
}

fn main() {}
