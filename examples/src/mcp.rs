//! A Model Context Protocol (MCP) server, made of an ordinary `#[rpc]` trait: MCP is JSON-RPC
//! 2.0 with fixed method names (`initialize`, `tools/list`, `tools/call`, ...), params always
//! by name, and its own cancellation notification.
//!
//! The server offers three tools, each with an input schema derived by `schemars` from the
//! struct its arguments are decoded into:
//!
//! - `add {a: integer, b: integer}`: the sum, as text (`"5"` for 2 and 3);
//! - `echo {text: string}`: the text back;
//! - `sleep {ms: integer}`: waits `ms` milliseconds, then counts itself as a finished sleep
//!   and answers how many sleeps have finished on this server so far. A sleep cancelled with
//!   `notifications/cancelled` (served with
//!   [`Cancellation::Mcp`](rpc_core::peer::Cancellation::Mcp)) is stopped where it waits: it
//!   is never counted and never answered, which a later sleep's count shows.
//!
//! Run it with `cargo run --release -p examples --example mcp`: it speaks MCP's stdio transport,
//! one JSON-RPC message per line on standard input and output, as the official SDKs' clients
//! expect of a server they start as a child process.
//!
//! # Params by name
//! The `#[rpc]` server decodes params given by name into the method's arguments by their
//! names, and refuses a name it does not know (`-32602 unknown param`). So each method here
//! names every key an MCP client may send in its params: the spec's own keys, in their
//! camelCase spelling (hence `#[allow(non_snake_case)]`), and `_meta`, the field any MCP
//! request or notification may carry (a progress token, trace context). A key that is
//! optional in MCP is an `Option` here, which the caller may leave out.

// The camelCase param names are MCP's keys; the generated server binds them too, outside the
// trait, so the allowance is the module's.
#![allow(non_snake_case)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rpc_core::{ErrorCode, ErrorObject, rpc};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The MCP revisions this server speaks, newest first. Tools are listed and called the same
/// way in each of them.
pub const PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The longest `sleep` a caller may ask for, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 60_000;

/// The MCP methods this server answers, as they are named on the wire.
#[rpc(server)]
pub trait Mcp {
    /// The handshake: the client says which protocol revision it wants and what it can do;
    /// the server answers the revision it will speak (the client's, when it supports it, its
    /// own newest otherwise), what it offers (tools) and who it is.
    #[rpc(name = "initialize")]
    async fn initialize(
        &self,
        protocolVersion: String,
        capabilities: Value,
        clientInfo: Value,
        _meta: Option<Value>,
    ) -> InitializeResult;

    /// The client's notice that the handshake is over. Nothing to do: it is accepted
    /// silently (a method returning `()` answers a notification with nothing at all).
    #[rpc(name = "notifications/initialized")]
    async fn initialized(&self, _meta: Option<Value>);

    /// Either end may ask whether the other is still there; the answer is an empty object.
    #[rpc(name = "ping")]
    async fn ping(&self, _meta: Option<Value>) -> Empty;

    /// The tools, each with its name, description and input schema. The whole list fits one
    /// page, so a `cursor` is never needed (one from elsewhere is refused).
    #[rpc(name = "tools/list")]
    async fn tools_list(
        &self,
        cursor: Option<String>,
        _meta: Option<Value>,
    ) -> Result<ListToolsResult, ErrorObject>;

    /// Calls the tool `name` with `arguments`. An unknown tool is a JSON-RPC error
    /// (`-32602`); arguments the tool cannot use, or a tool that fails, is a result with
    /// `isError: true` whose text says why, so that the model calling it can correct itself.
    #[rpc(name = "tools/call")]
    async fn tools_call(
        &self,
        name: String,
        arguments: Option<Map<String, Value>>,
        _meta: Option<Value>,
    ) -> Result<CallToolResult, ErrorObject>;
}

/// The answer to `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The revision the server will speak.
    pub protocol_version: String,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// The server's name and version.
    pub server_info: Implementation,
    /// A hint for the model about how to use the server.
    pub instructions: String,
}

/// The server's capabilities: tools only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    /// The server has tools.
    pub tools: ToolsCapability,
}

/// How the tools capability behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolsCapability {
    /// Whether the server tells the client when its list of tools changes (it never changes).
    pub list_changed: bool,
}

/// A name and version: who the server is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Implementation {
    /// The program's name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// An empty object, the answer to `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Empty {}

/// The answer to `tools/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListToolsResult {
    /// Every tool.
    pub tools: Vec<Tool>,
}

/// One tool as `tools/list` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The name `tools/call` takes.
    pub name: String,
    /// What the tool does, for the model that chooses it.
    pub description: String,
    /// The JSON Schema of the tool's arguments: an object with `properties`.
    pub input_schema: Value,
}

/// The answer to `tools/call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// What the tool produced.
    pub content: Vec<Content>,
    /// Whether the tool failed (its content then says why).
    pub is_error: bool,
}

impl CallToolResult {
    /// A successful result holding `text`.
    pub fn text(text: impl Into<String>) -> Self {
        CallToolResult {
            content: vec![Content::Text { text: text.into() }],
            is_error: false,
        }
    }

    /// A failed result whose text says why.
    pub fn error(why: impl Into<String>) -> Self {
        CallToolResult {
            content: vec![Content::Text { text: why.into() }],
            is_error: true,
        }
    }
}

