//! The service the wire, client and HTTP tests share: one trait with every feature of the
//! wire, served at `/rpc` with connection info.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ConnectInfo;
use rpc_core::{RpcError, rpc};
use rpc_server::{RequestContext, RpcService};
use serde::{Deserialize, Serialize};

/// An error with the default code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Refused {
    pub(crate) reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "refused: {}", self.reason)
    }
}

impl RpcError for Refused {}

/// Everything the wire can do, in one trait.
#[rpc(namespace = "t")]
pub(crate) trait Features {
    /// Trailing options may be left out.
    async fn echo_opt(
        &self,
        a: i32,
        b: Option<i32>,
        c: Option<String>,
    ) -> (i32, Option<i32>, Option<String>);

    /// Answers to `t.renamed` and `t.alias`.
    #[rpc(name = "renamed", aliases = ["alias"])]
    async fn original(&self) -> String;

    /// The client sends these params by name.
    #[rpc(params = "named")]
    async fn named(&self, first: String, second: u8) -> String;

    /// Sleeps, then returns how long.
    async fn sleep_ms(&self, ms: u64) -> u64;

    /// Panics when asked to.
    async fn boom(&self, really: bool) -> i32;

    /// A header of the HTTP request this call came in.
    async fn header(&self, name: String) -> Option<String>;

    /// The caller's TCP port, as the server saw it.
    async fn peer_port(&self) -> u16;

    /// Always fails with the default error code.
    async fn refuse(&self, reason: String) -> Result<u8, Refused>;

    /// Remembers `note`; meant to be sent as a notification.
    async fn record(&self, note: String);

    /// Every note recorded so far.
    async fn notes(&self) -> Vec<String>;

    /// Fixed params, then any count of numbers.
    async fn join(&self, sep: String, #[rpc(variadic)] numbers: Vec<u32>) -> String;

    /// A raw identifier param: `type` on the wire.
    async fn kind(&self, r#type: String) -> String;
}

#[derive(Default)]
pub(crate) struct Impl {
    notes: Mutex<Vec<String>>,
}

impl Features for Impl {
    async fn echo_opt(
        &self,
        a: i32,
        b: Option<i32>,
        c: Option<String>,
    ) -> (i32, Option<i32>, Option<String>) {
        (a, b, c)
    }

    async fn original(&self) -> String {
        "original".into()
    }

    async fn named(&self, first: String, second: u8) -> String {
        format!("{first}/{second}")
    }

    async fn sleep_ms(&self, ms: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        ms
    }

    async fn boom(&self, really: bool) -> i32 {
        if really {
            panic!("secret internals");
        }
        1
    }

    async fn header(&self, name: String) -> Option<String> {
        RequestContext::header(name.as_str()).and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    async fn peer_port(&self) -> u16 {
        RequestContext::extension::<ConnectInfo<SocketAddr>>().map_or(0, |c| c.0.port())
    }

    async fn refuse(&self, reason: String) -> Result<u8, Refused> {
        Err(Refused { reason })
    }

    async fn record(&self, note: String) {
        self.notes.lock().unwrap().push(note);
    }

    async fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    async fn join(&self, sep: String, numbers: Vec<u32>) -> String {
        numbers
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(&sep)
    }

    async fn kind(&self, r#type: String) -> String {
        r#type
    }
}

/// Serves the features at `/rpc` with connection info, returning the URL.
pub(crate) async fn features() -> String {
    let app = axum::Router::new().route(
        "/rpc",
        RpcService::new(FeaturesServer(Impl::default())).into_method_router(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}/rpc")
}
