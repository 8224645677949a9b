//! The three kinds of method error over real HTTP: a typed `RpcError` (covered throughout the
//! other tests), `ErrorObject` itself, and the catch-all boxed and `anyhow` errors; and results
//! JSON cannot hold.

mod common;

use std::sync::Arc;

use rpc_core::{CallError, ErrorObject, rpc};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Files, failing each way a method can.
#[rpc]
pub trait Files {
    /// Fails with an error object of its own choosing.
    async fn read(&self, path: String) -> Result<String, ErrorObject>;
    /// Fails with whatever `?` brings: a parse error here.
    async fn size(&self, text: String) -> Result<u64, BoxError>;
    /// The same through anyhow, with context the caller must not see.
    async fn open(&self, path: String) -> Result<u64, anyhow::Error>;
    /// A ratio that may not be a number.
    async fn ratio(&self, a: f64, b: f64) -> f64;
}

struct Disk;

impl Files for Disk {
    async fn read(&self, path: String) -> Result<String, ErrorObject> {
        match path.as_str() {
            "/etc/motd" => Ok("hello".into()),
            "/private" => Err(ErrorObject::invalid_params("no such path")),
            _ => Err(ErrorObject::new(4004, "not found").with_data(&path)),
        }
    }

    async fn size(&self, text: String) -> Result<u64, BoxError> {
        if text == "quota" {
            return Err(ErrorObject::new(4290, "over quota").into());
        }
        Ok(text.parse::<u64>()?)
    }

    async fn open(&self, path: String) -> Result<u64, anyhow::Error> {
        use anyhow::Context;
        let n: u64 = path
            .parse()
            .with_context(|| format!("secret detail: {path} under /srv/data"))
            .context("cannot open the file")?;
        Ok(n)
    }

    async fn ratio(&self, a: f64, b: f64) -> f64 {
        a / b
    }
}

async fn client() -> FilesClient {
    let app = axum::Router::new().nest("/rpc", rpc_server::router(FilesServer(Arc::new(Disk))));
    FilesClient::new(&common::serve(app, "/rpc").await).unwrap()
}

#[tokio::test]
async fn an_error_object_comes_back_unchanged() {
    let files = client().await;
    assert_eq!(files.read("/etc/motd".into()).await.unwrap(), "hello");
    match files.read("/nope".into()).await {
        Err(CallError::Method(obj)) => {
            assert_eq!((obj.code, &*obj.message), (4004, "not found"));
            assert_eq!(obj.data_as::<String>().as_deref(), Some("/nope"));
        }
        other => panic!("expected the method's error object, got {other:?}"),
    }
    // Even a protocol code, chosen by the method, is the method's own error.
    match files.read("/private".into()).await {
        Err(CallError::Method(obj)) => assert_eq!(obj.code, -32602),
        other => panic!("expected the method's error object, got {other:?}"),
    }
}

#[tokio::test]
async fn catch_all_errors_send_their_message_and_nothing_else() {
    let files = client().await;
    assert_eq!(files.size("42".into()).await.unwrap(), 42);
    match files.size("forty".into()).await {
        Err(CallError::Method(boxed)) => {
            let obj = boxed
                .downcast::<ErrorObject>()
                .expect("the client boxes the object");
            assert_eq!(obj.code, -32000);
            assert_eq!(obj.message, "invalid digit found in string");
            assert!(obj.data.is_none());
        }
        other => panic!("expected the method's error, got {other:?}"),
    }
    match files.size("quota".into()).await {
        Err(CallError::Method(boxed)) => {
            let obj = boxed.downcast::<ErrorObject>().unwrap();
            assert_eq!((obj.code, &*obj.message), (4290, "over quota"));
        }
        other => panic!("expected the chosen error object, got {other:?}"),
    }
    match files.open("x".into()).await {
        Err(CallError::Method(e)) => {
            let obj = e.downcast::<ErrorObject>().unwrap();
            assert_eq!((obj.code, &*obj.message), (-32000, "cannot open the file"));
            let text = format!("{obj} {:?}", obj.data);
            assert!(!text.contains("secret") && !text.contains("/srv"), "{text}");
        }
        other => panic!("expected the method's error, got {other:?}"),
    }
    // A boxed error flows into the caller's own `Box<dyn Error>` with `?`.
    async fn caller(files: &FilesClient) -> Result<u64, Box<dyn std::error::Error>> {
        Ok(files.size("7".into()).await? + files.size("x".into()).await?)
    }
    assert!(caller(&files).await.is_err());
}

#[tokio::test]
async fn a_result_json_cannot_hold_fails_that_call_only() {
    let files = client().await;
    assert_eq!(files.ratio(1.0, 4.0).await.unwrap(), 0.25);
    let e = files.ratio(0.0, 0.0).await.unwrap_err();
    assert_eq!(e.rpc_code(), Some(-32603), "{e}");
    let raw = common::post(
        files.client().url().as_str(),
        r#"[{"jsonrpc":"2.0","method":"ratio","params":[1,0],"id":1},
            {"jsonrpc":"2.0","method":"ratio","params":[3,4],"id":2}]"#,
    )
    .await
    .json();
    assert_eq!(raw[0]["error"]["code"], -32603);
    assert_eq!(raw[1]["result"], 0.75);
}
