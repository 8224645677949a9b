"""pygls's `LanguageClient` (PyPI `pygls`) against our `lsp` example over stdio: it starts the
binary as a child process, initializes it (checking the capabilities), answers the server's
`workspace/configuration` request and collects its `window/logMessage` notifications, opens a
document and changes it many times (full text) before a hover that must see the latest text,
cancels a running `example/slow` with `$/cancelRequest` (the call must end at once, -32800,
while a later hover is still answered), then shuts the server down and checks that `exit`
ends it with status 0.

pygls 2 does not send `$/cancelRequest` when the future of a request is cancelled: the future
is only dropped, and the server's late answer is refused by pygls itself. A check here shows
it; the cancellation is sent with the client's own `cancel_request`.

Usage: lsp_pygls.py LSP_BINARY

The LSP work (framing, the lifecycle messages, ids, serving the server's requests) is left to
pygls and lsprotocol; this script only checks what they hand back, prints one line per check,
and exits with status 1 if any failed.
"""

import asyncio
import json
import logging
import os
import sys
import time
from importlib.metadata import version

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.client import LanguageClient

from checks import CheckFailed, Checks, expect, expect_eq

# No step may hang the test: the Rust side kills us after a minute, this fails sooner.
TIMEOUT_SECONDS = 10
URI = "file:///work/pygls/notes.txt"
CHANGES = 50
SETTINGS = [{"greeting": "hi", "colours": ["red", "green"]}]


def text(n):
    """The text of version `n`: its second line holds `word{n}` from character 4."""
    return f"the first line\nlet word{n} = {n};\n"


class Client(LanguageClient):
    """pygls's client, remembering how the server process ended and what pygls reported."""

    def __init__(self):
        super().__init__("lsp_pygls.py", "1")
        self.returncode = None
        self.errors = []

    async def server_exit(self, server):
        self.returncode = server.returncode

    def report_server_error(self, error, source):
        self.errors.append(f"{source.__name__}: {error!r}")


class Wire:
    """Stands between pygls and the server's stdin, keeping every message pygls writes."""

    def __init__(self, writer):
        self.writer = writer
        self.sent = []

    def write(self, data):
        self.sent.append(data.decode("utf-8"))
        return self.writer.write(data)

    def methods_sent(self):
        methods = []
        for framed in self.sent:
            body = framed.split("\r\n\r\n", 1)[-1]
            methods.append(json.loads(body).get("method"))
        return methods


async def run(checks, name, check):
    """Awaits `check()` and reports it through `checks`, one line, as the other scripts do."""
    try:
        detail = await asyncio.wait_for(check(), TIMEOUT_SECONDS)
    except Exception as e:  # pylint: disable=broad-except
        failure = e

        def outcome():
            raise failure

    else:

        def outcome():
            return detail

    checks.run(name, outcome)


async def logged(log, predicate, what):
    """Waits for a `window/logMessage` satisfying `predicate` and returns it."""
    deadline = time.monotonic() + TIMEOUT_SECONDS / 2
    while time.monotonic() < deadline:
        for message in log:
            if predicate(message):
                return message
        await asyncio.sleep(0.01)
    raise CheckFailed(f"no window/logMessage {what}: got {[m.message for m in log]!r}")


def hover_params(line, character):
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=URI),
        position=types.Position(line=line, character=character),
    )