/// One piece of a tool's result; this server produces text only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// `{"type": "text", "text": ...}`.
    Text {
        /// The text.
        text: String,
    },
}

/// The arguments of `add`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddInput {
    /// The first addend.
    pub a: i64,
    /// The second addend.
    pub b: i64,
}

/// The arguments of `echo`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoInput {
    /// The text to send back.
    pub text: String,
}

/// The arguments of `sleep`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepInput {
    /// How long to wait, in milliseconds (at most 60000).
    pub ms: u64,
}

/// The tools: their names, descriptions, and input schemas from `schemars`.
pub fn tools() -> Vec<Tool> {
    fn tool<T: JsonSchema>(name: &str, description: &str) -> Tool {
        Tool {
            name: name.to_owned(),
            description: description.to_owned(),
            input_schema: schemars::schema_for!(T).to_value(),
        }
    }
    vec![
        tool::<AddInput>("add", "Adds two integers and answers their sum."),
        tool::<EchoInput>("echo", "Answers the text it is given."),
        tool::<SleepInput>(
            "sleep",
            "Waits `ms` milliseconds, then answers how many sleeps have finished on this \
             server, this one included. A cancelled sleep never finishes.",
        ),
    ]
}

/// The server's implementation: the tools and the one piece of state `sleep` keeps.
#[derive(Debug, Default)]
pub struct Tools {
    finished_sleeps: AtomicU64,
}

impl Tools {
    /// How many sleeps have finished (a cancelled one never does).
    pub fn finished_sleeps(&self) -> u64 {
        self.finished_sleeps.load(Ordering::SeqCst)
    }

    async fn sleep(&self, input: SleepInput) -> CallToolResult {
        if input.ms > MAX_SLEEP_MS {
            return CallToolResult::error(format!(
                "`ms` is {}, more than the longest sleep, {MAX_SLEEP_MS}",
                input.ms
            ));
        }
        // A cancelled call's task is aborted while it waits here, so the count below is never
        // reached: cancellation stops the work, not only the answer.
        tokio::time::sleep(Duration::from_millis(input.ms)).await;
        let finished = self.finished_sleeps.fetch_add(1, Ordering::SeqCst) + 1;
        CallToolResult::text(finished.to_string())
    }
}

/// Decodes a tool's `arguments` into its input struct; what the tool cannot use comes back as
/// the failed result that says why.
fn arguments<T: DeserializeOwned>(
    tool: &str,
    arguments: Option<Map<String, Value>>,
) -> Result<T, CallToolResult> {
    serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| CallToolResult::error(format!("invalid arguments for `{tool}`: {e}")))
}

impl Mcp for Tools {
    async fn initialize(
        &self,
        protocol_version: String,
        _capabilities: Value,
        _client_info: Value,
        _meta: Option<Value>,
    ) -> InitializeResult {
        let protocol_version = if PROTOCOL_VERSIONS.contains(&protocol_version.as_str()) {
            protocol_version
        } else {
            PROTOCOL_VERSIONS[0].to_owned()
        };
        InitializeResult {
            protocol_version,
            capabilities: ServerCapabilities {
                tools: ToolsCapability {
                    list_changed: false,
                },
            },
            server_info: Implementation {
                name: "rpc-examples-mcp".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
            instructions: "Tools: add two integers, echo a text, sleep a while.".to_owned(),
        }
    }

    async fn initialized(&self, _meta: Option<Value>) {}

    async fn ping(&self, _meta: Option<Value>) -> Empty {
        Empty {}
    }

    async fn tools_list(
        &self,
        cursor: Option<String>,
        _meta: Option<Value>,
    ) -> Result<ListToolsResult, ErrorObject> {
        if let Some(cursor) = cursor {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!("Invalid cursor {cursor:?}: the tools fit one page"),
            ));
        }
        Ok(ListToolsResult { tools: tools() })
    }

    async fn tools_call(
        &self,
        name: String,
        args: Option<Map<String, Value>>,
        _meta: Option<Value>,
    ) -> Result<CallToolResult, ErrorObject> {
        let result = match name.as_str() {
            "add" => {
                arguments::<AddInput>(&name, args).map(|AddInput { a, b }| match a.checked_add(b) {
                    Some(sum) => CallToolResult::text(sum.to_string()),
                    None => CallToolResult::error(format!("{a} + {b} does not fit in 64 bits")),
                })
            }
            "echo" => {
                arguments::<EchoInput>(&name, args).map(|input| CallToolResult::text(input.text))
            }
            "sleep" => match arguments::<SleepInput>(&name, args) {
                Ok(input) => Ok(self.sleep(input).await),
                Err(failed) => Err(failed),
            },
            _ => {
                return Err(ErrorObject::new(
                    ErrorCode::INVALID_PARAMS,
                    format!("Unknown tool: {name}"),
                ));
            }
        };
        Ok(result.unwrap_or_else(|failed| failed))
    }
}

/// The endpoint: the tools, with MCP's cancellation (`notifications/cancelled` stops the call
/// it names, which then gets no answer).
pub fn endpoint() -> rpc_server::RpcService<McpServer<Tools>> {
    rpc_server::RpcService::new(McpServer(Tools::default()))
        .cancellation(rpc_core::peer::Cancellation::Mcp)
}
