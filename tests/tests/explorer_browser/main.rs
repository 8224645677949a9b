//! The explorer page in a real browser: headless Chromium, driven through chromedriver (see
//! `webdriver.rs`), against the calculator and a few odd endpoints served on 127.0.0.1, and the
//! pubsub example for subscriptions (`subscriptions.rs`). One test per thing the page does; each
//! starts a browser of its own.
//!
//! Chromium and chromedriver (Debian's `chromium` and `chromium-driver`) are installed by
//! `scripts/setup-test-deps.sh`. The tests are `#[ignore]`d, so that a plain `cargo test` passes
//! without them; `bash scripts/test.sh` installs them and runs these too. Without them a test
//! fails, saying so.
//!
//! The screenshot tests save the page to `target/tmp/explorer.png` and
//! `target/tmp/explorer-subscriptions.png`, and to `docs/` as well when `SAVE_SCREENSHOT=1` is
//! set.
#![cfg(unix)]

#[path = "../common/mod.rs"]
mod common;
mod subscriptions;
mod webdriver;

use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use common::CALCULATOR_METHODS;
use examples::calculator::{CalculatorServer, LocalCalculator};
use rpc_core::rpc;
use rpc_server::RpcService;
use serde_json::{Value, json};
use webdriver::{Browser, Output};

/// A service whose docs hold <b>markup</b> & <img src=x onerror="document.title='pwned'">.
#[rpc]
pub(crate) trait Odd {
    /// Returns its params: <script>document.title = 'pwned'</script> `[a, b, c]`.
    async fn echo_opt(
        &self,
        a: i64,
        b: Option<i64>,
        c: Option<String>,
    ) -> (i64, Option<i64>, Option<String>);

    /// The old way to say hello.
    #[deprecated(note = "use `echo_opt`")]
    async fn hello(&self) -> String;
}

struct OddService;

#[allow(deprecated)]
impl Odd for OddService {
    async fn echo_opt(
        &self,
        a: i64,
        b: Option<i64>,
        c: Option<String>,
    ) -> (i64, Option<i64>, Option<String>) {
        (a, b, c)
    }

    async fn hello(&self) -> String {
        "hello".to_owned()
    }
}

/// The calculator at `/rpc`, [`Odd`] at `/odd`, plus two endpoints that serve the same explorer page but answer
/// badly: `/broken` answers `rpc.discover` and then only text with a 502; `/down` answers every
/// POST with a 500 HTML page.
fn app() -> axum::Router {
    let rpc = RpcService::new(CalculatorServer(LocalCalculator)).explorer(true);
    let broken = axum::routing::any(move |request: Request| {
        let rpc = rpc.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let discover = body.windows(12).any(|w| w == b"rpc.discover");
            if parts.method == Method::POST && !discover {
                return (StatusCode::BAD_GATEWAY, "upstream is down").into_response();
            }
            rpc.handle(Request::from_parts(parts, Body::from(body)))
                .await
        }
    });
    let page = RpcService::new(CalculatorServer(LocalCalculator)).explorer(true);
    let down = axum::routing::get(move |request: Request| {
        let page = page.clone();
        async move { page.handle(request).await }
    })
    .post(|| async {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/html")],
            "<html><body>oops</body></html>",
        )
    });
    let odd = RpcService::new(OddServer(OddService))
        .explorer(true)
        .into_method_router();
    examples::calculator::app()
        .route("/odd", odd)
        .route("/broken", broken)
        .route("/down", down)
}

/// Parses an output's JSON text; fails the test when it is not JSON.
fn json_of(output: &Output) -> Value {
    let text = output.value.as_deref().unwrap_or_default();
    serde_json::from_str(text).unwrap_or_else(|e| panic!("output is not JSON ({e}): {output:?}"))
}

/// A JSON array of numbers as `f64`s (the page may show `2.0` as `2`).
fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|n| n.as_f64().unwrap_or_else(|| panic!("not a number: {n}")))
        .collect()
}

/// The endpoints of [`app`] on a free port, and a browser to look at them.
struct Scene {
    browser: Browser,
    origin: String,
}

impl Scene {
    async fn start() -> Scene {
        let url = common::serve(app(), "").await;
        Scene {
            browser: Browser::start().await,
            origin: url,
        }
    }

    /// Opens the explorer of the endpoint at `path` and waits until it lists the methods.
    async fn open(&self, path: &str) -> &Browser {
        self.browser.open(&format!("{}{path}", self.origin)).await;
        &self.browser
    }

