//! A small WebDriver client: chromedriver and the headless Chromium it starts, driven through
//! the W3C WebDriver HTTP API with reqwest.
//!
//! Every wait is bounded by [`TIMEOUT`], and chromedriver runs in a process group of its own
//! that is killed, browser included, when the [`Browser`] is dropped, even by a panic.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Value, json};

/// The longest any one step may take: a WebDriver command, or waiting for the page.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

/// The key under which WebDriver hands out element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The port chromedriver announces on `stdout` once it listens. The pipe is read to its end on
/// a thread of its own, so that chromedriver never blocks on a full pipe.
fn announced_port(stdout: ChildStdout) -> mpsc::Receiver<u16> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let port = line
                .strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok());
            if let Some(port) = port {
                // Only the first announcement counts; the receiver may be gone by now.
                let _ = tx.send(port);
            }
        }
    });
    rx
}

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
pub(crate) struct Browser {
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
pub(crate) struct Output {
    pub(crate) status: String,
    pub(crate) head: String,
    pub(crate) value: Option<String>,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub(crate) async fn start() -> Browser {
        let chromium = required_program(&["chromium", "chromium-browser"], "chromium");
        let chromedriver = required_program(&["chromedriver"], "chromium-driver");
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        // A profile and a log of its own: the tests of this binary run browsers side by side.
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let id = format!(
            "{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        );
        let profile = tmp.join(format!("explorer-chromium-profile-{id}"));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile dir");
        let log = tmp.join(format!("explorer-chromedriver-{id}.log"));

        // Port 0: chromedriver takes a free port itself and says which on its stdout, so no
        // port is picked here and released for it (another process could take it meanwhile).
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let announced = announced_port(driver.stdout.take().expect("chromedriver's stdout"));
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .no_proxy()
            .build()
            .expect("an HTTP client");
        // Built before anything can fail, so that chromedriver is killed whatever happens.
        let mut browser = Browser {
            driver,
            base: String::new(),
            session: None,
            http,
            profile,
            log,
        };
        let port = announced.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            panic!(
                "chromedriver did not say which port it listens on within {TIMEOUT:?}; its log:\n{}",
                std::fs::read_to_string(&browser.log).unwrap_or_default()
            )
        });
        browser.base = format!("http://127.0.0.1:{port}");
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
    pub(crate) async fn command(&self, method: Method, path: &str, body: Option<Value>) -> Value {
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

    pub(crate) async fn goto(&self, url: &str) {
        self.command(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Opens the explorer at `url` and waits until it lists the methods.
    pub(crate) async fn open(&self, url: &str) {
        self.goto(url).await;
        self.wait_for(
            &format!("the explorer at {url} to list the methods"),
            "return document.body.dataset.ready === 'true' || null;",
            json!([]),
        )
        .await;
    }

    /// Runs `script` (a function body) in the page with `args`, returning what it returns.
    pub(crate) async fn run(&self, script: &str, args: Value) -> Value {
        self.command(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Runs `script` until it returns something other than `null` or `false`, and returns that;
    /// fails the test, showing the page's text, after [`TIMEOUT`].
    pub(crate) async fn wait_for(&self, what: &str, script: &str, args: Value) -> Value {
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
    pub(crate) async fn find(&self, css: &str) -> String {
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
    pub(crate) async fn fill(&self, css: &str, text: &str) {
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

    pub(crate) async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(Method::POST, &format!("/element/{element}/click"), None)
            .await;
    }

    /// Fills `method`'s inputs with `params` (name, JSON text), clicks its Call button, and
    /// waits for the answer to show.
    pub(crate) async fn call(&self, method: &str, params: &[(&str, &str)]) -> Output {
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
    pub(crate) async fn screenshot(&self) -> Vec<u8> {
        let png = self.command(Method::GET, "/screenshot", None).await;
        base64_decode(png.as_str().expect("a screenshot is base64 text"))
    }

    /// The browser console's entries since the last call.
    pub(crate) async fn console(&self) -> Vec<Value> {
        let entries = self
            .command(Method::POST, "/se/log", Some(json!({ "type": "browser" })))
            .await;
        entries.as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn quit(mut self) {
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
