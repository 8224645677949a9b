//! Self-description: the OpenRPC documents `rpc.discover` serves, checked by the OpenRPC
//! project's own validator. (The `system.*` introspection methods are `introspection.rs`'s.)
//!
//! The validator is `tests/openrpc/validate.mjs`, run with node: `@open-rpc/schema-utils-js`
//! (`validateOpenRPCDocument` and `parseOpenRPCDocument`) and the standalone
//! `@open-rpc/meta-schema` compiled with ajv, pinned in `tests/openrpc/package-lock.json` and
//! installed into `tests/openrpc/node_modules` by `scripts/setup-test-deps.sh`. The tests that
//! run it are `#[ignore]`d, so that a plain `cargo test` passes without Node;
//! `bash scripts/test.sh` installs it and runs them too.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use common::{CALCULATOR_METHODS, discover, method_names, rpc_error_code, rpc_result};
use examples::calculator::{CalculatorServer, LocalCalculator};
use examples::spec::SpecExamplesServer;
use rpc_server::RpcService;
use serde_json::{Value, json};

/// How long the validator may run before it is killed.
const TIMEOUT: Duration = Duration::from_secs(60);

const SPEC_METHODS: [&str; 7] = [
    "subtract",
    "sum",
    "get_data",
    "update",
    "notify_hello",
    "notify_sum",
    "notifications_seen",
];

fn method<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["methods"]
        .as_array()
        .expect("`methods` is an array")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no method `{name}` in the document"))
}

/// Follows a `{"$ref": "#/components/schemas/X"}` to the schema it names.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("not a local reference: {reference}"));
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling reference {reference}"))
        }
        None => schema,
    }
}

/// Writes `doc` to a file of its own under the target dir for the validator to read.
fn write_doc(name: &str, doc: &Value) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(dir).expect("create the target's tmp dir");
    let path = dir.join(format!("openrpc-{}-{name}.json", std::process::id()));
    let text = serde_json::to_string_pretty(doc).expect("a Value serializes");
    std::fs::write(&path, text).expect("write the document");
    path
}

/// Runs `tests/openrpc/validate.mjs` over `files`: its exit status (`None` when it ran over
/// [`TIMEOUT`] and was killed) and its report.
async fn run_validator(files: &[PathBuf]) -> (Option<ExitStatus>, String) {
    let dir = common::workspace_root().join("tests").join("openrpc");
    let installed = dir
        .join("node_modules")
        .join("@open-rpc")
        .join("schema-utils-js")
        .join("package.json");
    assert!(
        installed.is_file(),
        "the OpenRPC validator is not installed: {} does not exist.\n\
         Run `scripts/setup-test-deps.sh` from the workspace root, then run the tests again.",
        installed.display()
    );
    let output = common::run_child(
        Command::new("node")
            .arg(dir.join("validate.mjs"))
            .args(files)
            .current_dir(&dir),
        TIMEOUT,
    )
    .await
    .unwrap_or_else(|e| {
        panic!("cannot run `node` ({e}); install Node.js, then run `scripts/setup-test-deps.sh`")
    });
    let report = format!("{}{}", output.stdout, output.stderr);
    (output.status, report)
}

/// Runs the validator over `files`; fails the test, showing the validator's report, unless
/// every document is valid. Returns the report.
async fn validate(files: &[PathBuf]) -> String {
    match run_validator(files).await {
        (Some(status), report) if status.success() => report,
        (Some(status), report) => {
            panic!("the OpenRPC validator rejected a document ({status}):\n{report}")
        }
        (None, report) => {
            panic!("the OpenRPC validator ran over {TIMEOUT:?} and was killed:\n{report}")
        }
    }
}

