"""Calls the calculator service with two independent Python clients, typed errors above all.

Usage: calculator_client.py URL   (for example http://127.0.0.1:7001/rpc)

The calculator's `quadratic` fails with an application error (code 1001) whose `data` names the
Rust error variant: both clients must hand back its code, message and data intact.

Prints one line per check and exits with status 1 if any failed.
"""

import json
import sys
from importlib.metadata import version

import jsonrpclib
from jsonrpcclient import Error, Ok, parse_json, request
from jsonrpclib.jsonrpc import AppError, MultiCall, ProtocolError

from checks import (
    Checks,
    CheckFailed,
    expect,
    expect_eq,
    post_expecting_answer,
    require_server,
)

I64_MAX = 2**63 - 1
NO_REAL_ROOTS_MESSAGE = "math domain error: no real roots (discriminant -4)"
NO_REAL_ROOTS_DATA = {"NoRealRoots": {"discriminant": -4.0}}


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} URL", file=sys.stderr)
        sys.exit(2)
    url = sys.argv[1]
    print(
        f"calculator service at {url}; jsonrpcclient {version('jsonrpcclient')}, "
        f"jsonrpclib-pelix {version('jsonrpclib-pelix')}",
        flush=True,
    )
    require_server(url, "calculator")
    checks = Checks("calculator")
    jsonrpcclient_checks(checks, url)
    jsonrpclib_checks(checks, url)
    checks.finish()


# --- jsonrpcclient: the library builds the requests and parses the answers ------------------


def call(url, req):
    """Sends one request built by jsonrpcclient and parses the answer with it."""
    response = parse_json(post_expecting_answer(url, json.dumps(req)))
    expect(
        isinstance(response, (Ok, Error)),
        f"a single request got {response!r}, not one response",
    )
    expect_eq(response.id, req["id"], "the response's id")
    return response


def ok_result(url, req):
    response = call(url, req)
    if isinstance(response, Error):
        raise CheckFailed(f"{req['method']} failed: {response!r}")
    return response.result


def error_of(url, req):
    response = call(url, req)
    if isinstance(response, Ok):
        raise CheckFailed(f"{req['method']} should fail, but returned {response.result!r}")
    return response


def jsonrpcclient_checks(checks, url):
    def add_together():
        req = request("add_together", params=(1, 2, 3))
        expect_eq(ok_result(url, req), 6, "add_together(1, 2, 3)")
        expect_eq(ok_result(url, request("add_together")), 0, "add_together()")

    def quadratic():
        req = request("quadratic", params=(1, -3, 2))
        expect_eq(ok_result(url, req), [1.0, 2.0], "quadratic(1, -3, 2)")
        req = request("quadratic", params={"c": 1.0, "b": 2.0, "a": 1.0})
        expect_eq(ok_result(url, req), [-1.0], "quadratic(a=1, b=2, c=1)")

    def typed_error():
        err = error_of(url, request("quadratic", params=(1, 0, 1)))
        expect_eq(err.code, 1001, "error code")
        expect_eq(err.message, NO_REAL_ROOTS_MESSAGE, "error message")
        expect_eq(err.data, NO_REAL_ROOTS_DATA, "error data")
        return f"{err.code} {err.message!r} {err.data!r}"

    def other_typed_errors():
        err = error_of(url, request("quadratic", params={"a": 0, "b": 1, "c": 1}))
        expect_eq((err.code, err.data), (1001, "NotQuadratic"), "(code, data) of quadratic(a=0)")
        err = error_of(url, request("add_together", params=(I64_MAX, 1)))
        expect_eq(
            (err.code, err.message, err.data), (1002, "overflow", "Overflow"), "overflow error"
        )

    def json_values():
        value = [1, "two", 3.5, None, {"nested": [True, False]}, "h\u00e9llo \U0001F600"]
        req = request("remote_repr", params=(value,))
        expect_eq(ok_result(url, req), value, "remote_repr(positional)")
        req = request("remote_repr", params={"value": value})
        expect_eq(ok_result(url, req), value, "remote_repr(named)")
        things = ("abc", "h\u00e9llo \U0001F600", [1, 2], {"a": 1}, 5, None)
        req = request("lengths", params=things)
        expect_eq(ok_result(url, req), [3, 7, 2, 1, None, None], "lengths")

    def invalid_params():
        cases = [
            ("a missing param", ("quadratic", (1, 2))),
            ("a param of the wrong type", ("quadratic", ("one", 0, 1))),
            ("an unknown named param", ("quadratic", {"a": 1, "b": 0, "c": 1, "d": 0})),
            ("a variadic param of the wrong type", ("add_together", (1, "two"))),
        ]
        for what, (method, params) in cases:
            err = error_of(url, request(method, params=params))
            expect_eq(err.code, -32602, f"error code for {what}")
        return f"{len(cases)} cases, each -32602"

    def method_not_found():
        err = error_of(url, request("subtract", params=(42, 23)))
        expect_eq(err.code, -32601, "error code of a method of another service")
        return f"{err.code} {err.message!r}"

    def batch():
        good = request("quadratic", params=(1, -3, 2))
        bad = request("quadratic", params=(1, 0, 1))
        add = request("add_together", params=(40, 2))
        responses = list(parse_json(post_expecting_answer(url, json.dumps([good, bad, add]))))
        by_id = {r.id: r for r in responses}
        expect_eq(len(by_id), 3, "number of distinct responses")
        expect_eq(by_id[good["id"]], Ok([1.0, 2.0], good["id"]), "quadratic(1, -3, 2) in the batch")
        expect_eq(
            by_id[bad["id"]],
            Error(1001, NO_REAL_ROOTS_MESSAGE, NO_REAL_ROOTS_DATA, bad["id"]),
            "quadratic(1, 0, 1) in the batch",
        )
        expect_eq(by_id[add["id"]], Ok(42, add["id"]), "add_together(40, 2) in the batch")

    checks.run("jsonrpcclient: variadic add_together", add_together)
    checks.run("jsonrpcclient: quadratic, positional and named", quadratic)
    checks.run("jsonrpcclient: typed error (code/message/data)", typed_error)
    checks.run("jsonrpcclient: other typed errors", other_typed_errors)
    checks.run("jsonrpcclient: JSON values round-trip", json_values)
    checks.run("jsonrpcclient: invalid params", invalid_params)
    checks.run("jsonrpcclient: method not found", method_not_found)
    checks.run("jsonrpcclient: batch with a typed error", batch)


