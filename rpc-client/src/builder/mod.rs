//! Settings for a client, and building it.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use rpc_core::Error;

use crate::autobatch::Batcher;
use crate::failover::Endpoints;
use crate::resilience::Resilience;
use crate::retry::Retrier;
use crate::transport::Transport;
use crate::transport::http::Http;
use crate::{AutoBatch, Client, Failover, Inner, Retry, ws};

mod messages;

use messages::WsOptions;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings for a [`Client`].
///
/// ```
/// use std::time::Duration;
/// let client = rpc_client::Client::builder("http://127.0.0.1:8080/rpc")
///     .timeout(Duration::from_millis(1500))
///     .header("x-request-source", "docs")
///     .basic_auth("alice", Some("wonderland"))
///     .build()
///     .unwrap();
/// assert_eq!(client.url().path(), "/rpc");
/// ```
///
/// A generated client has the same builder, ending in the typed client:
/// `CalculatorClient::builder(url)...build()`.
#[must_use]
pub struct ClientBuilder<C = Client> {
    url: String,
    more_urls: Vec<String>,
    failover: Option<Failover>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    headers: HeaderMap,
    http: Option<reqwest::Client>,
    retry: Option<Retry>,
    ws: WsOptions,
    auto_batch: Option<AutoBatch>,
    /// Roots trusted beside the platform's (`root_certificate`).
    #[cfg(feature = "tls")]
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    error: Option<String>,
    client: PhantomData<fn() -> C>,
}

impl<C> std::fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs as logs show them: never with a password.
        let shown = |text: &String| {
            reqwest::Url::parse(text).map_or_else(|_| text.clone(), |url| crate::shown(&url))
        };
        f.debug_struct("ClientBuilder")
            .field("url", &shown(&self.url))
            .field(
                "more_urls",
                &self.more_urls.iter().map(shown).collect::<Vec<_>>(),
            )
            .field("failover", &self.failover)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("headers", &self.headers)
            .field("retry", &self.retry)
            .field("ws", &self.ws)
            .field("auto_batch", &self.auto_batch)
            .finish_non_exhaustive()
    }
}

impl<C: From<Client>> ClientBuilder<C> {
    /// Settings for a client of `url`, with the defaults: see each setting. Generated clients
    /// start here through `{Trait}Client::builder`.
    pub fn new(url: &str) -> Self {
        ClientBuilder {
            url: url.to_owned(),
            more_urls: Vec::new(),
            failover: None,
            timeout: None,
            connect_timeout: None,
            headers: HeaderMap::new(),
            http: None,
            retry: None,
            ws: WsOptions::default(),
            auto_batch: None,
            #[cfg(feature = "tls")]
            roots: Vec::new(),
            error: None,
            client: PhantomData,
        }
    }

