"""A server written with python-lsp-jsonrpc (the JSON-RPC layer of the Python language server),
on its own standard input and output with Content-Length framing: the child process our
client starts in tests/tests/interop_python.rs. It answers `add` (positional params), `echo`
(anything), an error for `fail`, and method-not-found for the rest; it logs to stderr, which
our client passes to tracing, and ends at the end of its input.
"""

import sys

from pylsp_jsonrpc.endpoint import Endpoint
from pylsp_jsonrpc.exceptions import JsonRpcException
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter


def fail(_params):
    raise JsonRpcException(code=-32050, message="failed on purpose", data={"why": "asked"})


def main():
    reader = JsonRpcStreamReader(sys.stdin.buffer)
    writer = JsonRpcStreamWriter(sys.stdout.buffer)
    dispatcher = {
        "add": lambda params: params[0] + params[1],
        "echo": lambda params: params,
        "fail": fail,
    }
    endpoint = Endpoint(dispatcher, writer.write, max_workers=2)
    print("lsp_server: ready", file=sys.stderr, flush=True)
    reader.listen(endpoint.consume)
    print("lsp_server: end of input", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