async def session(checks, binary):
    client = Client()
    log = []
    configuration_asked = []

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params):
        log.append(params)

    @client.feature(types.WORKSPACE_CONFIGURATION)
    def configuration(params):
        configuration_asked.append([item.section for item in params.items])
        return SETTINGS

    await client.start_io(binary)
    wire = Wire(client.protocol.writer)
    client.protocol.set_writer(wire)

    async def initialize():
        result = await client.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(),
                client_info=types.ClientInfo(name="lsp_pygls.py", version="1"),
                capabilities=types.ClientCapabilities(
                    workspace=types.WorkspaceClientCapabilities(configuration=True),
                ),
            )
        )
        capabilities = result.capabilities
        # lsprotocol leaves the union TextDocumentSyncOptions | TextDocumentSyncKind a plain 1.
        expect(
            capabilities.text_document_sync == types.TextDocumentSyncKind.Full,
            f"textDocumentSync: expected Full (1), got {capabilities.text_document_sync!r}",
        )
        expect_eq(capabilities.hover_provider, True, "hoverProvider")
        expect_eq(result.server_info.name, "rpc-examples-lsp", "serverInfo.name")
        return f"{result.server_info.name} {result.server_info.version}: full sync, hover"

    await run(checks, "initialize: capabilities and serverInfo", initialize)

    async def configuration_round_trip():
        client.initialized(types.InitializedParams())
        message = await logged(log, lambda m: m.message.startswith("configuration: "), "with the configuration")
        expect_eq(configuration_asked, [["example"]], "sections asked")
        expect_eq(message.type, types.MessageType.Info, "message type")
        answer = json.loads(message.message.removeprefix("configuration: "))
        expect_eq(answer, SETTINGS, "the configuration the server got")
        return message.message

    await run(
        checks,
        "initialized: the server asks workspace/configuration and logs the answer",
        configuration_round_trip,
    )

    async def open_logged():
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=URI, language_id="plaintext", version=0, text=text(0))
            )
        )
        message = await logged(log, lambda m: URI in m.message, "about the open document")
        expect("opened" in message.message, f"not about opening: {message.message!r}")
        return message.message

    await run(checks, "didOpen: logged to the client with window/logMessage", open_logged)

    async def hover_after_changes():
        for n in range(1, CHANGES + 1):
            client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=n),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text(n))],
                )
            )
        hover = await client.text_document_hover_async(hover_params(1, 6))
        expect(hover is not None, "no hover")
        expect_eq(hover.contents.kind, types.MarkupKind.PlainText, "contents.kind")
        expect_eq(hover.contents.value, f"word{CHANGES}", "the hovered word")
        nothing = await client.text_document_hover_async(hover_params(1, 11))
        expect_eq(nothing, None, "a hover off any word")
        return f"{CHANGES} didChange then hover: {hover.contents.value!r}"

    await run(checks, "didChange (full text) in order, then hover on the latest text", hover_after_changes)

    async def cancel_request():
        started = time.monotonic()
        slow = client.protocol.send_request_async("example/slow", {"ms": 5000}, msg_id="slow")
        await asyncio.sleep(0.1)
        client.cancel_request(types.CancelParams(id="slow"))
        expect_eq(wire.methods_sent()[-1], "$/cancelRequest", "the last method pygls wrote")
        try:
            result = await slow
        except JsonRpcException as e:
            expect_eq(e.code, -32800, "error code")
        else:
            raise CheckFailed(f"the cancelled call answered {result!r}")
        elapsed = time.monotonic() - started
        expect(elapsed < 2, f"the cancelled call ended after {elapsed:.1f} s")
        hover = await client.text_document_hover_async(hover_params(1, 4))
        expect_eq(hover.contents.value, f"word{CHANGES}", "a later hover")
        return f"-32800 after {elapsed:.2f} s; a later hover answered"

    await run(checks, "$/cancelRequest stops example/slow", cancel_request)

    async def cancelled_future_sends_nothing():
        # pygls's futures: cancelling one drops it on the client's side only.
        before = len(wire.sent)
        slow = client.protocol.send_request_async("example/slow", {"ms": 300}, msg_id="dropped")
        await asyncio.sleep(0.05)
        slow.cancel()
        await asyncio.sleep(0.1)
        sent = wire.methods_sent()[before:]
        expect_eq(sent, ["example/slow"], "methods pygls wrote")
        # The server, not told, answers after 300 ms; pygls refuses the answer of a cancelled
        # future (it reports an InvalidStateError, which its logger would print with a
        # traceback: the check's line says it instead), and goes on.
        pygls_log = logging.getLogger("pygls.client")
        level = pygls_log.level
        pygls_log.setLevel(logging.CRITICAL)
        try:
            await asyncio.sleep(0.5)
        finally:
            pygls_log.setLevel(level)
        expect(len(client.errors) <= 1, f"pygls reported {client.errors!r}")
        hover = await client.text_document_hover_async(hover_params(1, 4))
        expect_eq(hover.contents.value, f"word{CHANGES}", "a later hover")
        return "no $/cancelRequest from a cancelled future; " + (
            f"the late answer was refused by pygls: {client.errors[0]}" if client.errors else "the late answer was dropped"
        )

    await run(checks, "a cancelled pygls future sends no $/cancelRequest", cancelled_future_sends_nothing)

    async def shutdown_exit():
        result = await client.shutdown_async(None)
        expect_eq(result, None, "shutdown's result")
        client.exit(None)
        await client.stop()
        expect_eq(client.returncode, 0, "the server's exit status")
        return "exit status 0"

    await run(checks, "shutdown then exit: status 0", shutdown_exit)


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} LSP_BINARY", file=sys.stderr)
        sys.exit(2)
    binary = sys.argv[1]
    print(f"lsp example at {binary}; pygls {version('pygls')}, lsprotocol {version('lsprotocol')}", flush=True)
    checks = Checks("pygls")
    asyncio.run(asyncio.wait_for(session(checks, binary), timeout=50))
    checks.finish()


if __name__ == "__main__":
    main()
