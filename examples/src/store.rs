//! A key-value store: its client implements the trait, so generic code runs unchanged against
//! the local store and the remote one; and a bearer-token layer whose user each method can see.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rpc_core::{RpcError, rpc};
use rpc_server::RequestContext;
use serde::{Deserialize, Serialize};

/// What can go wrong with the store, locally or remotely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum StoreError {
    /// No value under that key.
    NotFound(String),
    /// The caller may not do this.
    Forbidden,
    /// The store could not be reached: the call itself failed.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound(key) => write!(f, "no value under `{key}`"),
            StoreError::Forbidden => f.write_str("forbidden"),
            StoreError::Unavailable(why) => write!(f, "store unavailable: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl RpcError for StoreError {
    fn code(&self) -> i64 {
        match self {
            StoreError::NotFound(_) => 404,
            StoreError::Forbidden => 403,
            StoreError::Unavailable(_) => 503,
        }
    }
}

/// A failed call becomes `Unavailable`, which lets the client implement [`Store`].
impl From<rpc_core::Error> for StoreError {
    fn from(e: rpc_core::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// A string-to-string store.
#[rpc(client_impl, namespace = "store")]
pub trait Store {
    /// The value under `key`.
    async fn get(&self, key: String) -> Result<String, StoreError>;

    /// Stores `value` under `key`, returning the previous value. Admins only.
    async fn put(&self, key: String, value: String) -> Result<Option<String>, StoreError>;

    /// Every key, in order.
    async fn keys(&self) -> Result<Vec<String>, StoreError>;
}

/// The store in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<String, String>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        // A panic while holding the lock leaves the map itself intact.
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: String) -> Result<String, StoreError> {
        self.map()
            .get(&key)
            .cloned()
            .ok_or(StoreError::NotFound(key))
    }

    async fn put(&self, key: String, value: String) -> Result<Option<String>, StoreError> {
        // Over HTTP, only an admin may write; in-process calls have no request and are trusted.
        let caller = RequestContext::with(|_| RequestContext::extension::<User>());
        if let Some(caller) = caller
            && !caller.is_some_and(|u| u.admin)
        {
            return Err(StoreError::Forbidden);
        }
        Ok(self.map().insert(key, value))
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.map().keys().cloned().collect())
    }
}

/// Generic code written against the trait: it runs the same against [`MemoryStore`] and
/// against [`StoreClient`].
pub async fn copy_value<S: Store>(store: &S, from: &str, to: &str) -> Result<String, StoreError> {
    let value = store.get(from.to_owned()).await?;
    store.put(to.to_owned(), value.clone()).await?;
    Ok(value)
}

/// The user a bearer token stands for, put into the request's extensions by [`bearer_auth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// Whether the user may write.
    pub admin: bool,
}

/// The example's tokens: `admin-token` for an admin, `reader-token` for a reader.
pub fn user_for_token(token: &str) -> Option<User> {
    match token {
        "admin-token" => Some(User {
            name: "ada".into(),
            admin: true,
        }),
        "reader-token" => Some(User {
            name: "rex".into(),
            admin: false,
        }),
        _ => None,
    }
}

/// An axum middleware: requests without a known bearer token get `401`, the others carry their
/// [`User`] in their extensions.
pub async fn bearer_auth(mut request: Request, next: Next) -> Response {
    let user = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(user_for_token);
    match user {
        Some(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None => (StatusCode::UNAUTHORIZED, "a valid bearer token is required").into_response(),
    }
}

/// The store at `/rpc` behind [`bearer_auth`].
pub fn app() -> axum::Router {
    axum::Router::new()
        .nest(
            "/rpc",
            rpc_server::router(StoreServer(MemoryStore::default())),
        )
        .layer(axum::middleware::from_fn(bearer_auth))
}
