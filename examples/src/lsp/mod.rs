//! A small language server, made of an ordinary `#[rpc]` trait: the Language Server Protocol
//! (LSP) is JSON-RPC 2.0 over a byte stream framed with `Content-Length` headers, with fixed
//! method names (`initialize`, `textDocument/hover`, ...), params always one object, requests
//! in both directions, and its own cancellation notification (`$/cancelRequest`).
//!
//! What it does:
//!
//! - the lifecycle: `initialize` (answers full text sync and hover as its capabilities),
//!   `initialized`, `shutdown` (answers `null`), `exit` (ends the process: status 0 after
//!   `shutdown`, 1 otherwise, as LSP says; see [`Exit`]);
//! - documents: `textDocument/didOpen`, `textDocument/didChange` (the whole text, or a range
//!   when a client sends one anyway), `textDocument/didClose`; on open it tells the editor so
//!   with a `window/logMessage`;
//! - `textDocument/hover`: the word under the cursor, `{"contents": {"kind": "plaintext",
//!   "value": WORD}}`, read from the latest text (`null` off any word);
//! - after `initialized`, it asks the editor for its settings (a `workspace/configuration`
//!   request for the section `example`), then logs the answer, as JSON, in a
//!   `window/logMessage`;
//! - `example/slow {"ms": N}`: answers `true` after N milliseconds, unless the editor cancels
//!   it first with `$/cancelRequest`: the call is then stopped and answered `-32800`.
//!
//! # How the framework carries LSP
//! - **Params as one object.** Each LSP method takes one params object; `#[rpc(params =
//!   "object")]` decodes it whole into the method's one param, a struct whose fields are the
//!   object's camelCase keys. Keys the struct does not name are ignored, so a client sending
//!   more than this server reads (work-done tokens, newer fields) does no harm.
//! - **Notifications in order.** `didOpen` and `didChange` are notifications, and by default
//!   a connection runs notifications concurrently. Marked `#[rpc(ordered)]`, they run one after
//!   the other in arrival order, each finishing before the connection's next message is
//!   dispatched: so the 200th edit never lands before the 199th, and a `hover` sent after them
//!   sees the text they left.
//! - **Calling the editor back.** Inside a method, `rpc_server::RequestContext::peer()` lends
//!   the connection's other end; `rpc_client::ClientBuilder::<EditorClient>::peer(peer)` makes
//!   a typed client of [`Editor`], the methods the editor serves. Its requests wait for the
//!   editor's answer; its `notify()` sends notifications. The client can outlive the call that
//!   made it: `initialized` starts a task with it and returns at once.
//! - **Cancellation.** Served with [`Cancellation::Lsp`](rpc_core::peer::Cancellation::Lsp),
//!   a `$/cancelRequest {"id"}` aborts the running call's task where it waits and answers the
//!   call `-32800`; nothing of it runs on.
//! - **Errors.** A request the server cannot serve (before `initialize`, after `shutdown`,
//!   about a document that is not open) is answered with an error saying why. A notification
//!   cannot be answered: what is wrong with one is logged to the editor with a
//!   `window/logMessage` of type Error, and to standard error.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rpc_core::{ErrorCode, ErrorObject, rpc};
use serde_json::Value;

mod exit;
mod protocol;
mod text;

pub use exit::Exit;
pub use protocol::*;
pub use text::{offset, word_at};

/// The longest `example/slow` a caller may ask for, in milliseconds.
pub const MAX_SLOW_MS: u64 = 60_000;

/// LSP's error for a request that came before `initialize`.
pub const SERVER_NOT_INITIALIZED: i64 = -32002;

/// The methods the server answers, named as on the wire.
#[rpc(server)]
pub trait LanguageServer {
    /// The handshake: what the editor can do comes in, what the server offers goes back.
    #[rpc(name = "initialize", params = "object")]
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult, ErrorObject>;

    /// The editor is ready for the server's own requests: the server asks for its settings.
    #[rpc(name = "initialized", params = "object")]
    async fn initialized(&self, params: Option<Value>);

    /// The editor is about to ask the server to exit; answers `null`. Afterwards every request
    /// is refused (`-32600`).
    #[rpc(name = "shutdown")]
    async fn shutdown(&self) -> Result<(), ErrorObject>;

    /// Ends the server: [`Exit`] tells the program serving it, with LSP's status.
    #[rpc(name = "exit")]
    async fn exit(&self);

