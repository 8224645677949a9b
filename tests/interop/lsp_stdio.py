"""python-lsp-jsonrpc (the JSON-RPC layer of the Python language server) against our server
over a child process's stdin and stdout, framed with Content-Length headers as LSP frames them:
calls through its Endpoint (positional and named params), a typed error, a notification, and
the end of input ending the server with status 0. One line per check; exits non-zero on any
failure.

Usage: lsp_stdio.py CALCULATOR_BINARY
"""

import subprocess
import sys
import threading

from pylsp_jsonrpc.endpoint import Endpoint
from pylsp_jsonrpc.exceptions import JsonRpcException
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter


def main(binary):
    server = subprocess.Popen(
        [binary, "--stdio", "content-length"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    writer = JsonRpcStreamWriter(server.stdin)
    reader = JsonRpcStreamReader(server.stdout)
    endpoint = Endpoint({}, writer.write)
    listening = threading.Thread(target=reader.listen, args=(endpoint.consume,), daemon=True)
    listening.start()

    total = endpoint.request("add_together", [1, 2, 3, 4]).result(timeout=10)
    assert total == 10, total
    print("call by position: add_together(1, 2, 3, 4) = 10")
    roots = endpoint.request("quadratic", {"a": 1, "b": -3, "c": 2}).result(timeout=10)
    assert roots == [1.0, 2.0], roots
    print("call by name: quadratic(a=1, b=-3, c=2) = [1.0, 2.0]")
    try:
        endpoint.request("quadratic", [1, 0, 1]).result(timeout=10)
        raise AssertionError("quadratic(1, 0, 1) succeeded")
    except JsonRpcException as e:
        assert e.code not in (-32600, -32601, -32602, -32603, -32700), e.code
        print(f"typed error: quadratic(1, 0, 1) failed with code {e.code}: {e.message}")
    endpoint.notify("add_together", [1])
    after = endpoint.request("add_together", [5]).result(timeout=10)
    assert after == 5, after
    print("a notification, then a call still answered")

    server.stdin.close()
    status = server.wait(timeout=10)
    assert status == 0, status
    print("the end of input ended the server with status 0")


if __name__ == "__main__":
    main(sys.argv[1])
