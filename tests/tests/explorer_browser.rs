//! The explorer page in a real browser: headless Chromium, driven through chromedriver's W3C
//! WebDriver HTTP API with reqwest, against the calculator served on 127.0.0.1.
//!
//! Chromium and chromedriver (Debian's `chromium` and `chromium-driver`) are installed by
//! `scripts/setup-test-deps.sh`; without them the test fails, saying so. Every wait is bounded,
//! and chromedriver runs in a process group of its own that is killed, browser included, when
//! the test ends, even by a panic.
//!
//! The test saves a screenshot of the page to `target/tmp/explorer.png`, and to
//! `docs/explorer.png` as well when `SAVE_SCREENSHOT=1` is set.
#![cfg(unix)]

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use examples::calculator::{CalculatorServer, LocalCalculator};
use rpc_core::rpc;
use rpc_server::RpcService;
use serde_json::{Value, json};

/// The longest any one step may take: a WebDriver command, or waiting for the page.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The key under which WebDriver hands out element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

const CALCULATOR_METHODS: [&str; 4] = ["add_together", "quadratic", "remote_repr", "lengths"];

/// `name` on the `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn required_program(names: &[&str], package: &str) -> PathBuf {
    names
        .iter()
        .find_map(|name| find_program(name))
        .unwrap_or_else(|| {
            panic!(
                "`{}` is not installed (Debian package `{package}`); the explorer's browser test \
                 needs it. Run `scripts/setup-test-deps.sh` from the workspace root (as root), then \
                 run the tests again.",
                names[0]
            )
        })
}

/// A free TCP port on 127.0.0.1, for chromedriver to listen on.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("a bound address").port()
}

/// Decodes standard base64 (WebDriver's screenshots).
fn base64_decode(text: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("not base64: {:?}", char::from(c)),
        }
    }
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &c)| acc | (value(c) << (18 - 6 * i)));
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