# --- jsonrpclib-pelix: a ServerProxy that does the whole exchange itself ---------------------


def app_error(call_it):
    """Runs `call_it()`, which must raise jsonrpclib's AppError; returns (code, message, data)."""
    try:
        result = call_it()
    except AppError as e:
        return e.args[0]
    except ProtocolError as e:
        raise CheckFailed(f"expected an AppError, got the ProtocolError {e.args!r}") from e
    raise CheckFailed(f"expected an AppError, got the result {result!r}")


def jsonrpclib_checks(checks, url):
    proxy = jsonrpclib.ServerProxy(url)

    def calls():
        expect_eq(proxy.add_together(1, 2, 3), 6, "add_together(1, 2, 3)")
        expect_eq(proxy.quadratic(1, -3, 2), [1.0, 2.0], "quadratic(1, -3, 2)")
        expect_eq(proxy.quadratic(a=1, b=2, c=1), [-1.0], "quadratic(a=1, b=2, c=1)")
        value = [1, "two", 3.5, None, "h\u00e9llo \U0001F600"]
        expect_eq(proxy.remote_repr(value), value, "remote_repr")

    def typed_error():
        code, message, data = app_error(lambda: proxy.quadratic(1, 0, 1))
        expect_eq(code, 1001, "error code")
        expect_eq(message, NO_REAL_ROOTS_MESSAGE, "error message")
        expect_eq(data, NO_REAL_ROOTS_DATA, "error data")
        return f"{code} {message!r} {data!r}"

    def multicall():
        batch = MultiCall(proxy)
        batch.quadratic(1, -3, 2)
        batch.quadratic(a=1, b=0, c=1)
        batch.add_together(40, 2)
        results = batch()
        expect_eq(len(results), 3, "number of results")
        expect_eq(results[0], [1.0, 2.0], "quadratic(1, -3, 2) in the batch")
        expect_eq(
            app_error(lambda: results[1]),
            (1001, NO_REAL_ROOTS_MESSAGE, NO_REAL_ROOTS_DATA),
            "quadratic(1, 0, 1) in the batch",
        )
        expect_eq(results[2], 42, "add_together(40, 2) in the batch")

    checks.run("jsonrpclib-pelix: calls", calls)
    checks.run("jsonrpclib-pelix: typed error (AppError code/message/data)", typed_error)
    checks.run("jsonrpclib-pelix: MultiCall batch with a typed error", multicall)


if __name__ == "__main__":
    main()
