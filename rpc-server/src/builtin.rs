//! The methods every endpoint can answer besides its service's: `rpc.discover` (the OpenRPC
//! document, on by default) and the XML-RPC style `system.listMethods`, `system.methodHelp` and
//! `system.methodSignature` (opt-in).

use rpc_core::ErrorObject;
use rpc_core::meta::ServiceInfo;
use rpc_core::params::{Signature, decode};
use serde_json::value::RawValue;

use crate::Config;

/// Whether `method` is one of the built-in names, which no `#[rpc]` trait may take: `rpc.` is
/// reserved by JSON-RPC, and `system.` is only claimed when introspection is on.
pub(crate) fn claims(config: &Config, method: &str) -> bool {
    method.starts_with("rpc.") || (config.introspection && method.starts_with("system."))
}

/// The built-in method `method` names, when the endpoint answers it.
pub(crate) fn known(config: &Config, method: &str) -> Option<&'static str> {
    match method {
        "rpc.discover" if config.discover => Some("rpc.discover"),
        "system.listMethods" if config.introspection => Some("system.listMethods"),
        "system.methodHelp" if config.introspection => Some("system.methodHelp"),
        "system.methodSignature" if config.introspection => Some("system.methodSignature"),
        _ => None,
    }
}

pub(crate) fn call(
    services: &[&'static ServiceInfo],
    config: &Config,
    method: &str,
    params: Option<&RawValue>,
    out: &mut Vec<u8>,
) -> Result<(), ErrorObject> {
    static NONE: Signature = Signature::new(&[], false);
    static NAME: Signature = Signature::new(&["method"], false);
    let not_found = || Err(ErrorObject::method_not_found(method));
    match method {
        "rpc.discover" if config.discover => {
            decode::<()>(params, &NONE)?;
            out.extend_from_slice(config.openrpc(services).get().as_bytes());
            Ok(())
        }
        "system.listMethods" if config.introspection => {
            decode::<()>(params, &NONE)?;
            let mut names: Vec<&str> = services
                .iter()
                .flat_map(|s| s.methods)
                .flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied()))
                .collect();
            names.extend(builtin_names(config));
            write(out, &names)
        }
        "system.methodHelp" if config.introspection => {
            let (name,): (String,) = decode(params, &NAME)?;
            let m = find(services, &name)?;
            write(out, m.docs)
        }
        "system.methodSignature" if config.introspection => {
            let (name,): (String,) = decode(params, &NAME)?;
            let m = find(services, &name)?;
            // XML-RPC's shape: a list of signatures, each the result type then the param types.
            let signature: Vec<&str> = std::iter::once(m.result.unwrap_or("()"))
                .chain(m.params.iter().map(|p| p.ty))
                .collect();
            write(out, &[signature])
        }
        _ => not_found(),
    }
}

fn find(
    services: &[&'static ServiceInfo],
    name: &str,
) -> Result<&'static rpc_core::meta::MethodInfo, ErrorObject> {
    services
        .iter()
        .find_map(|s| s.method(name))
        .ok_or_else(|| ErrorObject::invalid_params(&format!("no method named `{name}`")))
}

fn builtin_names(config: &Config) -> Vec<&'static str> {
    let mut names = Vec::new();
    if config.discover {
        names.push("rpc.discover");
    }
    names.extend([
        "system.listMethods",
        "system.methodHelp",
        "system.methodSignature",
    ]);
    names
}

fn write<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), ErrorObject> {
    rpc_core::wire::write_json(out, value, "a built-in method")
}
