//! Subscriptions in the explorer: against the pubsub example, the page subscribes over a
//! WebSocket to its own address, shows each item as it comes, the stream's end, a refusal, and
//! ends a subscription with Unsubscribe.

use std::time::Instant;

use futures_util::stream;
use rpc_core::{ErrorObject, Subscription, rpc};
use rpc_server::{RouterExt as _, RpcService};
use serde_json::{Value, json};

use crate::webdriver::{Browser, TIMEOUT};

/// Feeds that end badly.
#[rpc]
pub(crate) trait Sensor {
    /// Sends 1 and 2, then fails: the sensor is gone.
    #[rpc(subscription = "reading", unsubscribe = "unsubscribe_readings")]
    async fn subscribe_readings(&self) -> Subscription<u64>;

    /// Sends nothing, ever; `note` is not read.
    #[rpc(subscription = "silence", unsubscribe = "unsubscribe_silence")]
    async fn subscribe_silence(&self, note: String) -> Subscription<u64>;
}

struct Gone;

impl Sensor for Gone {
    async fn subscribe_readings(&self) -> Subscription<u64> {
        let gone = ErrorObject::new(-32050, "sensor gone").with_data(&json!({ "sensor": 7 }));
        Subscription::new(stream::iter([Ok(1), Ok(2), Err(gone)]))
    }

    async fn subscribe_silence(&self, _note: String) -> Subscription<u64> {
        Subscription::from_items(stream::pending())
    }
}

/// The largest message [`Sensor`]'s socket takes: a longer one closes the socket.
const SENSOR_MAX_MESSAGE: usize = 4096;

/// The pubsub example on a free port, and a browser showing its explorer.
async fn open_pubsub() -> Browser {
    let addr = examples::spawn(examples::pubsub::app(), "127.0.0.1:0")
        .await
        .expect("serving the pubsub example");
    let browser = Browser::start().await;
    browser.open(&format!("http://{addr}/rpc")).await;
    browser
}

fn section(method: &str) -> String {
    format!("section.method[data-method=\"{method}\"]")
}

/// Fills `method`'s inputs with `params` (name, JSON text), clicks Subscribe, and waits for
/// the server's answer to show in a new feed; returns the feed's index in the section. (Each
/// feed is marked once seen, so that a feed answered earlier is not taken for the new one.)
async fn subscribe(browser: &Browser, method: &str, params: &[(&str, &str)]) -> usize {
    let section = section(method);
    for (name, text) in params {
        browser
            .fill(&format!("{section} input[data-param=\"{name}\"]"), text)
            .await;
    }
    browser.click(&format!("{section} button.subscribe")).await;
    // Finished feeds make way for the new one, so the new one is the last, not the n-th.
    let index = browser
        .wait_for(
            &format!("the answer to subscribing with {method}"),
            "const feeds = document.querySelectorAll(arguments[0] + ' .feed');
             const last = feeds[feeds.length - 1];
             if (!last || last.dataset.seen === 'yes' || last.dataset.status === 'pending') return null;
             last.dataset.seen = 'yes';
             return feeds.length - 1;",
            json!([section]),
        )
        .await;
    usize::try_from(index.as_u64().expect("an index")).expect("a small index")
}

/// What feed `index` of `method` shows: its status, subscription id, item count, the items
/// (parsed), the note about items no longer shown, and its last line.
async fn feed(browser: &Browser, method: &str, index: usize) -> Value {
    browser
        .run(
            "const feed = document.querySelectorAll(arguments[0] + ' .feed')[arguments[1]];
             const text = (css) => { const e = feed.querySelector(css); return e && !e.hidden ? e.textContent : null; };
             return {
               status: feed.dataset.status,
               subscription: feed.dataset.subscription || null,
               id_shown: text('.sub-id'),
               count: Number(feed.dataset.items),
               count_text: text('.count'),
               items: [...feed.querySelectorAll('.items pre.item')].map(p => JSON.parse(p.textContent)),
               earlier: text('.items .earlier'),
               end: text('.end .end-head'),
               end_value: text('.end .value'),
               unsubscribe_shown: !feed.querySelector('button.unsubscribe').hidden,
             };",
            json!([section(method), index]),
        )
        .await
}

