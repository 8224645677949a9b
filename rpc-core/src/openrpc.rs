//! OpenRPC 1.3 documents, built from what `#[rpc]` recorded about a trait.
//!
//! ```
//! use rpc_core::rpc;
//!
//! /// Greets people.
//! #[rpc(server)]
//! pub trait Greeter {
//!     /// Greets `name`, in `language` if given.
//!     async fn hello(&self, name: String, language: Option<String>) -> String;
//! }
//!
//! let doc = GreeterServer::openrpc();
//! assert_eq!(doc["openrpc"], "1.3.2");
//! assert_eq!(doc["info"]["title"], "Greeter");
//! let hello = &doc["methods"][0];
//! assert_eq!(hello["name"], "hello");
//! assert_eq!(hello["params"][0]["required"], true);
//! assert_eq!(hello["params"][1]["required"], false);
//! assert_eq!(hello["result"]["schema"]["type"], "string");
//! ```

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::ErrorCode;
use crate::meta::{MethodInfo, ServiceInfo};

/// The OpenRPC version of the documents this module writes.
pub const OPENRPC_VERSION: &str = "1.3.2";

/// The OpenRPC document of `service`, with API version `0.0.0`.
pub fn document(service: &ServiceInfo) -> Value {
    document_with_version(service, "0.0.0")
}

/// The OpenRPC document of `service`, stating `version` as the API's version.
pub fn document_with_version(service: &ServiceInfo, version: &str) -> Value {
    document_for(&[service], version)
}

/// One OpenRPC document for several services served on one endpoint: their methods in order,
/// their names joined as the title, their docs as the description.
///
/// ```
/// use rpc_core::meta::{MethodInfo, ServiceInfo};
/// static ETH: ServiceInfo = ServiceInfo::new("Eth", "Chain data.", &[MethodInfo::new("eth_blockNumber", "", &[])]);
/// static NET: ServiceInfo = ServiceInfo::new("Net", "", &[MethodInfo::new("net_version", "", &[])]);
/// let doc = rpc_core::openrpc::document_for(&[&ETH, &NET], "1.0.0");
/// assert_eq!(doc["info"]["title"], "Eth + Net");
/// assert_eq!(doc["methods"][1]["name"], "net_version");
/// ```
pub fn document_for(services: &[&ServiceInfo], version: &str) -> Value {
    document_both_ways(services, &[], version)
}

/// One OpenRPC document for the services served on one endpoint and the ones each connection
/// expects its peer (the client) to serve, for the server's calls back: the peer's methods,
/// in the same shape as the endpoint's, under the extension `x-peer-methods`, and their traits'
/// names under `x-peer-services`.
///
/// ```
/// use rpc_core::meta::{MethodInfo, ServiceInfo};
/// static COUNTER: ServiceInfo = ServiceInfo::new("LineCounter", "", &[MethodInfo::new("line_counter", "", &[])]);
/// static NOISY: ServiceInfo = ServiceInfo::new("Noisy", "", &[MethodInfo::new("noisy", "", &[])]);
/// let doc = rpc_core::openrpc::document_both_ways(&[&COUNTER], &[&NOISY], "1.0.0");
/// assert_eq!(doc["x-peer-services"][0], "Noisy");
/// assert_eq!(doc["x-peer-methods"][0]["name"], "noisy");
/// ```
pub fn document_both_ways(
    services: &[&ServiceInfo],
    peer: &[&ServiceInfo],
    version: &str,
) -> Value {
    let mut generator = SchemaSettings::draft07()
        .with(|s| {
            s.definitions_path = "#/components/schemas/".into();
            s.meta_schema = None;
        })
        .into_generator();
    let methods: Vec<Value> = services
        .iter()
        .flat_map(|s| s.methods)
        .map(|m| method(m, &mut generator))
        .collect();
    let peer_methods: Vec<Value> = peer
        .iter()
        .flat_map(|s| s.methods)
        .map(|m| method(m, &mut generator))
        .collect();
    let title: Vec<&str> = services.iter().map(|s| s.name).collect();
    let docs: Vec<&str> = services
        .iter()
        .map(|s| s.docs)
        .filter(|d| !d.is_empty())
        .collect();
    let mut info = Map::new();
    info.insert("title".into(), title.join(" + ").into());
    info.insert("version".into(), version.into());
    if !docs.is_empty() {
        info.insert("description".into(), docs.join("\n\n").into());
    }
    let mut doc = Map::new();
    doc.insert("openrpc".into(), OPENRPC_VERSION.into());
    doc.insert("info".into(), Value::Object(info));
    doc.insert("methods".into(), Value::Array(methods));
    if !peer.is_empty() {
        let names: Vec<&str> = peer.iter().map(|s| s.name).collect();
        doc.insert("x-peer-services".into(), names.into());
        doc.insert("x-peer-methods".into(), Value::Array(peer_methods));
    }
    let schemas = generator.take_definitions(true);
    if !schemas.is_empty() {
        doc.insert("components".into(), json!({ "schemas": schemas }));
    }
    Value::Object(doc)
}

