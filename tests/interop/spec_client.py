"""Calls the JSON-RPC specification's example service with two independent Python clients.

Usage: spec_client.py URL   (for example http://127.0.0.1:7002/rpc)

- jsonrpcclient builds every request (`request`, `notification`) and parses every answer
  (`parse_json`); checks.post only carries the bytes over HTTP.
- jsonrpclib-pelix is a ServerProxy-style client that does everything itself, batches included
  (MultiCall).

Prints one line per check and exits with status 1 if any failed.
"""

import json

import jsonrpclib
from jsonrpcclient import Error, Ok, notification, parse_json, request
from jsonrpclib.jsonrpc import MultiCall, ProtocolError

from checks import (
    CheckFailed,
    error_of as bare_error_of,
    expect,
    expect_eq,
    expect_invalid_params,
    ok_result,
    post_expecting_answer,
    post_expecting_silence,
    run_script,
)

I64_MIN = -(2**63)


# --- jsonrpcclient: the library builds the requests and parses the answers ------------------


def error_of(url, req):
    """The error of a request that must fail, whose message must be a non-empty string."""
    response = bare_error_of(url, req)
    expect(
        isinstance(response.message, str) and response.message,
        f"the error message should be a non-empty string, got {response.message!r}",
    )
    return response


def seen(url):
    """How many notifications the server has run."""
    count = ok_result(url, request("notifications_seen"))
    expect(isinstance(count, int), f"notifications_seen returned {count!r}")
    return count


def expect_seen(url, before, added, what):
    after = seen(url)
    expect(
        after == before + added,
        f"{what}: notifications_seen went from {before} to {after}, expected +{added}",
    )
    return f"notifications_seen {before} -> {after}"


def jsonrpcclient_checks(checks, url):
    @checks.check("jsonrpcclient: positional params")
    def positional():
        expect_eq(ok_result(url, request("subtract", params=(42, 23))), 19, "subtract(42, 23)")
        expect_eq(ok_result(url, request("subtract", params=(23, 42))), -19, "subtract(23, 42)")

    @checks.check("jsonrpcclient: named params")
    def named():
        req = request("subtract", params={"subtrahend": 23, "minuend": 42})
        expect_eq(ok_result(url, req), 19, "subtract(subtrahend=23, minuend=42)")
        req = request("subtract", params={"minuend": 23, "subtrahend": 42})
        expect_eq(ok_result(url, req), -19, "subtract(minuend=23, subtrahend=42)")

    @checks.check("jsonrpcclient: variadic params")
    def variadic():
        expect_eq(ok_result(url, request("sum", params=(1, 2, 4))), 7, "sum(1, 2, 4)")
        expect_eq(ok_result(url, request("sum")), 0, "sum() without params")

    @checks.check("jsonrpcclient: no params")
    def no_params():
        expect_eq(ok_result(url, request("get_data")), ["hello", 5], "get_data()")

    @checks.check("jsonrpcclient: string id")
    def string_id():
        req = request("subtract", params=(42, 23), id="abc-1")
        expect_eq(ok_result(url, req), 19, "subtract(42, 23) with a string id")

    @checks.check("jsonrpcclient: method's own error (code/message/data)")
    def method_error():
        err = error_of(url, request("subtract", params=(I64_MIN, 1)))
        expect_eq(err.code, -32000, "error code of an overflowing subtract")
        expect_eq(err.message, "integer overflow", "error message")
        expect_eq(err.data, None, "error data")
        return f"{err.code} {err.message!r}"

    @checks.check("jsonrpcclient: method not found")
    def method_not_found():
        err = error_of(url, request("foobar", params=(1,)))
        expect_eq(err.code, -32601, "error code of an unknown method")
        return f"{err.code} {err.message!r}"

    @checks.check("jsonrpcclient: invalid params")
    def invalid_params():
        cases = [
            ("a missing param", ("subtract", (1,))),
            ("too many params", ("subtract", (1, 2, 3))),
            ("a param of the wrong type", ("subtract", ("forty-two", 23))),
            ("a missing named param", ("subtract", {"minuend": 42})),
            ("a variadic param of the wrong type", ("sum", (1, "two"))),
            ("params to a method taking none", ("get_data", (1,))),
        ]
        return expect_invalid_params(url, cases, error_of)

    @checks.check("jsonrpcclient: notifications run, no answer")
    def notification_runs():
        before = seen(url)
        post_expecting_silence(url, json.dumps(notification("notify_hello", params=(7,))))
        post_expecting_silence(url, json.dumps(notification("update")))
        return expect_seen(url, before, 2, "notify_hello(7) and update()")

    @checks.check("jsonrpcclient: mixed batch")
    def batch():
        before = seen(url)
        sum_req = request("sum", params=(1, 2, 4))
        sub_req = request("subtract", params={"minuend": 42, "subtrahend": 23})
        missing = request("foo.get", params={"name": "myself"})
        bad = request("subtract", params=(1,))
        data_req = request("get_data")
        body = [
            sum_req,
            notification("notify_hello", params=(7,)),
            sub_req,
            missing,
            bad,
            data_req,
        ]
        responses = list(parse_json(post_expecting_answer(url, json.dumps(body))))
        expect_eq(len(responses), 5, "number of responses (the notification gets none)")
        by_id = {r.id: r for r in responses}
        expect_eq(len(by_id), 5, "number of distinct response ids")
        for req, expected in [(sum_req, 7), (sub_req, 19), (data_req, ["hello", 5])]:
            got = by_id.get(req["id"])
            expect(isinstance(got, Ok), f"{req['method']} in the batch: {got!r}")
            expect_eq(got.result, expected, f"{req['method']} in the batch")
        for req, code in [(missing, -32601), (bad, -32602)]:
            got = by_id.get(req["id"])
            expect(isinstance(got, Error), f"{req['method']} in the batch: {got!r}")
            expect_eq(got.code, code, f"error code of {req['method']} in the batch")
        return expect_seen(url, before, 1, "the batch's notification")

    @checks.check("jsonrpcclient: all-notification batch, no answer")
    def notification_batch():
        before = seen(url)
        body = [
            notification("notify_sum", params=(1, 2)),
            notification("update", params=("a", {"b": None})),
        ]
        post_expecting_silence(url, json.dumps(body))
        return expect_seen(url, before, 2, "an all-notification batch")