    /// The longest a whole call may take, connecting included. Default: 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The longest connecting may take. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => {
                self.headers.insert(name, value);
            }
            _ => self.error = Some(format!("invalid header `{name}`")),
        }
        self
    }

    /// `Authorization: Bearer <token>` on every request.
    pub fn bearer_auth(self, token: &str) -> Self {
        let value = format!("Bearer {token}");
        self.sensitive_auth(value)
    }

    /// `Authorization: Basic ...` on every request.
    pub fn basic_auth(self, user: &str, password: Option<&str>) -> Self {
        let raw = format!("{user}:{}", password.unwrap_or(""));
        let value = format!("Basic {}", base64(raw.as_bytes()));
        self.sensitive_auth(value)
    }

    fn sensitive_auth(mut self, value: String) -> Self {
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(header::AUTHORIZATION, value);
            }
            Err(_) => self.error = Some("invalid credentials for the Authorization header".into()),
        }
        self
    }

    /// Tries failed calls again as `policy` says (see [`Retry`]): any call whose connection
    /// could not be made, and an idempotent call after a failure the server may get over.
    /// Default: no retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = rpc_client::Client::builder("http://127.0.0.1:8080/rpc")
    ///     .retry(rpc_client::Retry::new(5).backoff(Duration::from_millis(100), Duration::from_secs(2)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn retry(mut self, policy: Retry) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Trusts the certificate authority (or authorities) in `pem` beside the platform's root
    /// certificates, for `https://` and `wss://`: a company's private CA, or a test's own.
    /// Needs the `tls` feature. PEM that holds no certificate fails [`build`](Self::build)
    /// with [`Error::Request`]. A client given with [`http_client`](Self::http_client) keeps
    /// its own roots for `https://`.
    ///
    /// ```no_run
    /// let client = rpc_client::Client::builder("wss://rpc.internal:8443/rpc")
    ///     .root_certificate(&std::fs::read("/etc/ssl/private-ca.pem").unwrap())
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    #[cfg(feature = "tls")]
    pub fn root_certificate(mut self, pem: &[u8]) -> Self {
        match crate::tls::certificates(pem) {
            Ok(certificates) => self.roots.extend(certificates),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// More endpoints serving the same API beside the builder's URL (replicas, say): calls
    /// then take the healthy ones in turn, and one that fails is set aside for a while (see
    /// [`Failover`] for the rules and [`failover`](Self::failover) to tune them). Works the
    /// same for a generated client: `CalculatorClient::builder(first).endpoints([second])`.
    /// Over `ws://` URLs each connection goes to a healthy endpoint, and a reconnect to the next
    /// one; WebSocket and HTTP endpoints are not mixed.
    ///
    /// ```
    /// let client = rpc_client::Client::builder("http://10.0.0.1:7002/rpc")
    ///     .endpoints(["http://10.0.0.2:7002/rpc", "http://10.0.0.3:7002/rpc"])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.endpoints().len(), 3);
    /// ```
    pub fn endpoints<I>(mut self, urls: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.more_urls
            .extend(urls.into_iter().map(|url| url.as_ref().to_owned()));
        self
    }

    /// How failing endpoints are set aside and probed again (see [`Failover`]). Default:
    /// [`Failover::new`] when there are several endpoints. With a single endpoint, this puts
    /// it behind a circuit breaker too: calls then fail at once with
    /// [`Error::Unavailable`] while it is set aside.
    pub fn failover(mut self, policy: Failover) -> Self {
        self.failover = Some(policy);
        self
    }

    /// Sends the calls that tasks sharing the client make at about the same time together, as
    /// one batch request (see [`AutoBatch`]). Default: each call is a request of its own.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = rpc_client::Client::builder("http://127.0.0.1:8080/rpc")
    ///     .auto_batch(rpc_client::AutoBatch::new().max_size(32).max_delay(Duration::from_micros(200)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// ```
    pub fn auto_batch(mut self, policy: AutoBatch) -> Self {
        self.auto_batch = Some(policy);
        self
    }

    /// Uses an existing reqwest client (its pool, proxy and TLS settings); `timeout` and
    /// `connect_timeout` then come from it. For `http://` and `https://` only: a reqwest client
    /// cannot carry a WebSocket, so with a `ws://` or `wss://` URL [`build`](Self::build) fails
    /// rather than leave the client's proxy and TLS settings unused.
    ///
    /// ```
    /// let http = reqwest::Client::builder().no_proxy().build().unwrap();
    /// let client = rpc_client::Client::builder("http://127.0.0.1:8080/rpc")
    ///     .http_client(http.clone())
    ///     .build()
    ///     .unwrap();
    /// # let _ = client;
    /// let over_ws = rpc_client::Client::builder("ws://127.0.0.1:8080/rpc").http_client(http);
    /// assert!(over_ws.build().is_err());
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    pub fn build(mut self) -> Result<C, Error> {
        if let Some(e) = self.error {
            return Err(Error::Request(e));
        }
        if let Some(peer) = self.ws.peer.take() {
            let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
            let resilience = self.retry.map(|retry| Resilience {
                retry: Some(Retrier::new(retry)),
                endpoints: None,
            });
            let url = reqwest::Url::parse(&self.url).map_err(|e| Error::Request(e.to_string()))?;
            return Ok(self.finish(url, Transport::Peer { peer, timeout }, resilience, None));
        }
        let url = match &self.ws.once {
            Some(_) => reqwest::Url::parse(&self.url)
                .map_err(|e| Error::Request(format!("the child's name: {e}")))?,
            None => endpoint_url(&self.url, self.http.is_some())?,
        };
        let endpoints = if self.more_urls.is_empty() && self.failover.is_none() {
            None
        } else {
            let mut urls = vec![url.clone()];
            for text in &self.more_urls {
                let more = endpoint_url(text, self.http.is_some())?;
                if urls.contains(&more) {
                    return Err(Error::Request(format!(
                        "the endpoint `{more}` is given twice"
                    )));
                }
                urls.push(more);
            }
            Some(Endpoints::new(urls, self.failover.unwrap_or_default()))
        };
        // The URLs served by a message connection: a WebSocket, or a Unix socket.
        let websocket =
            |url: &reqwest::Url| matches!(url.scheme(), "ws" | "wss" | "unix" | "child" | "stream");
        if self.http.is_some() && websocket(&url) {
            return Err(Error::Request(format!(
                "`http_client` is for http:// and https:// URLs: a reqwest client cannot carry \
                 the WebSocket of `{url}` (its proxy and TLS settings would go unused)"
            )));
        }
        let mixed = endpoints
            .iter()
            .flat_map(|e| e.urls())
            .find(|other| websocket(other) != websocket(&url));
        if let Some(other) = mixed {
            return Err(Error::Request(format!(
                "the endpoints mix WebSocket and HTTP URLs (`{url}` and `{other}`): one client \
                 speaks one of them"
            )));
        }
        let endpoints = endpoints.map(Arc::new);
        #[cfg(feature = "tls")]
        let tls = {
            let mut urls = std::iter::once(&url).chain(endpoints.iter().flat_map(|e| e.urls()));
            if urls.any(|url| url.scheme() == "wss") {
                Some(crate::tls::ws_config(&self.roots)?)
            } else {
                None
            }
        };
        if websocket(&url) {
            let messages = ws::WsTransport::new(
                url.clone(),
                endpoints.clone(),
                ws::Settings {
                    timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                    connect_timeout: self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                    max_message_size: self
                        .ws
                        .max_message_size
                        .unwrap_or(ws::DEFAULT_MAX_MESSAGE_SIZE),
                    subscription_buffer: self
                        .ws
                        .subscription_buffer
                        .unwrap_or(ws::DEFAULT_SUBSCRIPTION_BUFFER),
                    ping_interval: self.ws.ping_interval.unwrap_or(ws::DEFAULT_PING_INTERVAL),
                    framing: self.ws.framing.unwrap_or(if self.ws.once.is_some() {
                        rpc_core::framing::Framing::Newline
                    } else {
                        rpc_core::framing::Framing::Ethereum
                    }),
                    once: std::sync::Mutex::new(self.ws.once.take()),
                    reconnect: self.ws.reconnect.map(Retrier::new),
                    served: self.ws.served.take(),
                    cancellation: self.ws.cancellation,
                    headers: std::mem::take(&mut self.headers),
                    #[cfg(feature = "tls")]
                    tls,
                },
            );
            // The connection picks its endpoint when it connects: only retries wrap it.
            let resilience = self.retry.map(|retry| Resilience {
                retry: Some(Retrier::new(retry)),
                endpoints: None,
            });
            return Ok(self.finish(url, Transport::Messages(messages), resilience, endpoints));
        }
        if self.ws.served.is_some() {
            return Err(Error::Request(format!(
                "`serve` needs a message connection (ws://, wss://, unix://, a child or a \
                 stream): over `{url}` the server cannot call the client back"
            )));
        }
        let http = self.http_transport()?;
        let resilience = (self.retry.is_some() || endpoints.is_some()).then(|| Resilience {
            retry: self.retry.map(Retrier::new),
            endpoints: endpoints.clone(),
        });
        Ok(self.finish(url, Transport::Http(http), resilience, endpoints))
    }

    /// The client, around its transport.
    fn finish(
        self,
        url: reqwest::Url,
        transport: Transport,
        resilience: Option<Resilience>,
        endpoints: Option<Arc<Endpoints>>,
    ) -> C {
        C::from(Client {
            inner: Arc::new(Inner {
                url,
                transport,
                resilience,
                endpoints,
                auto_batch: self.auto_batch.map(Batcher::new),
                next_id: AtomicU64::new(1),
            }),
        })
    }

    /// The HTTP transport: the caller's reqwest client, or one of our own.
    fn http_transport(&mut self) -> Result<Http, Error> {
        let mut headers = std::mem::take(&mut self.headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(client) = self.http.take() {
            // A client of the caller's: our headers go on each request.
            return Ok(Http { client, headers });
        }
        // Our own client carries the headers itself; a JSON-RPC endpoint does not redirect, a
        // call is retried by its caller, who knows whether it is safe to repeat, and the
        // endpoint is reached directly (a proxy goes in through `http_client`).
        let client = reqwest::Client::builder();
        #[cfg(feature = "tls")]
        let client = self.roots.iter().try_fold(client, |client, root| {
            reqwest::Certificate::from_der(root)
                .map(|root| client.add_root_certificate(root))
                .map_err(|e| Error::Request(format!("a root certificate: {e}")))
        })?;
        let client = client
            .timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
            .connect_timeout(self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT))
            // Below the server's 60 s idle timeout (`rpc_server::serve`, nginx's 75 s): the
            // client closes an idle connection before the server does, so a call is never
            // written onto a connection the server is closing.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .no_proxy()
            .default_headers(headers)
            .build()
            .map_err(|e| Error::Request(e.to_string()))?;
        Ok(Http {
            client,
            headers: HeaderMap::new(),
        })
    }
}

/// The endpoint's URL, refused at construction when no call could ever reach it.
fn endpoint_url(text: &str, own_http_client: bool) -> Result<reqwest::Url, Error> {
    let invalid = |why: &str| Error::Request(format!("invalid URL `{text}`: {why}"));
    let url = reqwest::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    match url.scheme() {
        "http" | "ws" if url.has_host() => Ok(url),
        // A reqwest client of the caller's may have TLS even when this crate's feature is off.
        "https" if url.has_host() && (cfg!(feature = "tls") || own_http_client) => Ok(url),
        "wss" if url.has_host() && cfg!(feature = "tls") => Ok(url),
        "https" | "wss" if url.has_host() => Err(invalid(&format!(
            "{}:// needs the `tls` feature of rpc-client (rpc-client = {{ version = \"..\", features = [\"tls\"] }}){}",
            url.scheme(),
            if url.scheme() == "https" {
                ", or a reqwest client with TLS passed to `http_client`"
            } else {
                ""
            }
        ))),
        "http" | "https" | "ws" | "wss" => Err(invalid("the URL has no host")),
        "unix" if cfg!(unix) && !url.has_host() && url.path().len() > 1 => Ok(url),
        "unix" if cfg!(unix) => Err(invalid(
            "a Unix socket's URL is `unix:///path/to/socket` (three slashes, an absolute path)",
        )),
        // `localhost:1/rpc` parses, with `localhost` as its scheme.
        scheme => Err(invalid(&format!(
            "URL scheme is not allowed: `{scheme}`; a JSON-RPC endpoint is `http://host:port/path`, `https://...`, `ws://...`/`wss://...` for a WebSocket, or `unix:///path` for a Unix socket"
        ))),
    }
}

/// Standard base64 with padding, for basic auth.
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// Without the feature (`cargo test -p rpc-client --lib`, as scripts/test.sh runs it).
    #[cfg(not(feature = "tls"))]
    #[test]
    fn https_and_wss_need_the_tls_feature_unless_the_caller_brings_a_client() {
        for url in ["https://127.0.0.1:1/rpc", "wss://127.0.0.1:1/rpc"] {
            match crate::Client::new(url) {
                Err(rpc_core::Error::Request(why)) => {
                    assert!(why.contains("`tls` feature"), "{why}")
                }
                other => panic!("{url}: expected a refusal, got {other:?}"),
            }
        }
        // A reqwest client of the caller's may bring its own TLS: then https:// is its call.
        assert!(
            crate::Client::builder("https://127.0.0.1:1/rpc")
                .http_client(reqwest::Client::new())
                .build()
                .is_ok()
        );
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), expected);
        }
    }
}
