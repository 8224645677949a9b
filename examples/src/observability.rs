//! `GET /metrics` and `GET /health` for an app: the framework records every call through the
//! `metrics` facade, and this installs the Prometheus recorder that renders them.

use std::sync::OnceLock;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process's Prometheus recorder, installed on first use; `None` when another recorder was
/// installed first (a process has one).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            // The recorder keeps every histogram sample until it is drained: a scrape does,
            // and so does this upkeep, so that an app nobody scrapes does not grow.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// `GET /metrics` in Prometheus text, and `GET /health` answering `ok`.
///
/// ```no_run
/// let app: axum::Router = axum::Router::new().merge(examples::observability::routes());
/// ```
pub fn routes() -> axum::Router {
    let handle = prometheus();
    axum::Router::new()
        .route(
            "/metrics",
            get(move || async move {
                match handle {
                    Some(handle) => (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        handle.render(),
                    )
                        .into_response(),
                    None => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "another metrics recorder is installed in this process",
                    )
                        .into_response(),
                }
            }),
        )
        .route("/health", get(|| async { "ok" }))
}
