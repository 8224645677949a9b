//! One client over several replicas on 127.0.0.1, each a real server: calls take the healthy
//! ones in turn, a replica that refuses, answers 503 or hangs up is set aside and probed again
//! after its cool-down, every replica down is one error naming each, and a deposit whose
//! request was written is never sent to a second replica. Over WebSockets: each connection
//! goes to a replica that is up, and a reconnect moves a subscription to another one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::RefusingPort;
use rpc_client::{Failover, Health, Retry};
use rpc_core::{Error, rpc};

/// One replica of a replicated account service.
#[rpc]
pub trait Replica {
    /// The replica's name: asking twice is asking once.
    #[rpc(idempotent)]
    async fn name(&self) -> String;
    /// Records a deposit and returns how many this replica has taken: not idempotent.
    async fn deposit(&self, amount: u64) -> u64;
}

#[derive(Default)]
struct State {
    name: String,
    /// Calls of either method this replica ran.
    calls: AtomicUsize,
    deposits: AtomicUsize,
}

impl Replica for Arc<State> {
    async fn name(&self) -> String {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.name.clone()
    }
    async fn deposit(&self, _amount: u64) -> u64 {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.deposits.fetch_add(1, Ordering::SeqCst) as u64 + 1
    }
}

fn replica_app(name: &str) -> (axum::Router, Arc<State>) {
    let state = Arc::new(State {
        name: name.to_owned(),
        ..State::default()
    });
    (rpc_server::router(ReplicaServer(state.clone())), state)
}

/// A replica served on a free port.
async fn replica(name: &str) -> (String, Arc<State>) {
    let (app, state) = replica_app(name);
    (common::serve(app, "/").await, state)
}

/// A front that counts each request it reads whole and answers 503.
async fn unavailable() -> (String, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |_: axum::body::Bytes| {
            counter.fetch_add(1, Ordering::SeqCst);
            std::future::ready((StatusCode::SERVICE_UNAVAILABLE, "draining"))
        }),
    );
    (common::serve(app, "/").await, seen)
}

fn quick_retry() -> Retry {
    Retry::new(3).backoff(Duration::from_millis(1), Duration::from_millis(5))
}