    /// A document is open: its text is now the editor's to send.
    #[rpc(name = "textDocument/didOpen", params = "object", ordered)]
    async fn did_open(&self, params: DidOpenTextDocumentParams);

    /// An open document changed: applied in the order the editor sent them.
    #[rpc(name = "textDocument/didChange", params = "object", ordered)]
    async fn did_change(&self, params: DidChangeTextDocumentParams);

    /// A document is closed: its text is forgotten.
    #[rpc(name = "textDocument/didClose", params = "object", ordered)]
    async fn did_close(&self, params: DidCloseTextDocumentParams);

    /// The word under the cursor, or `null` when the cursor is on no word.
    #[rpc(name = "textDocument/hover", params = "object")]
    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>, ErrorObject>;

    /// Answers `true` after `ms` milliseconds; `$/cancelRequest` stops it sooner (`-32800`).
    #[rpc(name = "example/slow", params = "object")]
    async fn slow(&self, params: SlowParams) -> Result<bool, ErrorObject>;
}

/// The methods the editor answers, which the server calls back over the same connection
/// (`#[rpc(client)]`: only the calling side is generated, as [`EditorClient`]).
#[rpc(client)]
pub trait Editor {
    /// A message for the editor's log (a notification: send it with `notify()`).
    #[rpc(name = "window/logMessage", params = "object")]
    async fn log_message(&self, params: LogMessageParams);

    /// The editor's settings for each item asked, in order (a request).
    #[rpc(name = "workspace/configuration", params = "object")]
    async fn configuration(&self, params: ConfigurationParams) -> Value;
}

/// Where the server is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `initialize`.
    Starting,
    /// Between `initialize` and `shutdown`.
    Running,
    /// After `shutdown`: only `exit` is expected.
    ShutDown,
}

/// An open document.
#[derive(Debug, Clone)]
struct Document {
    version: i64,
    text: String,
}

/// The server's implementation: its phase and the open documents.
pub struct Server {
    phase: Mutex<Phase>,
    documents: Mutex<HashMap<String, Document>>,
    exit: tokio::sync::watch::Sender<Option<i32>>,
}

/// Locks `mutex`, going on with its data if a panic poisoned it.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The editor, as a typed client over the connection the current call came on.
fn editor() -> Result<EditorClient, rpc_core::Error> {
    let peer = rpc_server::RequestContext::peer()?;
    rpc_client::ClientBuilder::<EditorClient>::peer(peer).build()
}

/// Sends `message` to the editor's log as a `window/logMessage` notification, and to
/// standard error; a log that cannot be sent is only written there.
async fn log(editor: Option<&EditorClient>, kind: u8, message: String) {
    eprintln!("lsp: {message}");
    if let Some(editor) = editor {
        let params = LogMessageParams { kind, message };
        if let Err(e) = editor.notify().log_message(params).await {
            eprintln!("lsp: cannot send window/logMessage: {e}");
        }
    }
}

