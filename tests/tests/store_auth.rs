//! The client implements the trait: generic code runs against the local store and the remote
//! one alike. Request context: a bearer-token layer's user decides per method.

mod common;

use examples::store::{MemoryStore, Store, StoreClient, StoreError, copy_value};
use rpc_core::{CallError, Error};

fn client(url: &str, token: Option<&str>) -> StoreClient {
    let mut builder = rpc_client::Client::builder(url);
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    StoreClient::from_client(builder.build().unwrap())
}

#[tokio::test]
async fn generic_code_runs_locally_and_remotely() {
    let local = MemoryStore::default();
    local.put("a".into(), "1".into()).await.unwrap();
    assert_eq!(copy_value(&local, "a", "b").await.unwrap(), "1");
    assert_eq!(local.keys().await.unwrap(), ["a", "b"]);

    let url = common::serve(examples::store::app(), "/rpc").await;
    let admin = client(&url, Some("admin-token"));
    Store::put(&admin, "a".into(), "2".into()).await.unwrap();
    assert_eq!(copy_value(&admin, "a", "b").await.unwrap(), "2");
    assert_eq!(Store::keys(&admin).await.unwrap(), ["a", "b"]);

    // The same typed error, locally and through the client's trait impl.
    let missing_local = copy_value(&local, "zzz", "c").await.unwrap_err();
    let missing_remote = copy_value(&admin, "zzz", "c").await.unwrap_err();
    assert_eq!(missing_local, StoreError::NotFound("zzz".into()));
    assert_eq!(missing_remote, missing_local);
}

#[tokio::test]
async fn a_failed_call_folds_into_the_trait_error() {
    let refusing = common::RefusingPort::new();
    let store = client(&refusing.url("/rpc"), Some("admin-token"));
    match copy_value(&store, "a", "b").await {
        Err(StoreError::Unavailable(why)) => assert!(why.contains("transport"), "{why}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn bearer_token_and_per_method_access() {
    let url = common::serve(examples::store::app(), "/rpc").await;
    let anonymous = client(&url, None);
    match anonymous.keys().await {
        Err(CallError::Call(Error::Status { status: 401, .. })) => {}
        other => panic!("expected HTTP 401, got {other:?}"),
    }
    let wrong = client(&url, Some("guess"));
    assert!(matches!(
        wrong.keys().await,
        Err(CallError::Call(Error::Status { status: 401, .. }))
    ));

    let admin = client(&url, Some("admin-token"));
    let reader = client(&url, Some("reader-token"));
    assert_eq!(admin.put("k".into(), "v".into()).await.unwrap(), None);
    assert_eq!(reader.get("k".into()).await.unwrap(), "v");
    match reader.put("k".into(), "w".into()).await {
        Err(CallError::Method(StoreError::Forbidden)) => {}
        other => panic!("a reader must not write, got {other:?}"),
    }
    assert_eq!(
        admin.put("k".into(), "w".into()).await.unwrap(),
        Some("v".into())
    );
    assert_eq!(reader.get("k".into()).await.unwrap(), "w");
}
