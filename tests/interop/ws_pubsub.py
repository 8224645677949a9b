"""Calls and subscriptions over a WebSocket with an independent client: `websockets`.

Usage: ws_pubsub.py URL   (for example ws://127.0.0.1:7003/rpc)

Against the pubsub example: `add`, alone and in a batch with a notification; `subscribe_counter`,
which answers a subscription id, then sends one `counter` notification per item and one that
ends the stream; `subscribe_ticks`, a clock that runs until unsubscribed, and refuses to tick
too fast. The unsubscribe methods' names are read from the service's own description
(`rpc.discover`, asked over the same socket).

Prints one line per check, then `SUMMARY {json}` with what the server sent, which the Rust test
(tests/tests/interop_python.rs) checks value by value; exits with status 1 if any check failed.
"""

import json
import sys
import time
from importlib.metadata import version

from websockets.sync.client import connect

from checks import TIMEOUT_SECONDS, CheckFailed, Checks, expect, expect_eq

# How long to listen for notifications that must not come.
QUIET_SECONDS = 0.4


class Socket:
    """One WebSocket carrying JSON-RPC: answers are matched to calls by id; notifications that
    arrive while an answer is awaited are kept, in order, for `notification()`."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 1
        self.kept = []

    def send(self, value):
        self.ws.send(json.dumps(value))

    def receive(self, timeout=TIMEOUT_SECONDS):
        text = self.ws.recv(timeout=timeout)
        expect(isinstance(text, str), f"a text message, got {text!r}")
        return json.loads(text)

    def answer(self, ids):
        """Reads until the answer to the call(s) `ids` (one id, or a list for a batch)."""
        while True:
            message = self.receive()
            if isinstance(message, list):
                got = sorted(m.get("id") for m in message)
                expect_eq(got, sorted(ids), "the batch answer's ids")
                return message
            if "id" in message:
                expect_eq(message["id"], ids, "the answer's id")
                return message
            self.kept.append(message)

    def call(self, method, params):
        """One call; its answer (the whole response object)."""
        call_id = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "method": method, "params": params, "id": call_id})
        return self.answer(call_id)

    def result(self, method, params):
        answer = self.call(method, params)
        if "error" in answer:
            raise CheckFailed(f"{method} failed: {answer['error']!r}")
        return answer["result"]

    def notification(self, timeout=TIMEOUT_SECONDS):
        """The next notification: a kept one, or the next message, which must be one."""
        if self.kept:
            return self.kept.pop(0)
        message = self.receive(timeout)
        expect(
            isinstance(message, dict) and "id" not in message and "method" in message,
            f"a notification, got {message!r}",
        )
        return message

    def quiet(self, seconds):
        """The messages that arrive within `seconds` (none, when all is well)."""
        arrived = self.kept
        self.kept = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                arrived.append(self.receive(left))
            except TimeoutError:
                break
        return arrived


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} URL", file=sys.stderr)
        sys.exit(2)
    url = sys.argv[1]
    print(f"pubsub service at {url}; websockets {version('websockets')}", flush=True)
    checks = Checks("pubsub over websockets")
    summary = {"websockets": version("websockets")}
    try:
        ws = connect(url, open_timeout=TIMEOUT_SECONDS, close_timeout=TIMEOUT_SECONDS)
    except Exception as e:  # pylint: disable=broad-except (a refused handshake is not an OSError)
        print(f"FAIL pubsub: cannot open a WebSocket to {url}: {e}", flush=True)
        sys.exit(1)
    with ws:
        socket = Socket(ws)
        run_checks(checks, socket, summary)
    summary["close_code"] = ws.close_code
    print("SUMMARY " + json.dumps(summary), flush=True)
    checks.finish()


def run_checks(checks, socket, summary):
    @checks.check("add over the socket")
    def add():
        summary["add"] = socket.result("add", [2, 3])
        return f"add(2, 3) = {summary['add']!r}"

    @checks.check("a batch: two calls and a notification")
    def batch():
        socket.send(
            [
                {"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": "one"},
                {"jsonrpc": "2.0", "method": "add", "params": [4, 4]},
                {"jsonrpc": "2.0", "method": "add", "params": [10, 20], "id": "two"},
            ]
        )
        answers = socket.answer(["one", "two"])
        by_id = {a["id"]: a.get("result") for a in answers}
        summary["batch"] = {"answers": len(answers), "one": by_id["one"], "two": by_id["two"]}
        return f"{len(answers)} answers"

    unsubscribe = {}

    @checks.check("rpc.discover names the unsubscribe methods")
    def discover():
        doc = socket.result("rpc.discover", [])
        for method in doc["methods"]:
            sub = method.get("x-subscription")
            if sub:
                unsubscribe[method["name"]] = sub["unsubscribe"]
                summary.setdefault("notifications", {})[method["name"]] = sub["notification"]
        summary["unsubscribe"] = dict(unsubscribe)
        expect("subscribe_ticks" in unsubscribe, f"subscribe_ticks in {unsubscribe!r}")
        return repr(unsubscribe)

    @checks.check("subscribe_counter(10, 5): five items, then the end")
    def counter():
        sub_id = socket.result("subscribe_counter", [10, 5])
        expect(isinstance(sub_id, str), f"a subscription id (a string), got {sub_id!r}")
        notes = []
        while True:
            note = socket.notification()
            notes.append(note)
            expect(isinstance(note.get("params"), dict), f"params in {note!r}")
            if "result" not in note["params"]:
                break
            expect(len(notes) <= 5, "more than five items")
        summary["counter"] = {
            "id": sub_id,
            "methods": sorted({n["method"] for n in notes}),
            "subscriptions": sorted({n["params"].get("subscription") for n in notes}),
            "items": [n["params"]["result"] for n in notes[:-1]],
            "end": notes[-1]["params"],
            "after_end": len(socket.quiet(QUIET_SECONDS)),
        }
        return f"{summary['counter']['items']!r}, then {notes[-1]['params']!r}"

    @checks.check("subscribe_ticks(20): two items, unsubscribe, unsubscribe again")
    def ticks():
        sub_id = socket.result("subscribe_ticks", [20])
        first = [socket.notification(), socket.notification()]
        # Items may have been written before the answer to unsubscribing: none after it.
        stopped = socket.call(unsubscribe["subscribe_ticks"], [sub_id])
        in_flight = socket.kept
        socket.kept = []
        again = socket.call(unsubscribe["subscribe_ticks"], [sub_id])
        after = socket.quiet(QUIET_SECONDS)
        summary["ticks"] = {
            "id": sub_id,
            "methods": sorted({n["method"] for n in first}),
            "subscriptions": sorted({n["params"]["subscription"] for n in first}),
            "items": [n["params"]["result"] for n in first],
            "in_flight": [n["params"].get("result") for n in in_flight],
            "unsubscribed": stopped.get("result"),
            "again": again.get("result"),
            "after": len(after),
        }
        return f"unsubscribe: {stopped.get('result')!r}, again: {again.get('result')!r}"

    @checks.check("subscribe_ticks(1) is refused with its error")
    def refused():
        answer = socket.call("subscribe_ticks", [1])
        expect("error" in answer, f"an error, got {answer!r}")
        summary["refused"] = answer["error"]
        return f"{answer['error']['code']} {answer['error']['message']!r}"


if __name__ == "__main__":
    main()