#[tokio::test]
async fn healthy_replicas_take_turns_and_a_refusing_one_is_set_aside() {
    let down = RefusingPort::new();
    let (a, state_a) = replica("a").await;
    let (b, state_b) = replica("b").await;
    // No `Retry`: failover alone moves a call whose connection failed.
    let client = ReplicaClient::builder(&down.url("/"))
        .endpoints([&a, &b])
        .build()
        .unwrap();

    // The first call goes to the refusing replica first: a deposit may move on, since the
    // connection was never made.
    assert_eq!(client.deposit(5).await.unwrap(), 1);
    let status = client.client().endpoints();
    assert!(
        matches!(status[0].health(), Health::SetAside { .. }),
        "{status:?}"
    );
    assert!(
        status[0]
            .last_failure()
            .is_some_and(|f| f.contains("transport error")),
        "{status:?}"
    );

    let mut names = Vec::new();
    for _ in 0..10 {
        names.push(client.name().await.unwrap());
    }
    let on_a = names.iter().filter(|n| *n == "a").count();
    assert!(
        (4..=6).contains(&on_a),
        "the two healthy replicas take turns: {names:?}"
    );
    assert_eq!(
        state_a.calls.load(Ordering::SeqCst) + state_b.calls.load(Ordering::SeqCst),
        11
    );
    assert_eq!(
        state_a.deposits.load(Ordering::SeqCst) + state_b.deposits.load(Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn a_retry_moves_to_another_replica_at_once() {
    let (bad, seen) = unavailable().await;
    let (good, state) = replica("good").await;
    // A backoff far longer than the test: a retry that waited would show.
    let client = ReplicaClient::builder(&bad)
        .endpoints([&good])
        .retry(Retry::new(3).backoff(Duration::from_secs(20), Duration::from_secs(20)))
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(client.name().await.unwrap(), "good");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(state.calls.load(Ordering::SeqCst), 1);
    let status = client.client().endpoints();
    assert_eq!(status[0].last_failure(), Some("HTTP status 503: draining"));
}

#[tokio::test]
async fn a_set_aside_replica_is_probed_after_its_cool_down_and_comes_back() {
    let down = RefusingPort::new();
    let (up, _) = replica("up").await;
    let client = ReplicaClient::builder(&down.url("/"))
        .endpoints([&up])
        .failover(Failover::new().cool_down(Duration::from_millis(150), Duration::from_secs(5)))
        .build()
        .unwrap();
    assert_eq!(client.name().await.unwrap(), "up");
    let first = match client.client().endpoints()[0].health() {
        Health::SetAside { remaining } => remaining,
        other => panic!("set aside after refusing: {other:?}"),
    };
    assert!(first <= Duration::from_millis(150), "{first:?}");

    // After the cool-down one call probes it; still down, it is set aside for twice as long.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..2 {
        assert_eq!(client.name().await.unwrap(), "up");
    }
    match client.client().endpoints()[0].health() {
        Health::SetAside { remaining } => assert!(
            remaining > Duration::from_millis(150) && remaining <= Duration::from_millis(300),
            "{remaining:?}"
        ),
        other => panic!("a failed probe sets it aside again: {other:?}"),
    }

    // The replica comes back on its port: after the cool-down the probe succeeds and it takes
    // its turn again.
    let listener = down.listen();
    let (app, back) = replica_app("back");
    tokio::spawn(async move { rpc_server::serve(listener, app).await });
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut names = Vec::new();
    for _ in 0..6 {
        names.push(client.name().await.unwrap());
    }
    assert_eq!(
        client.client().endpoints()[0].health(),
        Health::Healthy,
        "{names:?}"
    );
    assert!(
        names.iter().filter(|n| *n == "back").count() >= 2,
        "{names:?}"
    );
    assert!(back.calls.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn when_every_replica_is_down_the_error_names_each_with_its_failure() {
    let refusing = RefusingPort::new();
    let (busy, seen) = unavailable().await;
    let (hangs, read) = common::hang_up_server("/").await;
    let client = ReplicaClient::builder(&refusing.url("/"))
        .endpoints([&busy, &hangs])
        .build()
        .unwrap();
    let Err(Error::Unavailable(endpoints)) = client.name().await else {
        panic!("every replica is down")
    };
    let urls: Vec<_> = endpoints.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(urls, [refusing.url("/"), busy.clone(), hangs.clone()]);
    assert!(
        endpoints[0].failure.contains("transport error"),
        "{endpoints:?}"
    );
    assert_eq!(endpoints[1].failure, "HTTP status 503: draining");
    assert!(
        endpoints[2].failure.contains("transport error"),
        "{endpoints:?}"
    );
    let message = Error::Unavailable(endpoints).to_string();
    assert!(
        message.starts_with("no endpoint is available: ") && message.contains(&busy),
        "{message}"
    );
    assert_eq!(
        (seen.load(Ordering::SeqCst), read.load(Ordering::SeqCst)),
        (1, 1)
    );

    // While they cool down, a call fails at once without sending anything.
    assert!(matches!(client.name().await, Err(Error::Unavailable(_))));
    assert_eq!(
        (seen.load(Ordering::SeqCst), read.load(Ordering::SeqCst)),
        (1, 1)
    );
}

#[tokio::test]
async fn a_deposit_whose_request_was_written_is_never_sent_to_another_replica() {
    // The first replica reads the request and answers 503: the deposit fails there, with a
    // healthy replica beside it and retries allowed.
    let (draining, seen) = unavailable().await;
    let (good, state) = replica("good").await;
    let client = ReplicaClient::builder(&draining)
        .endpoints([&good])
        .retry(quick_retry())
        .build()
        .unwrap();
    match client.deposit(5).await {
        Err(Error::Status { status: 503, .. }) => {}
        other => panic!("the deposit fails where it was sent: {other:?}"),
    }
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(state.deposits.load(Ordering::SeqCst), 0);

    // The first replica reads the request and hangs up: the same.
    let (hangs, read) = common::hang_up_server("/").await;
    let client = ReplicaClient::builder(&hangs)
        .endpoints([&good])
        .retry(quick_retry())
        .build()
        .unwrap();
    assert!(matches!(client.deposit(5).await, Err(Error::Transport(_))));
    assert_eq!(read.load(Ordering::SeqCst), 1);
    assert_eq!(state.deposits.load(Ordering::SeqCst), 0);
    // The next deposit goes to the replica still up, once.
    assert_eq!(client.deposit(5).await.unwrap(), 1);
    assert_eq!(read.load(Ordering::SeqCst), 1);

    // An idempotent call in the same spot moves on and succeeds.
    let client = ReplicaClient::builder(&hangs)
        .endpoints([&good])
        .build()
        .unwrap();
    assert_eq!(client.name().await.unwrap(), "good");
    assert_eq!(read.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_replica_that_does_not_answer_in_time_is_set_aside() {
    // Reads requests and never answers nor hangs up.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let (good, _) = replica("good").await;
    let client = ReplicaClient::builder(&silent_url)
        .endpoints([&good])
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert_eq!(client.name().await.unwrap(), "good");
    let status = client.client().endpoints();
    assert!(matches!(status[0].health(), Health::SetAside { .. }));
    assert_eq!(status[0].last_failure(), Some("request timed out"));
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(client.name().await.unwrap(), "good");
    }
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "no more waits on the silent one"
    );
}

#[test]
fn the_same_endpoint_twice_is_refused() {
    let e = ReplicaClient::builder("http://127.0.0.1:7002/")
        .endpoints(["http://127.0.0.1:7002/"])
        .build()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid request: the endpoint `http://127.0.0.1:7002/` is given twice"
    );
    let e = ReplicaClient::builder("http://127.0.0.1:7002/")
        .endpoints(["ftp://127.0.0.1/"])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("`ftp://127.0.0.1/`"), "{e}");
    let e = ReplicaClient::builder("ws://127.0.0.1:7002/")
        .endpoints(["http://127.0.0.1:7003/"])
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("the endpoints mix WebSocket and HTTP URLs"),
        "{e}"
    );
}

/// `http://HOST/PATH` as `ws://HOST/PATH`.
fn ws(url: &str) -> String {
    url.replacen("http://", "ws://", 1)
}

#[tokio::test]
async fn over_websockets_each_connection_goes_to_a_replica_that_is_up() {
    let refusing = RefusingPort::new();
    let a = common::serve_until_stopped(replica_app("a").0).await;
    let b = common::serve_until_stopped(replica_app("b").0).await;
    let url = |addr: std::net::SocketAddr| format!("ws://{addr}/");
    let client = ReplicaClient::builder(&ws(&refusing.url("/")))
        .endpoints([url(a.addr), url(b.addr)])
        .retry(quick_retry())
        .build()
        .unwrap();
    // The refused endpoint is set aside; the connection goes to a replica that is up, and every
    // call shares it.
    let first = client.name().await.unwrap();
    assert!(matches!(
        client.client().endpoints()[0].health(),
        Health::SetAside { .. }
    ));
    for _ in 0..3 {
        assert_eq!(client.name().await.unwrap(), first);
    }
    // That replica stops (closing its sockets): the next call connects to the other one.
    let (serving, other, other_name) = match first.as_str() {
        "a" => (a, b, "b"),
        _ => (b, a, "a"),
    };
    serving.stop.send(()).unwrap();
    serving.server.await.unwrap().unwrap();
    assert_eq!(client.name().await.unwrap(), other_name);
    // Both down: the call fails naming every endpoint.
    other.stop.send(()).unwrap();
    other.server.await.unwrap().unwrap();
    let Err(Error::Unavailable(endpoints)) = client.name().await else {
        panic!("every replica is down")
    };
    assert_eq!(endpoints.len(), 3, "{endpoints:?}");
}

#[tokio::test]
async fn over_websockets_reconnect_moves_a_subscription_to_the_other_replica() {
    let app = examples::pubsub::app;
    let a = common::serve_until_stopped(app()).await;
    let b = common::serve_until_stopped(app()).await;
    let client = rpc_client::Client::builder(&format!("ws://{}/rpc", a.addr))
        .endpoints([format!("ws://{}/rpc", b.addr)])
        .reconnect(Retry::new(10).backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build()
        .unwrap();
    let mut ticks = common::pubsub::ticks(&client, examples::pubsub::MIN_INTERVAL_MS).await;
    assert_eq!(next_tick(&mut ticks).await, 0);
    let id = ticks.id();
    // The first connection went to the first endpoint in turn, a. It stops; the stream goes on
    // from b, as a new subscription counting from 0.
    a.stop.send(()).unwrap();
    a.server.await.unwrap().unwrap();
    while next_tick(&mut ticks).await != 0 {}
    assert_ne!(ticks.id(), id, "a new subscription, on b");
    assert_eq!(next_tick(&mut ticks).await, 1);
    drop(b);
}

/// The next tick, failing on an error or the end.
async fn next_tick(ticks: &mut rpc_client::Subscription<u64, examples::pubsub::TooFast>) -> u64 {
    common::pubsub::next(ticks)
        .await
        .expect("the stream goes on")
        .expect("no error across the move")
}
