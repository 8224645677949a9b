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
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// The params of `initialize` this server reads (it reads little: every other key is ignored).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// The editor's process id, if it gave one.
    pub process_id: Option<i64>,
    /// The editor's name and version, if it gave them.
    pub client_info: Option<Info>,
}

/// A name and an optional version: who a client or a server is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// The program's name.
    pub name: String,
    /// Its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The answer to `initialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Who the server is.
    pub server_info: Info,
}

/// The server's capabilities: full text sync and hover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerCapabilities {
    /// How documents are synced: [`TEXT_DOCUMENT_SYNC_FULL`], the whole text on each change.
    pub text_document_sync: u8,
    /// The server answers `textDocument/hover`.
    pub hover_provider: bool,
}

/// LSP's `TextDocumentSyncKind.Full`.
pub const TEXT_DOCUMENT_SYNC_FULL: u8 = 1;

/// `textDocument/didOpen`'s params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidOpenTextDocumentParams {
    /// The document and its whole text.
    pub text_document: TextDocumentItem,
}

/// A document as it is opened.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextDocumentItem {
    /// Its URI.
    pub uri: String,
    /// Its language (`plaintext`, `rust`, ...).
    pub language_id: String,
    /// Its version, increasing with each change.
    pub version: i64,
    /// Its text.
    pub text: String,
}

/// `textDocument/didChange`'s params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidChangeTextDocumentParams {
    /// The document and its version after the changes.
    pub text_document: VersionedTextDocumentIdentifier,
    /// The changes, applied in order.
    pub content_changes: Vec<TextDocumentContentChangeEvent>,
}

/// A document and its version.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionedTextDocumentIdentifier {
    /// Its URI.
    pub uri: String,
    /// Its version.
    pub version: i64,
}

/// One change: the whole new text (full sync), or the text replacing `range`.
#[derive(Debug, Clone, Deserialize)]
pub struct TextDocumentContentChangeEvent {
    /// The range replaced; absent for the whole text.
    pub range: Option<Range>,
    /// The new text.
    pub text: String,
}

/// `textDocument/didClose`'s params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidCloseTextDocumentParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
}

/// A document.
#[derive(Debug, Clone, Deserialize)]
pub struct TextDocumentIdentifier {
    /// Its URI.
    pub uri: String,
}

/// `textDocument/hover`'s params.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoverParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// Where the cursor is.
    pub position: Position,
}

/// A place in a document: a line, and a character offset in UTF-16 code units, both from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Position {
    /// The line.
    pub line: u32,
    /// The offset in the line, in UTF-16 code units.
    pub character: u32,
}

/// A span of a document, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Range {
    /// Where it starts.
    pub start: Position,
    /// Where it ends.
    pub end: Position,
}

/// The answer to `textDocument/hover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hover {
    /// What to show.
    pub contents: MarkupContent,
}

/// Text to show, and how it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkupContent {
    /// `plaintext` here.
    pub kind: String,
    /// The text.
    pub value: String,
}

/// `example/slow`'s params.
#[derive(Debug, Clone, Deserialize)]
pub struct SlowParams {
    /// How long to wait, in milliseconds (at most [`MAX_SLOW_MS`]).
    pub ms: u64,
}

/// `window/logMessage`'s params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogMessageParams {
    /// 1 error, 2 warning, 3 info, 4 log.
    #[serde(rename = "type")]
    pub kind: u8,
    /// The message.
    pub message: String,
}

/// `workspace/configuration`'s params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationParams {
    /// What is asked.
    pub items: Vec<ConfigurationItem>,
}

/// One setting asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigurationItem {
    /// The settings' section.
    pub section: String,
}

/// LSP's `MessageType.Error`.
pub const MESSAGE_ERROR: u8 = 1;
/// LSP's `MessageType.Warning`.
pub const MESSAGE_WARNING: u8 = 2;
/// LSP's `MessageType.Info`.
pub const MESSAGE_INFO: u8 = 3;

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