/// Waits until feed `index` of `method` satisfies `condition` (a JS expression over `feed`,
/// the element).
async fn wait_for_feed(browser: &Browser, method: &str, index: usize, what: &str, condition: &str) {
    browser
        .wait_for(
            what,
            &format!(
                "const feed = document.querySelectorAll(arguments[0] + ' .feed')[arguments[1]];
                 return ({condition}) || null;"
            ),
            json!([section(method), index]),
        )
        .await;
}

/// Browser console entries that are problems: script errors, CSP violations.
async fn console_problems(browser: &Browser) -> Vec<Value> {
    browser
        .console()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
        .filter(|entry| !entry["message"].to_string().contains("favicon.ico"))
        .collect()
}

/// A subscription method is marked as one and has Subscribe instead of Call; subscribing to
/// the counter shows its id, the items 5, 6, 7 and the end; a long stream keeps only the newest
/// items on the page; the WebSocket passes the page's CSP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn subscribing_shows_items_as_they_come_and_the_end() {
    let browser = open_pubsub().await;
    let marks = browser
        .run(
            "const s = (m) => document.querySelector('section.method[data-method=\"' + m + '\"]');
             const badge = (m) => { const b = s(m).querySelector('.badge.subscription'); return b ? b.textContent : null; };
             return {
               counter_badge: badge('subscribe_counter'),
               ticks_badge: badge('subscribe_ticks'),
               add_badge: badge('add'),
               counter_button: s('subscribe_counter').querySelector('button.call').textContent,
               add_button: s('add').querySelector('button.call').textContent,
               counter_returns: s('subscribe_counter').querySelector('h2 .returns').textContent,
               counter_note: s('subscribe_counter').querySelector('.sub-note').textContent,
             };",
            json!([]),
        )
        .await;
    assert_eq!(marks["counter_badge"], "subscription counter", "{marks}");
    assert_eq!(marks["ticks_badge"], "subscription tick", "{marks}");
    assert_eq!(marks["add_badge"], Value::Null, "{marks}");
    assert_eq!(marks["counter_button"], "Subscribe", "{marks}");
    assert_eq!(marks["add_button"], "Call", "{marks}");
    assert_eq!(marks["counter_returns"], "stream of integer", "{marks}");
    assert!(
        marks["counter_note"]
            .as_str()
            .is_some_and(|n| n.contains("unsubscribe_counter")),
        "{marks}"
    );

    let first = subscribe(
        &browser,
        "subscribe_counter",
        &[("start", "5"), ("count", "3")],
    )
    .await;
    wait_for_feed(
        &browser,
        "subscribe_counter",
        first,
        "the counter's end",
        "feed.dataset.status !== 'live'",
    )
    .await;
    let shown = feed(&browser, "subscribe_counter", first).await;
    assert_eq!(shown["status"], "ended", "{shown}");
    assert_eq!(shown["items"], json!([5, 6, 7]), "{shown}");
    assert_eq!(shown["count_text"], "3 items", "{shown}");
    assert_eq!(shown["end"], "The stream is over: error: null", "{shown}");
    let id = shown["subscription"].as_str().unwrap_or_default();
    assert!(!id.is_empty(), "the subscription id: {shown}");
    assert_eq!(shown["id_shown"], id, "{shown}");
    assert_eq!(shown["unsubscribe_shown"], false, "{shown}");

    // More items than the page keeps: the newest 200 stay, in order, and it says so.
    let long = subscribe(
        &browser,
        "subscribe_counter",
        &[("start", "0"), ("count", "250")],
    )
    .await;
    assert_eq!(long, 0, "the finished feed made way for the new one");
    wait_for_feed(
        &browser,
        "subscribe_counter",
        long,
        "the long counter's end",
        "feed.dataset.status !== 'live'",
    )
    .await;
    let shown = feed(&browser, "subscribe_counter", long).await;
    assert_eq!(shown["status"], "ended", "{shown}");
    assert_eq!(shown["count"], 250, "{shown}");
    assert_eq!(
        shown["items"],
        json!((50..250).collect::<Vec<u64>>()),
        "{shown}"
    );
    assert_eq!(shown["earlier"], "50 earlier items not shown", "{shown}");
    assert_ne!(shown["subscription"], id, "a new subscription: {shown}");

    // An ordinary method still calls over HTTP beside the socket.
    let sum = browser.call("add", &[("a", "2"), ("b", "3")]).await;
    assert_eq!(sum.value.as_deref(), Some("5"), "{sum:?}");

    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "the console shows problems: {problems:#?}"
    );
    browser.quit().await;
}

