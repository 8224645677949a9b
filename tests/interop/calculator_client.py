"""Calls the calculator service with two independent Python clients, typed errors above all.

Usage: calculator_client.py URL   (for example http://127.0.0.1:7001/rpc)

The calculator's `quadratic` fails with an application error (code 1001) whose `data` names the
Rust error variant: both clients must hand back its code, message and data intact.

Prints one line per check and exits with status 1 if any failed.
"""

import json

import jsonrpclib
from jsonrpcclient import Error, Ok, parse_json, request
from jsonrpclib.jsonrpc import AppError, MultiCall, ProtocolError

from checks import (
    CheckFailed,
    error_of,
    expect_eq,
    expect_invalid_params,
    ok_result,
    post_expecting_answer,
    run_script,
)

I64_MAX = 2**63 - 1
NO_REAL_ROOTS_MESSAGE = "math domain error: no real roots (discriminant -4)"
NO_REAL_ROOTS_DATA = {"NoRealRoots": {"discriminant": -4.0}}


# --- jsonrpcclient: the library builds the requests and parses the answers ------------------


def jsonrpcclient_checks(checks, url):
    @checks.check("jsonrpcclient: variadic add_together")
    def add_together():
        req = request("add_together", params=(1, 2, 3))
        expect_eq(ok_result(url, req), 6, "add_together(1, 2, 3)")
        expect_eq(ok_result(url, request("add_together")), 0, "add_together()")

    @checks.check("jsonrpcclient: quadratic, positional and named")
    def quadratic():
        req = request("quadratic", params=(1, -3, 2))
        expect_eq(ok_result(url, req), [1.0, 2.0], "quadratic(1, -3, 2)")
        req = request("quadratic", params={"c": 1.0, "b": 2.0, "a": 1.0})
        expect_eq(ok_result(url, req), [-1.0], "quadratic(a=1, b=2, c=1)")

    @checks.check("jsonrpcclient: typed error (code/message/data)")
    def typed_error():
        err = error_of(url, request("quadratic", params=(1, 0, 1)))
        expect_eq(err.code, 1001, "error code")
        expect_eq(err.message, NO_REAL_ROOTS_MESSAGE, "error message")
        expect_eq(err.data, NO_REAL_ROOTS_DATA, "error data")
        return f"{err.code} {err.message!r} {err.data!r}"

    @checks.check("jsonrpcclient: other typed errors")
    def other_typed_errors():
        err = error_of(url, request("quadratic", params={"a": 0, "b": 1, "c": 1}))
        expect_eq((err.code, err.data), (1001, "NotQuadratic"), "(code, data) of quadratic(a=0)")
        err = error_of(url, request("add_together", params=(I64_MAX, 1)))
        expect_eq(
            (err.code, err.message, err.data), (1002, "overflow", "Overflow"), "overflow error"
        )

    @checks.check("jsonrpcclient: JSON values round-trip")
    def json_values():
        value = [1, "two", 3.5, None, {"nested": [True, False]}, "h\u00e9llo \U0001F600"]
        req = request("remote_repr", params=(value,))
        expect_eq(ok_result(url, req), value, "remote_repr(positional)")
        req = request("remote_repr", params={"value": value})
        expect_eq(ok_result(url, req), value, "remote_repr(named)")
        things = ("abc", "h\u00e9llo \U0001F600", [1, 2], {"a": 1}, 5, None)
        req = request("lengths", params=things)
        expect_eq(ok_result(url, req), [3, 7, 2, 1, None, None], "lengths")

    @checks.check("jsonrpcclient: invalid params")
    def invalid_params():
        cases = [
            ("a missing param", ("quadratic", (1, 2))),
            ("a param of the wrong type", ("quadratic", ("one", 0, 1))),
            ("an unknown named param", ("quadratic", {"a": 1, "b": 0, "c": 1, "d": 0})),
            ("a variadic param of the wrong type", ("add_together", (1, "two"))),
        ]
        return expect_invalid_params(url, cases)

    @checks.check("jsonrpcclient: method not found")
    def method_not_found():
        err = error_of(url, request("subtract", params=(42, 23)))
        expect_eq(err.code, -32601, "error code of a method of another service")
        return f"{err.code} {err.message!r}"

    @checks.check("jsonrpcclient: batch with a typed error")
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

    @checks.check("jsonrpclib-pelix: calls")
    def calls():
        expect_eq(proxy.add_together(1, 2, 3), 6, "add_together(1, 2, 3)")
        expect_eq(proxy.quadratic(1, -3, 2), [1.0, 2.0], "quadratic(1, -3, 2)")
        expect_eq(proxy.quadratic(a=1, b=2, c=1), [-1.0], "quadratic(a=1, b=2, c=1)")
        value = [1, "two", 3.5, None, "h\u00e9llo \U0001F600"]
        expect_eq(proxy.remote_repr(value), value, "remote_repr")

    @checks.check("jsonrpclib-pelix: typed error (AppError code/message/data)")
    def typed_error():
        code, message, data = app_error(lambda: proxy.quadratic(1, 0, 1))
        expect_eq(code, 1001, "error code")
        expect_eq(message, NO_REAL_ROOTS_MESSAGE, "error message")
        expect_eq(data, NO_REAL_ROOTS_DATA, "error data")
        return f"{code} {message!r} {data!r}"

    @checks.check("jsonrpclib-pelix: MultiCall batch with a typed error")
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


if __name__ == "__main__":
    run_script("calculator", jsonrpcclient_checks, jsonrpclib_checks)