impl Server {
    /// Refuses a request outside the running phase, as LSP says.
    fn running(&self) -> Result<(), ErrorObject> {
        match *lock(&self.phase) {
            Phase::Running => Ok(()),
            Phase::Starting => Err(ErrorObject::new(
                SERVER_NOT_INITIALIZED,
                "the server is not initialized: send `initialize` first",
            )),
            Phase::ShutDown => Err(ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "the server is shut down: only `exit` is expected",
            )),
        }
    }

    /// Whether a notification about documents may be taken now; says why not otherwise.
    async fn notification_allowed(&self, method: &str) -> bool {
        match self.running() {
            Ok(()) => true,
            Err(e) => {
                log(
                    editor().ok().as_ref(),
                    MESSAGE_ERROR,
                    format!("{method} ignored: {}", e.message),
                )
                .await;
                false
            }
        }
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult, ErrorObject> {
        {
            let mut phase = lock(&self.phase);
            if *phase != Phase::Starting {
                return Err(ErrorObject::new(
                    ErrorCode::INVALID_REQUEST,
                    "`initialize` was already received: it is sent once",
                ));
            }
            *phase = Phase::Running;
        }
        let who = params
            .client_info
            .map_or("an unnamed client".to_owned(), |c| c.name);
        eprintln!(
            "lsp: initialized by {who} (process {:?})",
            params.process_id
        );
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                text_document_sync: TEXT_DOCUMENT_SYNC_FULL,
                hover_provider: true,
            },
            server_info: Info {
                name: "rpc-examples-lsp".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            },
        })
    }

    async fn initialized(&self, _params: Option<Value>) {
        if !self.notification_allowed("initialized").await {
            return;
        }
        let editor = match editor() {
            Ok(editor) => editor,
            Err(e) => {
                eprintln!("lsp: cannot call the editor back: {e}");
                return;
            }
        };
        // The request waits for the editor's answer, for as long as the editor takes: in a
        // task of its own it holds up nothing, and `initialized` returns at once. The client
        // needs no current call: it lives on in the task, over the same connection.
        tokio::spawn(async move {
            let asked = ConfigurationParams {
                items: vec![ConfigurationItem {
                    section: "example".to_owned(),
                }],
            };
            let (kind, message) = match editor.configuration(asked).await {
                Ok(settings) => (MESSAGE_INFO, format!("configuration: {settings}")),
                Err(e) => (
                    MESSAGE_WARNING,
                    format!("workspace/configuration failed: {e}"),
                ),
            };
            log(Some(&editor), kind, message).await;
        });
    }

    async fn shutdown(&self) -> Result<(), ErrorObject> {
        self.running()?;
        *lock(&self.phase) = Phase::ShutDown;
        Ok(())
    }

    async fn exit(&self) {
        // LSP: status 0 when `shutdown` came first, 1 otherwise.
        let code = i32::from(*lock(&self.phase) != Phase::ShutDown);
        self.exit.send_replace(Some(code));
        // Nothing more is read; the calls in flight are answered, then `serve_stdio` returns.
        rpc_server::RequestContext::close_connection();
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        if !self.notification_allowed("textDocument/didOpen").await {
            return;
        }
        let item = params.text_document;
        let message = format!(
            "opened {} ({}, version {}, {} lines)",
            item.uri,
            item.language_id,
            item.version,
            item.text.lines().count()
        );
        lock(&self.documents).insert(
            item.uri,
            Document {
                version: item.version,
                text: item.text,
            },
        );
        log(editor().ok().as_ref(), MESSAGE_INFO, message).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        if !self.notification_allowed("textDocument/didChange").await {
            return;
        }
        let uri = params.text_document.uri;
        let problem = {
            let mut documents = lock(&self.documents);
            match documents.get_mut(&uri) {
                Some(document) => {
                    for change in params.content_changes {
                        match change.range {
                            Some(range) => {
                                let start = offset(&document.text, range.start);
                                let end = offset(&document.text, range.end).max(start);
                                document.text.replace_range(start..end, &change.text);
                            }
                            None => document.text = change.text,
                        }
                    }
                    document.version = params.text_document.version;
                    None
                }
                None => Some(format!(
                    "textDocument/didChange ignored: {uri} is not open (send didOpen first)"
                )),
            }
        };
        if let Some(problem) = problem {
            log(editor().ok().as_ref(), MESSAGE_ERROR, problem).await;
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        lock(&self.documents).remove(&params.text_document.uri);
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>, ErrorObject> {
        self.running()?;
        let documents = lock(&self.documents);
        let uri = &params.text_document.uri;
        let document = documents.get(uri).ok_or_else(|| {
            ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!("{uri} is not open: send textDocument/didOpen first"),
            )
        })?;
        Ok(word_at(&document.text, params.position).map(|word| Hover {
            contents: MarkupContent {
                kind: "plaintext".to_owned(),
                value: word.to_owned(),
            },
        }))
    }

    async fn slow(&self, params: SlowParams) -> Result<bool, ErrorObject> {
        self.running()?;
        if params.ms > MAX_SLOW_MS {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!("`ms` is {}, more than {MAX_SLOW_MS}", params.ms),
            ));
        }
        // A `$/cancelRequest` for this call aborts its task while it waits here; the framework
        // then answers the call -32800 itself.
        tokio::time::sleep(Duration::from_millis(params.ms)).await;
        Ok(true)
    }
}

/// The endpoint, speaking LSP's cancellation (`$/cancelRequest` stops the call it names,
/// which is answered `-32800`), and the handle that learns when `exit` comes.
pub fn endpoint() -> (rpc_server::RpcService<LanguageServerServer<Server>>, Exit) {
    let (exit, requested) = tokio::sync::watch::channel(None);
    let server = Server {
        phase: Mutex::new(Phase::Starting),
        documents: Mutex::new(HashMap::new()),
        exit,
    };
    let endpoint = rpc_server::RpcService::new(LanguageServerServer(server))
        .cancellation(rpc_core::peer::Cancellation::Lsp);
    (endpoint, Exit(requested))
}
