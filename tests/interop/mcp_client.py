"""The official MCP Python SDK (PyPI `mcp`) against our `mcp` example over stdio: its
`stdio_client` starts the binary as a child process and its `ClientSession` does the handshake,
lists the tools (checking each input schema's properties), calls `add` and `echo`, gets the
errors MCP defines, pings, and gives up on a `sleep` after a short timeout, which makes the SDK
send `notifications/cancelled`: the server must stop that sleep (it is never counted, and never
answered) and still answer the next call.

Usage: mcp_client.py MCP_BINARY

The MCP work (framing, the handshake, requests, cancellation) is left to the SDK; this script
only checks what it hands back, prints one line per check, and exits with status 1 if any failed.
"""

import asyncio
import logging
import sys
from importlib.metadata import version

from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

from checks import CheckFailed, Checks, expect, expect_eq

# No call may hang the test: the Rust side kills us after a minute, this fails sooner.
TIMEOUT_SECONDS = 10
# The sleep the client gives up on, and how long it waits for it.
LONG_SLEEP_MS = 1500
GIVE_UP_AFTER_SECONDS = 0.3


class DroppedAnswers(logging.Handler):
    """Counts the answers the SDK's dispatcher received for requests it no longer waits for (it
    logs each at debug level and drops it): a cancelled call must get none."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.late = []

    def emit(self, record):
        message = record.getMessage()
        if "unknown/late request id" in message:
            self.late.append(message)


async def run(checks, name, check):
    """Awaits `check()` and reports it through `checks`, one line, as the other scripts do."""
    try:
        detail = await check()
    except Exception as e:  # pylint: disable=broad-except
        failure = e

        def outcome():
            raise failure

    else:

        def outcome():
            return detail

    checks.run(name, outcome)


def text_of(result):
    """The text of a tool result holding exactly one text item."""
    expect_eq(len(result.content), 1, "number of content items")
    item = result.content[0]
    expect_eq(item.type, "text", "content type")
    return item.text


async def session_checks(checks, binary, dropped):
    server = StdioServerParameters(command=binary)
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT_SECONDS) as session:

            async def initialize():
                result = await session.initialize()
                expect_eq(result.protocol_version, "2025-11-25", "negotiated protocol version")
                expect_eq(result.server_info.name, "rpc-examples-mcp", "serverInfo.name")
                expect(result.capabilities.tools is not None, "the tools capability is missing")
                return f"{result.server_info.name} {result.server_info.version}, {result.protocol_version}"

            await run(checks, "initialize (then notifications/initialized)", initialize)

            async def list_tools():
                listed = await session.list_tools()
                tools = {tool.name: tool for tool in listed.tools}
                expect_eq(sorted(tools), ["add", "echo", "sleep"], "tool names")
                expected = {
                    "add": {"a": "integer", "b": "integer"},
                    "echo": {"text": "string"},
                    "sleep": {"ms": "integer"},
                }
                for name, properties in expected.items():
                    schema = tools[name].input_schema
                    expect_eq(schema.get("type"), "object", f"{name}: inputSchema type")
                    types = {key: value.get("type") for key, value in schema["properties"].items()}
                    expect_eq(types, properties, f"{name}: inputSchema properties")
                    expect_eq(sorted(schema.get("required", [])), sorted(properties), f"{name}: required")
                    expect(tools[name].description, f"{name} has no description")
                return ", ".join(f"{name}{sorted(p)}" for name, p in expected.items())

            await run(checks, "tools/list: names and input schemas", list_tools)

            async def add():
                result = await session.call_tool("add", {"a": 2, "b": 3})
                expect_eq(result.is_error, False, "isError")
                expect_eq(text_of(result), "5", "add(2, 3)")
                return "add(2, 3) = 5"

            await run(checks, "tools/call add", add)

            async def echo():
                text = "h\u00e9llo \U0001F600, MCP"
                result = await session.call_tool("echo", {"text": text})
                expect_eq(result.is_error, False, "isError")
                expect_eq(text_of(result), text, "echo")

            await run(checks, "tools/call echo", echo)

            async def bad_arguments():
                result = await session.call_tool("add", {"a": 2, "b": "three"})
                expect_eq(result.is_error, True, "isError")
                return text_of(result)

            await run(checks, "tools/call with bad arguments: a result with isError", bad_arguments)

            async def unknown_tool():
                try:
                    await session.call_tool("nope", {})
                except MCPError as e:
                    expect_eq(e.code, -32602, "error code")
                    expect("nope" in e.message, f"the message does not name the tool: {e.message!r}")
                    return f"{e.code} {e.message!r}"
                raise CheckFailed("an unknown tool was called without an error")

            await run(checks, "tools/call of an unknown tool: a JSON-RPC error", unknown_tool)

            async def ping():
                await session.send_ping()

            await run(checks, "ping", ping)

            async def cancellation():
                # The SDK gives up after GIVE_UP_AFTER_SECONDS and sends notifications/cancelled.
                try:
                    await session.call_tool(
                        "sleep", {"ms": LONG_SLEEP_MS}, read_timeout_seconds=GIVE_UP_AFTER_SECONDS
                    )
                except MCPError as e:
                    expect("timed out" in e.message, f"not a timeout: {e.code} {e.message!r}")
                else:
                    raise CheckFailed(f"a {LONG_SLEEP_MS} ms sleep returned within {GIVE_UP_AFTER_SECONDS} s")
                # Past the cancelled sleep's end: had it run on, it would have counted itself.
                await asyncio.sleep(LONG_SLEEP_MS / 1000 + 0.5)
                result = await session.call_tool("sleep", {"ms": 0})
                expect_eq(result.is_error, False, "isError")
                expect_eq(text_of(result), "1", "sleeps finished, the cancelled one left out")
                expect_eq(dropped.late, [], "answers to the cancelled call")
                return "the cancelled sleep never finished nor was answered; the next call was"

            await run(checks, "notifications/cancelled stops a running call", cancellation)


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} MCP_BINARY", file=sys.stderr)
        sys.exit(2)
    binary = sys.argv[1]
    print(f"mcp example at {binary}; mcp {version('mcp')}", flush=True)
    dropped = DroppedAnswers()
    dispatcher_log = logging.getLogger("mcp.shared.jsonrpc_dispatcher")
    dispatcher_log.addHandler(dropped)
    dispatcher_log.setLevel(logging.DEBUG)
    checks = Checks("mcp")
    asyncio.run(asyncio.wait_for(session_checks(checks, binary, dropped), timeout=50))
    checks.finish()


if __name__ == "__main__":
    main()