/// The byte offset in `text` of `position`, clamped: a line past the last is the end of the
/// text, a character past its line's end is the line's end, and one inside a character that
/// takes two UTF-16 units is that character's start. Lines end at `\n`, `\r\n` or `\r`.
pub fn offset(text: &str, position: Position) -> usize {
    let bytes = text.as_bytes();
    let mut start = 0;
    for _ in 0..position.line {
        match bytes[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            Some(at) => {
                let at = start + at;
                start = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                    at + 2
                } else {
                    at + 1
                };
            }
            None => return text.len(),
        }
    }
    let line = &text[start..];
    let line = &line[..line.find(['\n', '\r']).unwrap_or(line.len())];
    let mut units = 0;
    for (at, c) in line.char_indices() {
        units += c.len_utf16();
        if units > position.character as usize {
            return start + at;
        }
    }
    start + line.len()
}

/// The word (letters, digits, `_`) at `position`, or just before it (a cursor at a word's
/// end is on it); `None` elsewhere.
pub fn word_at(text: &str, position: Position) -> Option<&str> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let at = offset(text, position);
    let on = text[at..].chars().next().is_some_and(is_word);
    let before = text[..at].chars().next_back().is_some_and(is_word);
    if !on && !before {
        return None;
    }
    let start = text[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(at, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(text.len(), |(i, _)| at + i);
    Some(&text[start..end])
}

/// How the program serving the endpoint learns that `exit` came, and with which status.
///
/// LSP's `exit` is a notification that ends the server's process. A method cannot close the
/// connection it is served on, nor end the process without losing answers still on their way
/// (a request the editor sent just before may not be answered yet). So the server tells the
/// program, and the program ends the connection's *input* there: [`Exit::ends`] wraps the
/// reader so that it reaches its end once `exit` came. The connection then finishes as at the
/// end of any input, answering the calls in flight and flushing them, and
/// [`serve_stream`](rpc_server::RpcService::serve_stream) returns; the program ends the
/// process with [`Exit::status`].
#[derive(Clone)]
pub struct Exit(tokio::sync::watch::Receiver<Option<i32>>);

impl Exit {
    /// Waits for `exit`; if the endpoint is dropped without it, waits for ever.
    pub async fn requested(&self) {
        let mut exit = self.0.clone();
        if exit.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The status to exit with: after `exit`, 0 if `shutdown` came first and 1 otherwise, as
    /// LSP says; 1 if `exit` never came (the input ended without it).
    pub fn status(&self) -> i32 {
        self.0.borrow().unwrap_or(1)
    }

    /// `reader`, ending (read returns 0 bytes) once `exit` has come.
    pub fn ends<R: tokio::io::AsyncRead + Unpin>(&self, reader: R) -> UntilExit<R> {
        let exit = self.clone();
        UntilExit {
            reader,
            exit: Some(Box::pin(async move { exit.requested().await })),
        }
    }
}

/// A reader that ends once `exit` came: see [`Exit::ends`].
pub struct UntilExit<R> {
    reader: R,
    /// Until `exit` came: a finished future may not be polled again.
    exit: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for UntilExit<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Polled first, so that it wakes this reader when `exit` comes while it waits for input.
        let exited = match &mut self.exit {
            None => true,
            Some(exit) => exit.as_mut().poll(cx).is_ready(),
        };
        if exited {
            self.exit = None;
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.reader).poll_read(cx, buf)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn positions_count_utf16_units_and_clamp() {
        let text = "ab\r\ncd\n\u{1F600}x\re";
        assert_eq!(offset(text, at(0, 1)), 1);
        assert_eq!(offset(text, at(0, 99)), 2);
        assert_eq!(offset(text, at(1, 0)), 4);
        // The emoji takes two UTF-16 units: its middle is its start.
        assert_eq!(offset(text, at(2, 1)), 7);
        assert_eq!(offset(text, at(2, 2)), 11);
        assert_eq!(offset(text, at(3, 0)), 13);
        assert_eq!(offset(text, at(9, 9)), text.len());
    }

    #[test]
    fn the_word_under_the_cursor() {
        let text = "let answer = 42;\n  héllo_wörld!";
        assert_eq!(word_at(text, at(0, 5)), Some("answer"));
        assert_eq!(word_at(text, at(0, 10)), Some("answer"));
        assert_eq!(word_at(text, at(0, 11)), None);
        assert_eq!(word_at(text, at(0, 13)), Some("42"));
        assert_eq!(word_at(text, at(1, 4)), Some("héllo_wörld"));
        assert_eq!(word_at(text, at(1, 0)), None);
        assert_eq!(word_at(text, at(7, 0)), None);
        assert_eq!(word_at("word", at(7, 0)), Some("word"));
        assert_eq!(word_at("", at(0, 0)), None);
    }
}
