//! The XML-RPC style `system.*` introspection methods over HTTP: what they answer when turned
//! on, and that they are unknown methods when left off.

mod common;

use common::{CALCULATOR_METHODS, discover, method_names, rpc_call, rpc_error_code, rpc_result};
use examples::calculator::{CalculatorServer, LocalCalculator};
use examples::spec::{SpecExamplesServer, SpecService};
use rpc_server::RpcService;
use serde_json::json;

const BUILTIN_METHODS: [&str; 4] = [
    "rpc.discover",
    "system.listMethods",
    "system.methodHelp",
    "system.methodSignature",
];

/// `system.listMethods`, `system.methodHelp` and `system.methodSignature` over HTTP.
#[tokio::test]
async fn system_methods_describe_the_service() {
    let url = common::serve(examples::calculator::app(), "/rpc").await;

    let names = rpc_result(&url, "system.listMethods", None).await;
    let names: Vec<&str> = names
        .as_array()
        .expect("listMethods answers a list")
        .iter()
        .map(|n| n.as_str().expect("of names"))
        .collect();
    for name in CALCULATOR_METHODS.iter().chain(&BUILTIN_METHODS) {
        assert!(names.contains(name), "{name} in {names:?}");
    }
    assert_eq!(
        names.len(),
        CALCULATOR_METHODS.len() + BUILTIN_METHODS.len()
    );
    // Empty params are fine too.
    assert_eq!(
        rpc_result(&url, "system.listMethods", Some(json!([]))).await,
        json!(names)
    );

    // methodHelp: the doc comment, by position or by name.
    assert_eq!(
        rpc_result(&url, "system.methodHelp", Some(json!(["quadratic"]))).await,
        "Roots of `a*x*x + b*x + c == 0`, smallest first; a double root is listed once."
    );
    assert_eq!(
        rpc_result(
            &url,
            "system.methodHelp",
            Some(json!({ "method": "lengths" }))
        )
        .await,
        "The length of each argument: characters of a string, elements of a list, members of an\n\
         object, and `null` for anything without a length."
    );

    // methodSignature: XML-RPC's shape, a list of signatures, each the result type then the
    // param types.
    assert_eq!(
        rpc_result(&url, "system.methodSignature", Some(json!(["quadratic"]))).await,
        json!([["Vec<f64>", "f64", "f64", "f64"]])
    );
    assert_eq!(
        rpc_result(
            &url,
            "system.methodSignature",
            Some(json!(["add_together"]))
        )
        .await,
        json!([["i64", "Vec<i64>"]])
    );
    let spec = common::serve(examples::spec::app(), "/rpc").await;
    assert_eq!(
        rpc_result(&spec, "system.methodSignature", Some(json!(["get_data"]))).await,
        json!([["(String, i64)"]])
    );
    assert_eq!(
        rpc_result(
            &spec,
            "system.methodSignature",
            Some(json!(["notify_hello"]))
        )
        .await,
        json!([["()", "i64"]])
    );

    // An unknown name, or no name, is an invalid param.
    for method in ["system.methodHelp", "system.methodSignature"] {
        let unknown = rpc_call(&url, method, Some(json!(["no_such_method"]))).await;
        assert_eq!(unknown["error"]["code"], -32602, "{method}: {unknown}");
        assert!(
            unknown["error"]["message"]
                .to_string()
                .contains("no_such_method")
                || unknown["error"]["data"]
                    .to_string()
                    .contains("no_such_method"),
            "{method} names the unknown method: {unknown}"
        );
        assert_eq!(rpc_error_code(&url, method, Some(json!([]))).await, -32602);
        assert_eq!(
            rpc_error_code(&url, method, Some(json!([42]))).await,
            -32602
        );
    }
}

/// Introspection is off by default: the `system.*` names are then unknown methods, while
/// `rpc.discover` still answers.
#[tokio::test]
async fn system_methods_are_off_by_default() {
    let route = RpcService::new(CalculatorServer(LocalCalculator)).into_method_router();
    let url = common::serve(axum::Router::new().route("/rpc", route), "/rpc").await;
    assert_eq!(
        rpc_error_code(&url, "system.listMethods", None).await,
        -32601
    );
    assert_eq!(
        rpc_error_code(&url, "system.methodHelp", Some(json!(["quadratic"]))).await,
        -32601
    );
    assert_eq!(
        rpc_error_code(&url, "system.methodSignature", Some(json!(["quadratic"]))).await,
        -32601
    );
    assert_eq!(method_names(&discover(&url).await), CALCULATOR_METHODS);

    let spec = RpcService::new(SpecExamplesServer(SpecService::default())).into_method_router();
    let spec = common::serve(axum::Router::new().route("/rpc", spec), "/rpc").await;
    assert_eq!(
        rpc_error_code(&spec, "system.listMethods", None).await,
        -32601
    );
}
