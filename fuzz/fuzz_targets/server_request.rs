//! Any bytes as one request body to `spec_server`'s endpoint (the specification's service,
//! with `rpc.discover`, introspection and the explorer on), answered in process by its
//! dispatcher (`RpcService::answer`: what a POST body or a message gets, without HTTP): the
//! answer is nothing or valid JSON-RPC, one response object or a non-empty array of them, and
//! our own client reads it. The quick request reader, wherever it reads the body at all, reads
//! it as the full reader does (with and without a batch limit it reaches).

#![no_main]

use std::sync::LazyLock;

use examples::spec::{SpecExamplesServer, SpecService};
use libfuzzer_sys::fuzz_target;
use rpc_server::RpcService;

static ENDPOINT: LazyLock<RpcService<SpecExamplesServer<SpecService>>> =
    LazyLock::new(examples::spec::endpoint);

fuzz_target!(|body: &[u8]| {
    for limit in [usize::MAX, 2] {
        assert!(rpc_core::wire::quick_read_agrees(body, limit));
    }
    if let Some(answer) = rpc_fuzz::block_on(ENDPOINT.answer(body)) {
        rpc_fuzz::check_answer(&answer);
    }
});
