//! The LSP messages this server reads and writes: each a struct with the protocol's camelCase
//! keys, holding only what the server uses (every other key a client sends is ignored).

use serde::{Deserialize, Serialize};

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
    /// How long to wait, in milliseconds (at most [`MAX_SLOW_MS`](super::MAX_SLOW_MS)).
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
