//! A trait using every feature at once, both sides generated, exercised by type-checked code.

use rpc_core::{RpcError, Service, rpc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Todo {
    pub id: u64,
    pub title: String,
    pub done: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum TodoError {
    NotFound(u64),
    Empty,
}

impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TodoError::NotFound(id) => write!(f, "no todo #{id}"),
            TodoError::Empty => f.write_str("empty title"),
        }
    }
}

impl RpcError for TodoError {
    fn code(&self) -> i64 {
        404
    }
}

/// A to-do list.
///
/// Every method lives under the `todo.` namespace.
#[rpc(namespace = "todo")]
pub trait Todos {
    /// Adds a to-do and returns it.
    ///
    /// `done` defaults to `false`.
    #[rpc(name = "add", aliases = ["create", "new_todo"])]
    async fn add_todo(&self, title: String, done: Option<bool>) -> Result<Todo, TodoError>;

    /// One to-do.
    #[rpc(params = "named")]
    async fn get(&self, id: u64) -> Result<Todo, TodoError>;

    /// Every to-do, or those with the given ids.
    async fn list(&self, #[rpc(variadic)] ids: Vec<u64>) -> Vec<Todo>;

    /// Search with optional filters, by name only.
    #[rpc(params = "named", name = "find")]
    async fn search(&self, text: Option<String>, done: Option<bool>, limit: Option<u32>) -> Vec<Todo>;

    /// Marks to-dos done; a notification.
    async fn mark_done(&self, first: u64, #[rpc(variadic)] rest: Vec<u64>);

    /// A raw identifier as a method and a param.
    async fn r#type(&self, r#in: String) -> (String, u32);

    /// Returns nothing, written out.
    async fn clear(&self) -> ();

    /// No params, nested generic result.
    async fn stats(&self) -> std::collections::BTreeMap<String, Vec<Option<u64>>>;
}

struct Memory;

impl Todos for Memory {
    async fn add_todo(&self, title: String, done: Option<bool>) -> Result<Todo, TodoError> {
        if title.is_empty() {
            return Err(TodoError::Empty);
        }
        Ok(Todo { id: 1, title, done: done.unwrap_or(false) })
    }

    async fn get(&self, id: u64) -> Result<Todo, TodoError> {
        Err(TodoError::NotFound(id))
    }

    async fn list(&self, _ids: Vec<u64>) -> Vec<Todo> {
        Vec::new()
    }

    async fn search(&self, _text: Option<String>, _done: Option<bool>, _limit: Option<u32>) -> Vec<Todo> {
        Vec::new()
    }

    async fn mark_done(&self, _first: u64, _rest: Vec<u64>) {}

    async fn r#type(&self, r#in: String) -> (String, u32) {
        (r#in, 0)
    }

    async fn clear(&self) {}

    async fn stats(&self) -> std::collections::BTreeMap<String, Vec<Option<u64>>> {
        Default::default()
    }
}

fn assert_service<S: Service + Send + Sync + 'static>(_: &S) {}

#[allow(unused_must_use, clippy::let_underscore_future)]
fn main() {
    let server = TodosServer(Memory);
    assert_service(&server);
    let names: Vec<&str> = TodosServer::<()>::INFO.methods.iter().map(|m| m.name).collect();
    assert_eq!(
        names,
        ["todo.add", "todo.get", "todo.list", "todo.find", "todo.mark_done", "todo.type", "todo.clear", "todo.stats"]
    );
    let info = TodosServer::<()>::INFO;
    assert_eq!(info.name, "Todos");
    assert_eq!(info.method("todo.create").map(|m| m.name), Some("todo.add"));
    let _document: serde_json::Value = TodosServer::openrpc();
    let _router: axum::Router = rpc_server::router(server);

    // Type-checked, never run: the client's calls have the trait's arguments and results.
    let _ = async {
        let client = TodosClient::new("http://127.0.0.1:1/rpc")?;
        let todo: Result<Todo, rpc_core::CallError<TodoError>> =
            client.add_todo("write tests".to_owned(), None).await;
        let _ = todo;
        let _: Result<Todo, rpc_core::CallError<TodoError>> = client.get(1).await;
        let _: Vec<Todo> = client.list(vec![1, 2, 3]).await?;
        let _: Vec<Todo> = client.search(Some("x".into()), None, Some(3)).await?;
        let _: () = client.mark_done(1, vec![2, 3]).await?;
        let _: (String, u32) = client.r#type("a".into()).await?;
        let _: () = client.clear().await?;
        let _ = client.stats().await?;

        client.notify().mark_done(1, Vec::new()).await?;
        client.notify().clear().await?;

        let mut batch = client.batch();
        let a = batch.add_todo("t".into(), Some(true));
        let b = batch.list(Vec::new());
        batch.notify().mark_done(4, vec![5]);
        let mut answers = batch.send().await?;
        let _: Result<Todo, rpc_core::CallError<TodoError>> = answers.take(a);
        let _: Result<Vec<Todo>, rpc_core::Error> = answers.take(b);

        let _inner: rpc_client::Batch = client.batch().into_inner();
        let _again = TodosBatch::from(client.client().batch());
        let _same = TodosClient::from_client(client.client().clone());
        Ok::<(), rpc_core::Error>(())
    };
}
