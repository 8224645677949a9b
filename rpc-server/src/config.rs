//! An endpoint's settings, and the state its requests share, made from them.
//!
//! [`Settings`] are plain values, set only through `RpcService`'s builder methods, which check
//! each once. [`Config`] is the settings together with the live state made from them (the call
//! slots, the budgets, the counters, the OpenRPC document): made anew whenever a setting
//! changes, so that a clone of an endpoint taken before a change never shares state with one
//! taken after it.

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rpc_core::meta::ServiceInfo;
use serde_json::value::RawValue;
use tokio::sync::Semaphore;

use crate::budget::Budget;
use crate::connection::{PeerSubscriptions, WsLimits};
use crate::hosts::Hosts;
use crate::observe;

/// An endpoint's settings.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) max_body_bytes: usize,
    pub(crate) max_batch_len: usize,
    pub(crate) max_response_bytes: usize,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) max_concurrent_calls: usize,
    pub(crate) busy_wait: Duration,
    pub(crate) max_outbound_bytes: usize,
    pub(crate) discover: bool,
    pub(crate) introspection: bool,
    pub(crate) explorer: bool,
    pub(crate) api_version: String,
    pub(crate) websocket_on: bool,
    /// Origins besides the endpoint's own whose pages may open a WebSocket; `*` is any.
    pub(crate) websocket_origins: Vec<String>,
    pub(crate) websocket: WsLimits,
    /// The hosts a request's `Host` may name.
    pub(crate) hosts: Hosts,
    /// How a message connection's ends tell each other a caller gave up on a call.
    pub(crate) cancellation: rpc_core::peer::Cancellation,
    /// The traits each connection's client is expected to serve, for the calls back.
    pub(crate) peer_services: Vec<&'static ServiceInfo>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_body_bytes: 10 * 1024 * 1024,
            max_batch_len: 1024,
            max_response_bytes: 4 * 1024 * 1024,
            call_timeout: Some(Duration::from_secs(30)),
            max_concurrent_calls: 4096,
            busy_wait: Duration::from_millis(100),
            max_outbound_bytes: 128 * 1024 * 1024,
            discover: true,
            introspection: false,
            explorer: false,
            api_version: "0.0.0".into(),
            websocket_on: true,
            websocket_origins: Vec::new(),
            websocket: WsLimits::default(),
            hosts: Hosts::default(),
            cancellation: rpc_core::peer::Cancellation::None,
            peer_services: Vec::new(),
        }
    }
}

/// The settings, and the state every request of the endpoint shares.
pub(crate) struct Config {
    pub(crate) settings: Settings,
    /// A slot per call running.
    pub(crate) calls: Semaphore,
    pub(crate) metrics: observe::Metrics,
    /// The subscriptions open on all the endpoint's connections.
    pub(crate) subscriptions: Arc<AtomicUsize>,
    /// The subscriptions of each peer address.
    pub(crate) peer_subscriptions: Arc<PeerSubscriptions>,
    /// Every byte of answers and items made and not yet handed to a socket.
    pub(crate) outbound: Arc<Budget>,
    openrpc: OnceLock<Box<RawValue>>,
}

impl Config {
    pub(crate) fn new(settings: Settings) -> Self {
        Config {
            calls: Semaphore::new(settings.max_concurrent_calls),
            metrics: observe::Metrics::default(),
            subscriptions: Arc::default(),
            peer_subscriptions: Arc::default(),
            outbound: Arc::new(Budget::new(settings.max_outbound_bytes)),
            openrpc: OnceLock::new(),
            settings,
        }
    }

    /// The OpenRPC document of every service served, built on first use.
    pub(crate) fn openrpc(&self, services: &[&ServiceInfo]) -> &RawValue {
        self.openrpc.get_or_init(|| {
            let doc = rpc_core::openrpc::document_both_ways(
                services,
                &self.settings.peer_services,
                &self.settings.api_version,
            );
            // A `Value` always serializes.
            serde_json::value::to_raw_value(&doc).unwrap_or_default()
        })
    }
}

impl std::ops::Deref for Config {
    type Target = Settings;

    fn deref(&self) -> &Settings {
        &self.settings
    }
}
