//! Calls over the socket: single calls, many in flight, batches and notifications sharing one
//! socket; the per-call timeout; the server's busy error retried for idempotent calls only; an
//! answer over the size limit.

use std::time::Duration;

use rpc_client::{Client, Method, Retry};
use rpc_core::Error;

use crate::server::serve;
use crate::{answers, client};

#[tokio::test]
async fn calls_batches_and_notifications_share_one_socket() {
    let (addr, _server, _) = serve().await;
    let client = client(addr);
    let difference: i64 = client.call("subtract", Some(&(42, 23))).await.unwrap();
    assert_eq!(difference, 19);

    // Many calls in flight at once: each answer reaches its own caller.
    let calls = (0..200).map(|i| {
        let client = client.clone();
        async move { client.call::<u64, _>("echo", Some(&[i])).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), i as u64);
    }

    let mut batch = client.batch();
    let a = batch.call::<i64, _>("subtract", Some(&(10, 4)));
    let b = batch.call::<String, _>("echo", Some(&["two"]));
    let missing = batch.call::<i64, _>("no_such_method", None::<&()>);
    batch.notify("echo", Some(&[0]));
    let mut answers = batch.send().await.unwrap();
    assert_eq!(answers.take(a).unwrap(), 6);
    assert_eq!(answers.take(b).unwrap(), "two");
    assert_eq!(answers.take(missing).unwrap_err().rpc_code(), Some(-32601));

    client.notify("echo", Some(&[1])).await.unwrap();
    let error = client
        .call::<i64, _>("subtract", Some(&["x"]))
        .await
        .unwrap_err();
    assert_eq!(error.rpc_code(), Some(-32602), "{error}");
}

#[tokio::test]
async fn the_client_timeout_applies_per_call() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let slow = client.call::<u64, _>("sleep_ms", Some(&[2000])).await;
    assert!(matches!(slow, Err(Error::Timeout)), "{slow:?}");
    // The socket is still good for the next call.
    assert_eq!(
        client.call::<u64, _>("sleep_ms", Some(&[1])).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn the_server_s_busy_error_is_retried_for_idempotent_calls_only() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .retry(Retry::new(3).backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap();
    let busy = client.call::<usize, _>("busy_twice", None::<&()>).await;
    assert_eq!(busy.unwrap_err().rpc_code(), Some(-32005));
    let answer: usize = client
        .call(Method::idempotent("busy_twice"), None::<&()>)
        .await
        .unwrap();
    assert_eq!(answer, 2, "one busy answer more, then the answer");
}

#[tokio::test]
async fn an_answer_over_the_size_limit_fails_its_call_and_says_why() {
    let (addr, _server, _) = serve().await;
    let client = Client::builder(&format!("ws://{addr}"))
        .max_message_size(1024)
        .build()
        .unwrap();
    let long = "x".repeat(4000);
    let failed = client.call::<String, _>("echo", Some(&[&long])).await;
    let Err(Error::Transport(why)) = failed else {
        panic!("{failed:?}");
    };
    assert!(why.to_string().contains("Message too long"), "{why}");
    // The next call connects again.
    answers(&client).await;
}