/// Two clocks on one socket: Unsubscribe ends one (the server answers `true`) and its items
/// stop while the other's go on; a refused subscription shows the error with its data. Saves a
/// picture of the two to `target/tmp/explorer-subscriptions.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn unsubscribe_stops_the_items() {
    let browser = open_pubsub().await;
    let refused = subscribe(&browser, "subscribe_ticks", &[("interval_ms", "1")]).await;
    let shown = feed(&browser, "subscribe_ticks", refused).await;
    assert_eq!(shown["status"], "error", "{shown}");
    assert!(
        shown["end"]
            .as_str()
            .is_some_and(|e| e.contains("the interval must be at least 10 ms")),
        "{shown}"
    );
    let data: Value =
        serde_json::from_str(shown["end_value"].as_str().unwrap_or_default()).expect("JSON data");
    assert_eq!(data["min_interval_ms"], 10, "{shown}");

    let stopped = subscribe(&browser, "subscribe_ticks", &[("interval_ms", "50")]).await;
    let going = subscribe(&browser, "subscribe_ticks", &[("interval_ms", "50")]).await;
    assert_eq!(
        (stopped, going),
        (0, 1),
        "the refusal made way; both clocks show"
    );
    wait_for_feed(
        &browser,
        "subscribe_ticks",
        stopped,
        "two ticks",
        "Number(feed.dataset.items) >= 2",
    )
    .await;
    browser
        .click(&format!(
            "{} .feed:nth-of-type(1) button.unsubscribe",
            section("subscribe_ticks")
        ))
        .await;
    wait_for_feed(
        &browser,
        "subscribe_ticks",
        stopped,
        "the answer to Unsubscribe",
        "feed.dataset.status !== 'live'",
    )
    .await;
    let at_answer = feed(&browser, "subscribe_ticks", stopped).await;
    assert_eq!(at_answer["status"], "unsubscribed", "{at_answer}");
    assert_eq!(at_answer["end_value"], "true", "{at_answer}");
    let id = at_answer["subscription"].as_str().unwrap_or_default();
    assert_eq!(
        at_answer["end"],
        format!("unsubscribe_ticks([\"{id}\"]) answered"),
        "{at_answer}"
    );
    let count = at_answer["count"].as_u64().expect("a count");
    assert!(count >= 2, "{at_answer}");
    let items: Vec<u64> = (0..count).collect();
    assert_eq!(at_answer["items"], json!(items), "{at_answer}");

    // The other clock goes on for ten more ticks (half a second) on the same socket; the
    // stopped one gets nothing more.
    let other = feed(&browser, "subscribe_ticks", going).await["count"]
        .as_u64()
        .expect("a count");
    let started = Instant::now();
    wait_for_feed(
        &browser,
        "subscribe_ticks",
        going,
        "ten more ticks of the other clock",
        &format!("Number(feed.dataset.items) >= {}", other + 10),
    )
    .await;
    assert!(started.elapsed() < TIMEOUT);
    let later = feed(&browser, "subscribe_ticks", stopped).await;
    assert_eq!(later["count"], count, "items after Unsubscribe: {later}");
    assert_eq!(later["status"], "unsubscribed", "{later}");
    let going_now = feed(&browser, "subscribe_ticks", going).await;
    assert_eq!(going_now["status"], "live", "{going_now}");
    assert_ne!(going_now["subscription"], id, "{going_now}");

    // A picture of the two feeds, one stopped and one going (`save_screenshot`).
    browser
        .run(
            "document.activeElement.blur();
             document.querySelector(arguments[0]).scrollIntoView();",
            json!([section("subscribe_ticks")]),
        )
        .await;
    super::save_screenshot(&browser.screenshot().await, "explorer-subscriptions.png");

    browser
        .click(&format!(
            "{} .feed:nth-of-type(2) button.unsubscribe",
            section("subscribe_ticks")
        ))
        .await;
    wait_for_feed(
        &browser,
        "subscribe_ticks",
        going,
        "the second Unsubscribe",
        "feed.dataset.status === 'unsubscribed'",
    )
    .await;
    let problems = console_problems(&browser).await;
    assert!(
        problems.is_empty(),
        "the console shows problems: {problems:#?}"
    );
    browser.quit().await;
}

