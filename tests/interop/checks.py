"""Shared helpers of the Python interop clients: the scripts' entry point, a check runner, a
plain HTTP transport, and single calls made with jsonrpcclient.

The JSON-RPC work (building requests, parsing responses) is left to the libraries under test;
this module only moves bytes over HTTP, hands them to jsonrpcclient, and keeps score.
"""

import json
import socket
import sys
import traceback
import urllib.error
import urllib.request
from importlib.metadata import version

from jsonrpcclient import Error, Ok, parse_json, request

# No call may hang the test: the Rust side kills us after a minute, this fails sooner and says why.
TIMEOUT_SECONDS = 10
socket.setdefaulttimeout(TIMEOUT_SECONDS)

# Talk straight to the server even when the environment names an HTTP proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CheckFailed(AssertionError):
    """A check's expectation did not hold."""


def expect(condition, message):
    """Fails the current check with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def expect_eq(actual, expected, what):
    """Fails the current check unless `actual == expected` (and of the same type)."""
    if actual != expected or type(actual) is not type(expected):
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


class Checks:
    """Runs named checks, printing one line each, and remembers the failures."""

    def __init__(self, label):
        self.label = label
        self.passed = 0
        self.failed = []

    def run(self, name, check):
        """Runs `check()`; a failed expectation or any exception fails the check."""
        try:
            detail = check()
        except CheckFailed as e:
            self.failed.append(name)
            print(f"FAIL {self.label}: {name}: {e}", flush=True)
        except Exception:  # pylint: disable=broad-except
            self.failed.append(name)
            print(f"FAIL {self.label}: {name}: unexpected exception", flush=True)
            traceback.print_exc(file=sys.stdout)
        else:
            self.passed += 1
            suffix = f" ({detail})" if detail else ""
            print(f"ok   {self.label}: {name}{suffix}", flush=True)

    def check(self, name):
        """A decorator that runs the function it decorates at once, as `run(name, function)`."""

        def decorate(function):
            self.run(name, function)
            return function

        return decorate

    def finish(self):
        """Prints the summary and exits: status 1 if any check failed."""
        total = self.passed + len(self.failed)
        if self.failed:
            print(
                f"{self.label}: {len(self.failed)} of {total} checks FAILED: "
                + ", ".join(self.failed),
                flush=True,
            )
            sys.exit(1)
        print(f"{self.label}: all {total} checks passed", flush=True)
        sys.exit(0)


def run_script(label, *groups):
    """The scripts' entry point, `SCRIPT URL`: runs each of `groups` as `group(checks, url)`
    against the `label` service at URL, printing one line per check, and exits with status 1 if
    any failed (2 on a wrong command line)."""
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} URL", file=sys.stderr)
        sys.exit(2)
    url = sys.argv[1]
    print(
        f"{label} service at {url}; jsonrpcclient {version('jsonrpcclient')}, "
        f"jsonrpclib-pelix {version('jsonrpclib-pelix')}",
        flush=True,
    )
    require_server(url, label)
    checks = Checks(label)
    for group in groups:
        group(checks, url)
    checks.finish()


def require_server(url, label):
    """Exits at once, with one line, when nothing answers at `url`: every check would fail."""
    try:
        post(url, "[]")
    except urllib.error.HTTPError:
        pass  # it answers; whether an empty batch is accepted is not the point here
    except OSError as e:
        print(f"FAIL {label}: cannot reach the server at {url}: {e}", flush=True)
        sys.exit(1)


def post(url, body, content_type="application/json"):
    """POSTs `body` (a str) and returns `(status, content type, body text)`."""
    request = urllib.request.Request(
        url,
        data=body.encode("utf-8"),
        headers={"Content-Type": content_type, "Accept": "application/json"},
        method="POST",
    )
    with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as response:
        return (
            response.status,
            response.headers.get("Content-Type", ""),
            response.read().decode("utf-8"),
        )


def post_expecting_answer(url, body):
    """POSTs a request that must be answered: HTTP 200, JSON, a non-empty body."""
    status, content_type, text = post(url, body)
    expect_eq(status, 200, "HTTP status")
    expect(
        content_type.split(";")[0].strip() == "application/json",
        f"Content-Type should be application/json, got {content_type!r}",
    )
    expect(text.strip() != "", "the answer's body is empty")
    return text


def post_expecting_silence(url, body):
    """POSTs notifications only: the server must answer HTTP 200 (or 204) with no body."""
    status, _content_type, text = post(url, body)
    expect(status in (200, 204), f"HTTP status should be 200 or 204, got {status}")
    expect_eq(text, "", "body of the answer to notifications")


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
    """The result of a request that must succeed."""
    response = call(url, req)
    if isinstance(response, Error):
        raise CheckFailed(f"{req['method']} failed: {response!r}")
    return response.result


def error_of(url, req):
    """The error of a request that must fail."""
    response = call(url, req)
    if isinstance(response, Ok):
        raise CheckFailed(f"{req['method']} should fail, but returned {response.result!r}")
    return response


def expect_invalid_params(url, cases, get_error=error_of):
    """Each of `cases`, `(what, (method, params))`, must fail with -32602, as `get_error` (this
    module's `error_of` by default, or a script's stricter one) gets the error."""
    for what, (method, params) in cases:
        err = get_error(url, request(method, params=params))
        expect_eq(err.code, -32602, f"error code for {what}")
    return f"{len(cases)} cases, each -32602"