    async fn finish(self) {
        self.browser.quit().await;
    }
}

/// The page lists the calculator's methods from `rpc.discover`: names, docs, params with their
/// required and variadic marks, result and error types, the schemas, the title.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn lists_the_methods_with_their_docs() {
    let scene = Scene::start().await;
    let browser = scene.open("/rpc").await;
    let page = browser
        .run(
            "const text = (css) => [...document.querySelectorAll(css)].map(e => e.textContent);
             return {
               methods: [...document.querySelectorAll('section.method')].map(s => s.dataset.method),
               nav: text('#nav-list li'),
               title: document.getElementById('title').textContent,
               version: document.getElementById('version').textContent,
               description: document.getElementById('description').textContent,
               summary: text('section.method[data-method=\"quadratic\"] .summary')[0],
               params: text('section.method[data-method=\"quadratic\"] tbody tr td.name'),
               required: text('section.method[data-method=\"quadratic\"] tbody .badge.required').length,
               inputs: [...document.querySelectorAll('section.method[data-method=\"quadratic\"] input[data-param]')].map(i => i.dataset.param),
               variadic: text('section.method[data-method=\"add_together\"] .badge.variadic').length,
               result: text('section.method[data-method=\"quadratic\"] .result .hint')[0],
               errors: text('section.method[data-method=\"quadratic\"] .errors-list li')[0],
               schemas: [...document.querySelectorAll('.component')].map(c => c.dataset.schema),
               title_tag: document.title,
             };",
            json!([]),
        )
        .await;
    assert_eq!(page["methods"], json!(CALCULATOR_METHODS), "{page}");
    assert_eq!(page["nav"], json!(CALCULATOR_METHODS), "{page}");
    assert_eq!(page["title"], "Calculator", "{page}");
    assert_eq!(page["version"], "v1.0.0", "{page}");
    assert_eq!(
        page["description"], "A calculator with a few helpful extras.",
        "{page}"
    );
    assert_eq!(
        page["summary"],
        "Roots of a*x*x + b*x + c == 0, smallest first; a double root is listed once."
    );
    assert_eq!(page["params"], json!(["a", "b", "c"]), "{page}");
    assert_eq!(page["required"], 3, "{page}");
    assert_eq!(page["inputs"], json!(["a", "b", "c"]), "{page}");
    assert_eq!(page["variadic"], 1, "{page}");
    assert_eq!(page["result"], "number[]", "{page}");
    assert!(
        page["errors"]
            .as_str()
            .is_some_and(|e| e.contains("MathError")),
        "{page}"
    );
    assert_eq!(page["schemas"], json!(["MathError"]), "{page}");
    assert_eq!(page["title_tag"], "Calculator \u{b7} JSON-RPC explorer");
    scene.finish().await;
}