/// chromedriver and the Chromium it starts, killed together when dropped.
struct Browser {
    driver: Child,
    base: String,
    session: Option<String>,
    http: reqwest::Client,
    profile: PathBuf,
    log: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads a process group of its own, which Chromium and its helpers join:
        // kill the whole group, then reap chromedriver.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        if std::thread::panicking() {
            eprintln!("chromedriver's log: {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// What a method's output area shows after a call.
#[derive(Debug, serde::Deserialize)]
struct Output {
    status: String,
    head: String,
    value: Option<String>,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    async fn start() -> Browser {
        let chromium = required_program(&["chromium", "chromium-browser"], "chromium");
        let chromedriver = required_program(&["chromedriver"], "chromium-driver");
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let profile = tmp.join(format!("explorer-chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile dir");
        let log = tmp.join(format!("explorer-chromedriver-{}.log", std::process::id()));

        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: None,
            http,
            profile,
            log,
        };
        browser.wait_until_ready().await;

        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-proxy-server",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            "--window-size=1280,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", browser.profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "pageLoadStrategy": "normal",
                "timeouts": { "script": 30_000, "pageLoad": 30_000, "implicit": 0 },
                "goog:chromeOptions": { "binary": chromium, "args": args },
                "goog:loggingPrefs": { "browser": "ALL" },
            }}
        });
        let session = browser
            .command(Method::POST, "/session", Some(capabilities))
            .await;
        let id = session["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {session}"))
            .to_owned();
        browser.session = Some(id);
        browser
    }

    /// Waits for chromedriver to answer `/status` with `ready`.
    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.driver.try_wait().expect("waiting for chromedriver") {
                panic!(
                    "chromedriver exited ({status}) before it was ready; its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            let answer = self.http.get(format!("{}/status", self.base)).send().await;
            if let Ok(answer) = answer
                && let Ok(body) = answer.json_text().await
                && body["value"]["ready"] == true
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver was not ready within {TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One WebDriver command; returns its `value`, failing the test on a WebDriver error.
    async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let url = match &self.session {
            Some(id) => format!("{}/session/{id}{path}", self.base),
            None => format!("{}{path}", self.base),
        };
        let mut request = self.http.request(method.clone(), &url);
        if method == Method::POST {
            request = request
                .header("content-type", "application/json")
                .body(body.unwrap_or_else(|| json!({})).to_string());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let answer = response
            .json_text()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        assert!(
            status.is_success() && answer["value"].get("error").is_none(),
            "WebDriver {method} {path} failed ({status}): {answer}"
        );
        answer["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Opens the explorer at `url` and waits until it lists the methods.
    async fn open(&self, url: &str) {
        self.goto(url).await;
        self.wait_for(
            &format!("the explorer at {url} to list the methods"),
            "return document.body.dataset.ready === 'true' || null;",
            json!([]),
        )
        .await;
    }

    /// Runs `script` (a function body) in the page with `args`, returning what it returns.
    async fn run(&self, script: &str, args: Value) -> Value {
        self.command(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs `script` until it returns something other than `null` or `false`, and returns that;
    /// fails the test, showing the page's text, after [`TIMEOUT`].
    async fn wait_for(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let value = self.run(script, args.clone()).await;
            if !value.is_null() && value != false {
                return value;
            }
            if Instant::now() >= deadline {
                let text = self
                    .run("return document.body.innerText.slice(0, 4000);", json!([]))
                    .await;
                panic!(
                    "waited {TIMEOUT:?} for {what}; the page shows:\n{}",
                    text.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element `css` selects; fails the test when there is none.
    async fn find(&self, css: &str) -> String {
        let found = self
            .command(
                Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element for {css}: {found}"))
            .to_owned()
    }

    /// Types `text` into the input `css` selects, replacing what it held.
    async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(Method::POST, &format!("/element/{element}/clear"), None)
            .await;
        if text.is_empty() {
            return;
        }
        self.command(
            Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(Method::POST, &format!("/element/{element}/click"), None)
            .await;
    }

    /// Fills `method`'s inputs with `params` (name, JSON text), clicks its Call button, and
    /// waits for the answer to show.
    async fn call(&self, method: &str, params: &[(&str, &str)]) -> Output {
        let section = format!("section.method[data-method=\"{method}\"]");
        for (name, text) in params {
            self.fill(&format!("{section} input[data-param=\"{name}\"]"), text)
                .await;
        }
        let seq = self
            .run(
                "return document.querySelector(arguments[0] + ' .output').dataset.seq;",
                json!([section]),
            )
            .await;
        self.click(&format!("{section} button.call")).await;
        let shown = self
            .wait_for(
                &format!("the answer of {method}"),
                "const out = document.querySelector(arguments[0] + ' .output');
                 if (out.dataset.seq === arguments[1] || out.dataset.status === 'pending') return null;
                 const value = out.querySelector('.value');
                 return { status: out.dataset.status,
                          head: out.querySelector('.out-head').textContent,
                          value: value ? value.textContent : null };",
                json!([section, seq]),
            )
            .await;
        serde_json::from_value(shown).expect("the output's shape")
    }

    /// A PNG of the viewport.
    async fn screenshot(&self) -> Vec<u8> {
        let png = self.command(Method::GET, "/screenshot", None).await;
        base64_decode(png.as_str().expect("a screenshot is base64 text"))
    }

    /// The browser console's entries since the last call.
    async fn console(&self) -> Vec<Value> {
        let entries = self
            .command(Method::POST, "/se/log", Some(json!({ "type": "browser" })))
            .await;
        entries.as_array().cloned().unwrap_or_default()
    }

    async fn quit(mut self) {
        if self.session.is_some() {
            self.command(Method::DELETE, "", None).await;
            self.session = None;
        }
    }
}

/// Reads a response body as JSON.
trait JsonText {
    async fn json_text(self) -> Result<Value, String>;
}

impl JsonText for reqwest::Response {
    async fn json_text(self) -> Result<Value, String> {
        let text = self.text().await.map_err(|e| e.to_string())?;
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text:?}"))
    }
}

/// A service whose docs hold <b>markup</b> & <img src=x onerror="document.title='pwned'">.
#[rpc]
pub trait Odd {
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

/// The page lists the calculator's methods from `rpc.discover`, calls them with positional
/// params typed as JSON, and shows results, JSON-RPC errors and broken answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_lists_and_calls_methods_in_chromium() {
    let started = Instant::now();
    let url = common::serve(app(), "/rpc").await;
    let origin = url.trim_end_matches("/rpc").to_owned();
    let browser = Browser::start().await;
    // The methods, with their docs and params.
    browser.open(&url).await;
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

    // Calls: a result, an error with its code, a variadic param, any JSON.
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

    // Input the page refuses to send.
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

    // The screenshot: a result and an error, down to the end of the quadratic section.
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
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer.png");
    std::fs::write(&shot, &png).expect("write the screenshot");
    if std::env::var_os("SAVE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = common::workspace_root().join("docs");
        std::fs::create_dir_all(&docs).expect("create docs/");
        std::fs::write(docs.join("explorer.png"), &png).expect("write docs/explorer.png");
    }

    // Markup in the docs stays text; deprecated methods are marked; trailing optional params left
    // empty are left out, an empty one before a given one is sent as null.
    browser.open(&format!("{origin}/odd")).await;
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
    let hello = browser.call("hello", &[]).await;
    assert_eq!(json_of(&hello), "hello", "{hello:?}");

    // An endpoint that answers calls with something other than JSON-RPC.
    browser.open(&format!("{origin}/broken")).await;
    let bad = browser.call("add_together", &[("things", "[1]")]).await;
    assert_eq!(bad.status, "error", "{bad:?}");
    assert!(
        bad.head.contains("HTTP 502") && bad.head.contains("not JSON"),
        "{bad:?}"
    );
    assert_eq!(bad.value.as_deref(), Some("upstream is down"), "{bad:?}");

    // An endpoint whose rpc.discover fails: the page says so instead of listing methods.
    browser.goto(&format!("{origin}/down")).await;
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

    browser.quit().await;
    println!("explorer browser test took {:?}", started.elapsed());
}

/// The page is served on GET with the strict content security policy, and loads nothing from
/// anywhere: no external script, style, image or font.
#[tokio::test]
async fn explorer_page_is_self_contained() {
    let url = common::serve(examples::calculator::app(), "/rpc").await;
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client")
        .get(&url)
        .send()
        .await
        .expect("GET the explorer");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    assert!(
        header("content-security-policy").starts_with("default-src 'none'"),
        "{}",
        header("content-security-policy")
    );
    let page = response.text().await.expect("the page");
    for external in [
        "src=", "<link", "@import", "url(", "http://", "https://", "//cdn",
    ] {
        assert!(!page.contains(external), "the page holds `{external}`");
    }
    assert!(
        page.contains("location.href"),
        "it posts to its own address"
    );
    assert!(
        !page.contains("innerHTML") && !page.contains("insertAdjacentHTML"),
        "no HTML is built from strings"
    );
}