/// A schema written in place, with the generator's draft-07 rewrites applied (the generator
/// applies them itself only to the shared `components.schemas`).
fn inline(schema: crate::meta::SchemaFn, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut schema = schema(generator);
    for transform in generator.transforms_mut() {
        transform.transform(&mut schema);
    }
    schema.to_value()
}

fn method(m: &MethodInfo, generator: &mut schemars::SchemaGenerator) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), m.name.into());
    if !m.summary().is_empty() {
        out.insert("summary".into(), m.summary().into());
    }
    if !m.docs.is_empty() {
        out.insert("description".into(), m.docs.into());
    }
    let params: Vec<Value> = m
        .params
        .iter()
        .map(|p| {
            let mut param = Map::new();
            param.insert("name".into(), p.name.into());
            param.insert("required".into(), (!p.optional).into());
            param.insert("schema".into(), inline(p.schema, generator));
            if p.variadic {
                param.insert(
                    "description".into(),
                    "Variadic: by position, every remaining param; by name, one array.".into(),
                );
                param.insert("x-variadic".into(), true.into());
            }
            Value::Object(param)
        })
        .collect();
    out.insert("params".into(), Value::Array(params));
    if let (Some(sub), Some(ty), Some(schema)) = (m.subscription, m.result, m.result_schema) {
        // The call answers the subscription's id; its items come in notifications, which
        // OpenRPC has no words for: `x-subscription` names them, their item type and the
        // method that ends the subscription.
        out.insert(
            "result".into(),
            json!({ "name": "subscription", "schema": { "type": "string" },
                    "description": "The subscription id, in every notification's `params.subscription`." }),
        );
        out.insert(
            "x-subscription".into(),
            json!({
                "notification": sub.notification,
                "unsubscribe": sub.unsubscribe,
                "item": { "name": "item", "schema": inline(schema, generator), "x-rust-type": ty },
            }),
        );
    } else if let (Some(ty), Some(schema)) = (m.result, m.result_schema) {
        out.insert(
            "result".into(),
            json!({ "name": "result", "schema": inline(schema, generator), "x-rust-type": ty }),
        );
    }
    if let (Some(ty), Some(schema)) = (m.error, m.error_schema) {
        // An OpenRPC error object holds an example, not a schema, and takes no extensions: the
        // error type's schema (of the error object's `data`) goes on the method instead.
        out.insert(
            "errors".into(),
            json!([{
                "code": ErrorCode::SERVER_ERROR,
                "message": format!("{ty}: the method's own error, its value in `data` (see `x-error-schema`); each value may choose another code"),
            }]),
        );
        out.insert("x-error-schema".into(), inline(schema, generator));
    }
    if m.idempotent {
        // Safe to send again after a failure: clients may retry it.
        out.insert("x-idempotent".into(), true.into());
    }
    // The server takes every method's params by position and by name.
    out.insert("paramStructure".into(), "either".into());
    if let Some(note) = m.deprecated {
        out.insert("deprecated".into(), true.into());
        if !note.is_empty() {
            out.insert("x-deprecation-note".into(), note.into());
        }
    }
    Value::Object(out)
}