/// Both example services' documents, as served over HTTP and as built without a server, pass
/// the OpenRPC project's meta-schema validation, and every `$ref` in them resolves.
#[tokio::test]
#[ignore = "needs Node.js and the OpenRPC validator: run scripts/setup-test-deps.sh"]
async fn documents_pass_the_openrpc_validator() {
    let calculator = common::serve(examples::calculator::app(), "/rpc").await;
    let spec = common::serve(examples::spec::app(), "/rpc").await;
    let served_calculator = discover(&calculator).await;
    let served_spec = discover(&spec).await;

    // Served documents are the static ones with the API version the app states.
    let mut built_calculator = CalculatorServer::openrpc();
    let mut built_spec = SpecExamplesServer::openrpc();
    assert_eq!(built_calculator["info"]["version"], "0.0.0");
    let files = [
        write_doc("calculator-served", &served_calculator),
        write_doc("spec-served", &served_spec),
        write_doc("calculator-built", &built_calculator),
        write_doc("spec-built", &built_spec),
    ];
    built_calculator["info"]["version"] = "1.0.0".into();
    built_spec["info"]["version"] = "1.0.0".into();
    assert_eq!(served_calculator, built_calculator);
    assert_eq!(served_spec, built_spec);

    // A document with subscriptions (and their `x-subscription`) passes too.
    let pubsub = common::serve(examples::pubsub::app(), "/rpc").await;
    let mut files = files.to_vec();
    files.push(write_doc("pubsub-served", &discover(&pubsub).await));
    let report = validate(&files).await;
    println!("{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        3 * files.len(),
        "every check of every document passed:\n{report}"
    );
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

/// The validator is not a rubber stamp: it rejects a broken document and a dangling reference,
/// naming where.
#[tokio::test]
#[ignore = "needs Node.js and the OpenRPC validator: run scripts/setup-test-deps.sh"]
async fn validator_rejects_broken_documents() {
    let mut broken = CalculatorServer::openrpc();
    broken["methods"][1]["params"][0]["required"] = "yes".into();
    let mut dangling = CalculatorServer::openrpc();
    dangling["methods"][1]["params"][0]["schema"] = json!({ "$ref": "#/components/schemas/Nope" });
    let files = [
        write_doc("broken", &broken),
        write_doc("dangling", &dangling),
    ];
    let (status, report) = run_validator(&files).await;
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{report}");
    assert!(
        report.contains(".methods[1].params[0].required"),
        "{report}"
    );
    assert!(report.contains("#/components/schemas/Nope"), "{report}");
    assert!(report.contains("2 of 2 documents invalid"), "{report}");
    for file in files {
        let _ = std::fs::remove_file(file);
    }
}

/// The calculator's document describes every method: docs, params with their required flags,
/// result and error schemas.
#[tokio::test]
async fn calculator_document_describes_every_method() {
    let url = common::serve(examples::calculator::app(), "/rpc").await;
    let doc = discover(&url).await;

    assert_eq!(doc["openrpc"], "1.3.2");
    assert_eq!(doc["info"]["title"], "Calculator");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert_eq!(
        doc["info"]["description"],
        "A calculator with a few helpful extras."
    );
    assert_eq!(method_names(&doc), CALCULATOR_METHODS);

    for name in CALCULATOR_METHODS {
        let m = method(&doc, name);
        for key in ["summary", "description"] {
            let text = m[key].as_str().unwrap_or_default();
            assert!(!text.is_empty(), "{name} has a {key}: {m}");
        }
        assert_eq!(m["paramStructure"], "either", "{name}");
        assert!(m.get("deprecated").is_none(), "{name}");
        // None of them is a notification: each states its result.
        assert!(m["result"]["schema"].is_object() || m["result"]["schema"] == true);
        assert_eq!(m["result"]["name"], "result");
        for param in m["params"].as_array().expect("params is an array") {
            assert!(param["name"].is_string(), "{name}: {param}");
            assert!(param["required"].is_boolean(), "{name}: {param}");
            assert!(param.get("schema").is_some(), "{name}: {param}");
        }
    }

    let quadratic = method(&doc, "quadratic");
    assert_eq!(
        quadratic["summary"],
        "Roots of `a*x*x + b*x + c == 0`, smallest first; a double root is listed once."
    );
    let params = quadratic["params"].as_array().expect("params");
    assert_eq!(params.len(), 3);
    for (param, name) in params.iter().zip(["a", "b", "c"]) {
        assert_eq!(param["name"], name);
        assert_eq!(param["required"], true, "{param}");
        assert_eq!(param["schema"]["type"], "number", "{param}");
    }
    assert_eq!(quadratic["result"]["schema"]["type"], "array");
    assert_eq!(quadratic["result"]["schema"]["items"]["type"], "number");

    let add = method(&doc, "add_together");
    assert_eq!(add["params"][0]["name"], "things");
    assert_eq!(add["params"][0]["required"], true);
    assert_eq!(add["params"][0]["x-variadic"], true);
    assert_eq!(add["params"][0]["schema"]["type"], "array");
    assert_eq!(add["params"][0]["schema"]["items"]["type"], "integer");
    assert_eq!(add["result"]["schema"]["type"], "integer");

    // The lengths doc spans two lines: the summary keeps the whole first paragraph.
    let lengths = method(&doc, "lengths");
    assert!(
        lengths["description"]
            .as_str()
            .is_some_and(|d| d.contains("\nobject")),
        "{lengths}"
    );

    // Methods returning `Result<_, MathError>` list the error with MathError's schema.
    for name in ["add_together", "quadratic"] {
        let errors = method(&doc, name)["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{name}");
        let error = &errors[0];
        assert!(error["code"].is_i64(), "{error}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("MathError")),
            "{error}"
        );
        let error_schema = &method(&doc, name)["x-error-schema"];
        assert_eq!(error_schema["$ref"], "#/components/schemas/MathError");
        let schema = resolve(&doc, error_schema);
        assert_eq!(schema["description"], "Why a calculation has no answer.");
        let variants = schema["oneOf"].as_array().expect("an enum is a oneOf");
        assert_eq!(variants.len(), 3, "{schema}");
        let texts = variants.iter().map(Value::to_string).collect::<String>();
        for variant in ["NoRealRoots", "NotQuadratic", "Overflow"] {
            assert!(texts.contains(variant), "{variant} in {schema}");
        }
    }
    for name in ["remote_repr", "lengths"] {
        assert!(method(&doc, name).get("errors").is_none(), "{name}");
    }
}

/// In the spec service's document, the methods returning `()` (meant for notifications) have no
/// result, the others do.
#[tokio::test]
async fn subscriptions_name_their_notification_item_and_unsubscribe_method() {
    let url = common::serve(examples::pubsub::app(), "/rpc").await;
    let doc = discover(&url).await;
    let counter = method(&doc, "subscribe_counter");
    assert_eq!(counter["result"]["schema"]["type"], "string", "{counter}");
    let sub = &counter["x-subscription"];
    assert_eq!(sub["notification"], "counter");
    assert_eq!(sub["unsubscribe"], "unsubscribe_counter");
    assert_eq!(sub["item"]["x-rust-type"], "u64");
    assert_eq!(sub["item"]["schema"]["type"], "integer");
    let ticks = method(&doc, "subscribe_ticks");
    // The derived unsubscribe name, and the error type's schema as for any method.
    assert_eq!(ticks["x-subscription"]["unsubscribe"], "unsubscribe_ticks");
    assert_eq!(ticks["x-subscription"]["notification"], "tick");
    assert!(ticks.get("x-error-schema").is_some(), "{ticks}");
    let add = method(&doc, "add");
    assert!(add.get("x-subscription").is_none(), "{add}");
}

#[tokio::test]
async fn spec_document_has_no_result_for_notifications() {
    let url = common::serve(examples::spec::app(), "/rpc").await;
    let doc = discover(&url).await;

    assert_eq!(doc["info"]["title"], "SpecExamples");
    assert_eq!(method_names(&doc), SPEC_METHODS);
    for name in ["update", "notify_hello", "notify_sum"] {
        let m = method(&doc, name);
        assert!(m.get("result").is_none(), "{name} has no result: {m}");
        assert!(m.get("errors").is_none(), "{name}: {m}");
    }
    for name in ["subtract", "sum", "get_data", "notifications_seen"] {
        let m = method(&doc, name);
        assert!(m["result"].get("schema").is_some(), "{name}: {m}");
    }
    for name in SPEC_METHODS {
        let m = method(&doc, name);
        assert!(m["summary"].as_str().is_some_and(|s| !s.is_empty()), "{m}");
        assert!(
            m["description"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert_eq!(m["paramStructure"], "either");
    }

    let subtract = method(&doc, "subtract");
    let names: Vec<&Value> = subtract["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, ["minuend", "subtrahend"]);
    assert!(
        subtract["params"]
            .as_array()
            .expect("params")
            .iter()
            .all(|p| p["required"] == true)
    );
    assert_eq!(
        subtract["x-error-schema"]["$ref"],
        "#/components/schemas/Overflow"
    );
    resolve(&doc, &subtract["x-error-schema"]);
    assert_eq!(method(&doc, "get_data")["params"], json!([]));
    assert_eq!(method(&doc, "notify_hello")["params"][0]["name"], "n");
}

/// `rpc.discover` is on by default and `.discover(false)` turns it off, leaving the service's
/// methods alone.
#[tokio::test]
async fn discover_can_be_turned_off() {
    let on = RpcService::new(CalculatorServer(LocalCalculator)).into_method_router();
    let on = common::serve(axum::Router::new().route("/rpc", on), "/rpc").await;
    let doc = discover(&on).await;
    assert_eq!(doc["info"]["version"], "0.0.0");
    assert_eq!(method_names(&doc), CALCULATOR_METHODS);

    let off = RpcService::new(CalculatorServer(LocalCalculator))
        .discover(false)
        .into_method_router();
    let off = common::serve(axum::Router::new().route("/rpc", off), "/rpc").await;
    assert_eq!(rpc_error_code(&off, "rpc.discover", None).await, -32601);
    assert_eq!(
        rpc_result(&off, "add_together", Some(json!([1, 2, 3]))).await,
        6
    );
    // system.listMethods is off too (by default), and would not name rpc.discover anyway.
    assert_eq!(
        rpc_error_code(&off, "system.listMethods", None).await,
        -32601
    );
    let introspective = RpcService::new(CalculatorServer(LocalCalculator))
        .discover(false)
        .introspection(true)
        .into_method_router();
    let introspective =
        common::serve(axum::Router::new().route("/rpc", introspective), "/rpc").await;
    let names = rpc_result(&introspective, "system.listMethods", None).await;
    assert!(!names.to_string().contains("rpc.discover"), "{names}");
}