/// Calls with positional params typed as JSON show results, JSON-RPC errors with their code and
/// data, a variadic param's array, and markup that comes back as text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn calls_show_results_and_errors() {
    let scene = Scene::start().await;
    let browser = scene.open("/rpc").await;
    let roots = browser
        .call("quadratic", &[("a", "1"), ("b", "-3"), ("c", "2")])
        .await;
    assert_eq!(roots.status, "ok", "{roots:?}");
    assert_eq!(numbers(&json_of(&roots)), [1.0, 2.0], "{roots:?}");

    let no_roots = browser
        .call("quadratic", &[("a", "1"), ("b", "0"), ("c", "1")])
        .await;
    assert_eq!(no_roots.status, "error", "{no_roots:?}");
    assert!(no_roots.head.contains("1001"), "{no_roots:?}");
    assert!(
        no_roots
            .head
            .contains("math domain error: no real roots (discriminant -4)"),
        "{no_roots:?}"
    );
    let data = json_of(&no_roots);
    assert_eq!(
        data["NoRealRoots"]["discriminant"].as_f64(),
        Some(-4.0),
        "the error's data: {no_roots:?}"
    );

    let sum = browser.call("add_together", &[("things", "[1,2,3]")]).await;
    assert_eq!(sum.status, "ok", "{sum:?}");
    assert_eq!(json_of(&sum), json!(6), "{sum:?}");

    let echoed = browser
        .call(
            "remote_repr",
            &[("value", r#"{"text": "<b>&amp;</b>", "n": [1.5, null]}"#)],
        )
        .await;
    assert_eq!(echoed.status, "ok", "{echoed:?}");
    assert_eq!(
        json_of(&echoed),
        json!({ "text": "<b>&amp;</b>", "n": [1.5, null] }),
        "the markup comes back as text: {echoed:?}"
    );
    let lengths = browser
        .call("lengths", &[("things", r#"["abc", [1, 2], {"k": 1}, 5]"#)])
        .await;
    assert_eq!(json_of(&lengths), json!([3, 2, 1, null]), "{lengths:?}");
    scene.finish().await;
}

/// Input that is not JSON, or not the array a variadic param takes, is refused before sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn refuses_to_send_input_that_is_not_json() {
    let scene = Scene::start().await;
    let browser = scene.open("/rpc").await;
    let not_json = browser.call("quadratic", &[("a", "one")]).await;
    assert_eq!(not_json.status, "error", "{not_json:?}");
    assert!(
        not_json.head.contains("Not sent") && not_json.head.contains("`a` is not JSON"),
        "{not_json:?}"
    );
    let not_array = browser.call("add_together", &[("things", "5")]).await;
    assert!(
        not_array.head.contains("JSON array"),
        "a variadic param takes an array: {not_array:?}"
    );
    scene.finish().await;
}

/// Listing the methods, calling one, answering an error and refusing input leave nothing in the
/// console: no script error, no CSP violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn console_stays_clean() {
    let scene = Scene::start().await;
    let browser = scene.open("/rpc").await;
    let sum = browser.call("add_together", &[("things", "[1,2,3]")]).await;
    assert_eq!(sum.status, "ok", "{sum:?}");
    let no_roots = browser
        .call("quadratic", &[("a", "1"), ("b", "0"), ("c", "1")])
        .await;
    assert_eq!(no_roots.status, "error", "{no_roots:?}");
    let not_json = browser.call("quadratic", &[("a", "one")]).await;
    assert_eq!(not_json.status, "error", "{not_json:?}");
    // Nothing went to the console: no script error, no CSP violation. (The probe shows the
    // console is read at all.)
    browser
        .run("console.error('console probe');", json!([]))
        .await;
    let console = browser.console().await;
    assert!(
        console
            .iter()
            .any(|entry| entry["message"].to_string().contains("console probe")),
        "the browser's console is readable: {console:#?}"
    );
    let problems: Vec<&Value> = console
        .iter()
        .filter(|entry| entry["level"] == "SEVERE" || entry["level"] == "WARNING")
        .filter(|entry| {
            let message = entry["message"].to_string();
            !message.contains("console probe") && !message.contains("favicon.ico")
        })
        .collect();
    assert!(
        problems.is_empty(),
        "the console shows problems: {problems:#?}"
    );
    scene.finish().await;
}

/// A screenshot of the page with a result and an error, down to the end of the quadratic
/// section: `target/tmp/explorer.png`, and `docs/explorer.png` with `SAVE_SCREENSHOT=1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn screenshot_of_a_result_and_an_error() {
    let scene = Scene::start().await;
    let browser = scene.open("/rpc").await;
    browser
        .call("add_together", &[("things", "[1, 2, 3]")])
        .await;
    browser
        .call("quadratic", &[("a", "1"), ("b", "0"), ("c", "1")])
        .await;
    let size = browser
        .run(
            "document.activeElement.blur();
             window.scrollTo(0, 0);
             const end = document.querySelector('section.method[data-method=\"quadratic\"]');
             return { height: Math.ceil(end.getBoundingClientRect().bottom) + 24,
                      chrome: window.outerHeight - window.innerHeight };",
            json!([]),
        )
        .await;
    let height =
        size["height"].as_u64().unwrap_or(900).min(2400) + size["chrome"].as_u64().unwrap_or(0);
    browser
        .command(
            Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": height })),
        )
        .await;
    let png = browser.screenshot().await;
    save_screenshot(&png, "explorer.png");
    scene.finish().await;
}

/// Saves a screenshot as `target/tmp/NAME`, and as `docs/NAME` with `SAVE_SCREENSHOT=1`.
fn save_screenshot(png: &[u8], name: &str) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&shot, png).expect("write the screenshot");
    if std::env::var_os("SAVE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = common::workspace_root().join("docs");
        std::fs::create_dir_all(&docs).expect("create docs/");
        std::fs::write(docs.join(name), png).expect("write the screenshot into docs/");
    }
}