/// A stream that fails shows its error object; a socket the server closes takes its live
/// subscriptions and a pending subscribe call with it, saying so; the next Subscribe opens a
/// new socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn a_failed_stream_and_a_lost_socket_are_shown() {
    let app = axum::Router::new().rpc(
        "/sensor",
        RpcService::new(SensorServer(Gone))
            .explorer(true)
            .max_body_bytes(SENSOR_MAX_MESSAGE),
    );
    let addr = examples::spawn(app, "127.0.0.1:0")
        .await
        .expect("serving the sensor");
    let browser = Browser::start().await;
    browser.open(&format!("http://{addr}/sensor")).await;

    let readings = subscribe(&browser, "subscribe_readings", &[]).await;
    wait_for_feed(
        &browser,
        "subscribe_readings",
        readings,
        "the stream's failure",
        "feed.dataset.status !== 'live'",
    )
    .await;
    let shown = feed(&browser, "subscribe_readings", readings).await;
    assert_eq!(shown["status"], "error", "{shown}");
    assert_eq!(shown["items"], json!([1, 2]), "{shown}");
    assert_eq!(shown["end"], "-32050sensor gone", "{shown}");
    let data: Value =
        serde_json::from_str(shown["end_value"].as_str().unwrap_or_default()).expect("JSON data");
    assert_eq!(data, json!({ "sensor": 7 }), "{shown}");

    let live = subscribe(&browser, "subscribe_silence", &[("note", r#""short""#)]).await;
    assert_eq!(
        feed(&browser, "subscribe_silence", live).await["status"],
        "live"
    );
    // A message over the limit: the server closes the socket.
    browser
        .run(
            "document.querySelector(arguments[0] + ' input[data-param=\"note\"]').value =
                 JSON.stringify('x'.repeat(arguments[1]));",
            json!([section("subscribe_silence"), SENSOR_MAX_MESSAGE]),
        )
        .await;
    let too_big = subscribe(&browser, "subscribe_silence", &[]).await;
    let refused = feed(&browser, "subscribe_silence", too_big).await;
    assert_eq!(refused["status"], "error", "{refused}");
    assert_eq!(refused["end"], "Connection lost", "{refused}");
    assert!(
        refused["end_value"]
            .as_str()
            .is_some_and(|v| v.starts_with("The WebSocket closed (code ")),
        "{refused}"
    );
    wait_for_feed(
        &browser,
        "subscribe_silence",
        live,
        "the live feed to lose its socket",
        "feed.dataset.status !== 'live'",
    )
    .await;
    let lost = feed(&browser, "subscribe_silence", live).await;
    assert_eq!(lost["status"], "error", "{lost}");
    assert!(
        lost["end"]
            .as_str()
            .is_some_and(|e| e.starts_with("The WebSocket closed (code ")),
        "{lost}"
    );

    // A new socket for the next subscription.
    browser
        .fill(
            &format!(
                "{} input[data-param=\"note\"]",
                section("subscribe_silence")
            ),
            r#""again""#,
        )
        .await;
    let again = subscribe(&browser, "subscribe_silence", &[]).await;
    let shown = feed(&browser, "subscribe_silence", again).await;
    assert_eq!(shown["status"], "live", "{shown}");
    browser.quit().await;
}