# --- jsonrpclib-pelix: a ServerProxy that does the whole exchange itself ---------------------


def protocol_error_code(call_it):
    """Runs `call_it()`, which must raise jsonrpclib's ProtocolError; returns (code, message)."""
    try:
        result = call_it()
    except ProtocolError as e:
        detail = e.args[0]
        expect(
            isinstance(detail, tuple) and len(detail) >= 2,
            f"ProtocolError without (code, message): {e.args!r}",
        )
        return detail[0], detail[1]
    raise CheckFailed(f"expected a ProtocolError, got the result {result!r}")


def expect_count(before, after, added):
    expect(
        after == before + added,
        f"notifications_seen went from {before} to {after}, expected +{added}",
    )


def jsonrpclib_checks(checks, url):
    proxy = jsonrpclib.ServerProxy(url)

    @checks.check("jsonrpclib-pelix: positional params")
    def positional():
        expect_eq(proxy.subtract(42, 23), 19, "subtract(42, 23)")
        expect_eq(proxy.sum(1, 2, 4), 7, "sum(1, 2, 4)")
        expect_eq(proxy.get_data(), ["hello", 5], "get_data()")

    @checks.check("jsonrpclib-pelix: named params")
    def named():
        difference = proxy.subtract(subtrahend=23, minuend=42)
        expect_eq(difference, 19, "subtract(subtrahend=23, minuend=42)")

    @checks.check("jsonrpclib-pelix: method's own error (code/message)")
    def method_error():
        code, message = protocol_error_code(lambda: proxy.subtract(I64_MIN, 1))
        expect_eq(code, -32000, "error code of an overflowing subtract")
        expect_eq(message, "integer overflow", "error message")
        return f"{code} {message!r}"

    @checks.check("jsonrpclib-pelix: method not found")
    def method_not_found():
        code, message = protocol_error_code(lambda: proxy.foobar(1))
        expect_eq(code, -32601, "error code of an unknown method")
        return f"{code} {message!r}"

    @checks.check("jsonrpclib-pelix: invalid params")
    def invalid_params():
        code, message = protocol_error_code(lambda: proxy.subtract(1))
        expect_eq(code, -32602, "error code of subtract(1)")
        code, message = protocol_error_code(lambda: proxy.subtract(minuend=1))
        expect_eq(code, -32602, "error code of subtract(minuend=1)")
        return f"{code} {message!r}"

    @checks.check("jsonrpclib-pelix: notifications run")
    def notification_runs():
        before = proxy.notifications_seen()
        result = proxy._notify.notify_hello(7)  # pylint: disable=protected-access
        expect_eq(result, None, "what a notification returns")
        proxy._notify.notify_sum(1, 2, 3)  # pylint: disable=protected-access
        after = proxy.notifications_seen()
        expect_count(before, after, 2)
        return f"notifications_seen {before} -> {after}"

    @checks.check("jsonrpclib-pelix: MultiCall batch with a notification")
    def multicall():
        before = proxy.notifications_seen()
        batch = MultiCall(proxy)
        batch.sum(1, 2, 4)
        batch._notify.notify_hello(7)  # pylint: disable=protected-access
        batch.subtract(minuend=42, subtrahend=23)
        batch.get_data()
        results = batch()
        expect_eq(len(results), 3, "number of results (the notification gets none)")
        expect_eq(list(results), [7, 19, ["hello", 5]], "results of the batch")
        after = proxy.notifications_seen()
        expect_count(before, after, 1)
        return f"notifications_seen {before} -> {after}"

    @checks.check("jsonrpclib-pelix: MultiCall batch with errors")
    def multicall_errors():
        batch = MultiCall(proxy)
        batch.subtract(42, 23)
        batch.foobar()
        batch.subtract(1)
        results = batch()
        expect_eq(len(results), 3, "number of results")
        expect_eq(results[0], 19, "subtract(42, 23) in the batch")
        code, _ = protocol_error_code(lambda: results[1])
        expect_eq(code, -32601, "error code of foobar() in the batch")
        code, _ = protocol_error_code(lambda: results[2])
        expect_eq(code, -32602, "error code of subtract(1) in the batch")


if __name__ == "__main__":
    run_script("spec", jsonrpcclient_checks, jsonrpclib_checks)