/// Markup in the docs stays text, and deprecated methods are marked with their note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn docs_markup_stays_text_and_deprecations_show() {
    let scene = Scene::start().await;
    let browser = scene.open("/odd").await;
    let odd = browser
        .run(
            "const hello = document.querySelector('section.method[data-method=\"hello\"]');
             return {
               title: document.title,
               description: document.getElementById('description').textContent,
               summary: document.querySelector('section.method[data-method=\"echo_opt\"] .summary').textContent,
               injected: document.querySelectorAll('main b, main img, main script').length,
               deprecated: hello.querySelectorAll('.badge.deprecated').length,
               note: hello.querySelector('.deprecation-note').textContent,
               optional: document.querySelectorAll('section.method[data-method=\"echo_opt\"] tbody .badge:not(.required)').length,
             };",
            json!([]),
        )
        .await;
    assert_eq!(
        odd["description"],
        "A service whose docs hold <b>markup</b> & <img src=x onerror=\"document.title='pwned'\">.",
        "{odd}"
    );
    assert_eq!(
        odd["summary"], "Returns its params: <script>document.title = 'pwned'</script> [a, b, c].",
        "{odd}"
    );
    assert_eq!(odd["injected"], 0, "no element came from the docs: {odd}");
    assert_eq!(odd["title"], "Odd \u{b7} JSON-RPC explorer", "{odd}");
    assert_eq!(odd["deprecated"], 1, "{odd}");
    assert_eq!(odd["note"], "Deprecated: use `echo_opt`", "{odd}");
    assert_eq!(odd["optional"], 2, "{odd}");
    let hello = browser.call("hello", &[]).await;
    assert_eq!(json_of(&hello), "hello", "{hello:?}");
    scene.finish().await;
}

/// Trailing optional params left empty are left out, an empty one before a given one is sent as
/// null, and an empty required one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn empty_optional_params_are_left_out_or_null() {
    let scene = Scene::start().await;
    let browser = scene.open("/odd").await;
    let only_a = browser
        .call("echo_opt", &[("a", "1"), ("b", ""), ("c", "")])
        .await;
    let preview = browser
        .run(
            "return document.querySelector('section.method[data-method=\"echo_opt\"] .preview').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(preview, r#"{"method": "echo_opt", "params": [1]}"#);
    assert_eq!(json_of(&only_a), json!([1, null, null]), "{only_a:?}");
    let gap = browser
        .call("echo_opt", &[("a", "1"), ("b", ""), ("c", r#""x""#)])
        .await;
    assert_eq!(json_of(&gap), json!([1, null, "x"]), "{gap:?}");
    let preview = browser
        .run(
            "return document.querySelector('section.method[data-method=\"echo_opt\"] .preview').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(
        preview,
        r#"{"method": "echo_opt", "params": [1, null, "x"]}"#
    );
    let missing = browser.call("echo_opt", &[("a", ""), ("c", "")]).await;
    assert!(
        missing.head.contains("Not sent") && missing.head.contains("`a` is required"),
        "{missing:?}"
    );
    scene.finish().await;
}

/// An endpoint that answers calls with something other than JSON-RPC: the page shows the HTTP
/// status and the body as it came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn a_broken_answer_is_shown_as_it_came() {
    let scene = Scene::start().await;
    let browser = scene.open("/broken").await;
    let bad = browser.call("add_together", &[("things", "[1]")]).await;
    assert_eq!(bad.status, "error", "{bad:?}");
    assert!(
        bad.head.contains("HTTP 502") && bad.head.contains("not JSON"),
        "{bad:?}"
    );
    assert_eq!(bad.value.as_deref(), Some("upstream is down"), "{bad:?}");
    scene.finish().await;
}

/// An endpoint whose `rpc.discover` fails: the page says so, showing the HTML answer as text,
/// instead of listing methods.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver: run scripts/setup-test-deps.sh"]
async fn a_failed_discover_is_reported() {
    let scene = Scene::start().await;
    let browser = &scene.browser;
    browser.goto(&format!("{}/down", scene.origin)).await;
    let status = browser
        .wait_for(
            "the page to report the failed rpc.discover",
            "return document.body.dataset.ready === 'error'
                 ? document.getElementById('status').textContent : null;",
            json!([]),
        )
        .await;
    let status = status.as_str().unwrap_or_default();
    assert!(
        status.contains("rpc.discover failed") && status.contains("HTTP 500"),
        "{status}"
    );
    assert!(
        status.contains("<html><body>oops</body></html>"),
        "the HTML answer is shown as text: {status}"
    );
    let methods = browser
        .run(
            "return document.querySelectorAll('section.method').length;",
            json!([]),
        )
        .await;
    assert_eq!(methods, 0);
    scene.finish().await;
}
