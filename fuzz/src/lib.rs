//! What the fuzz targets share.

use std::sync::LazyLock;

/// The runtime every input runs on: one thread, built once, so that an input's time is its
/// own work.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    });
    &RUNTIME
}
