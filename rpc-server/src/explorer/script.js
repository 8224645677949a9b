"use strict";
(function () {
  // Everything shown is built with DOM nodes and text; nothing from the service or the user is
  // ever parsed as HTML.
  var ENDPOINT = location.href.split("#")[0];
  // The same address over WebSocket, where subscriptions live.
  var SOCKET_URL = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + location.pathname + location.search;
  var TIMEOUT_MS = 30000;
  // The items a feed keeps on the page: the newest, so that a feed left running for hours
  // holds the page's memory steady.
  var MAX_ITEMS_SHOWN = 200;
  var nextId = 1;
  var doc = null;

  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (key) {
        var value = props[key];
        if (value === undefined || value === null || value === false) return;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key === "dataset") Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
        else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : String(value));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.append(child instanceof Node ? child : String(child));
  }
  function byId(id) { return document.getElementById(id); }
  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function str(v) { return typeof v === "string" ? v : ""; }

  // Doc comments: paragraphs, and `code` spans, as text nodes.
  function prose(text, cls) {
    var box = el("div", { class: cls });
    str(text).split(/\n\s*\n/).forEach(function (para) {
      para = para.trim();
      if (para) box.append(inline(para, "p"));
    });
    return box;
  }
  function inline(text, tag) {
    var node = el(tag || "span");
    var parts = str(text).replace(/\s*\n\s*/g, " ").split("`");
    parts.forEach(function (part, i) {
      // An unmatched backtick stays as it is.
      var code = i % 2 === 1 && i < parts.length - 1;
      if (part) append(node, code ? el("code", { text: part }) : (i % 2 === 1 ? "`" + part : part));
    });
    return node;
  }

  // JSON, compact when short enough, indented otherwise.
  function pretty(value, indent) {
    indent = indent || "";
    var flat = flatJson(value);
    if (flat === undefined) return "undefined";
    if (flat.length + indent.length <= 76 || value === null || typeof value !== "object") return flat;
    var inner = indent + "  ";
    if (Array.isArray(value)) {
      if (value.length === 0) return "[]";
      return "[\n" + value.map(function (v) { return inner + pretty(v, inner); }).join(",\n") + "\n" + indent + "]";
    }
    var keys = Object.keys(value);
    if (keys.length === 0) return "{}";
    return "{\n" + keys.map(function (k) {
      return inner + JSON.stringify(k) + ": " + pretty(value[k], inner);
    }).join(",\n") + "\n" + indent + "}";
  }
  function flatJson(value) {
    if (value === null || typeof value !== "object") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(flatJson).join(", ") + "]";
    return "{" + Object.keys(value).map(function (k) { return JSON.stringify(k) + ": " + flatJson(value[k]); }).join(", ") + "}";
  }

  function componentName(ref) {
    var m = /^#\/components\/schemas\/(.+)$/.exec(str(ref));
    return m ? m[1].replace(/~1/g, "/").replace(/~0/g, "~") : null;
  }
  function deref(schema) {
    var seen = 0;
    while (isObject(schema) && typeof schema.$ref === "string" && seen++ < 8) {
      var name = componentName(schema.$ref);
      var all = doc && isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
      if (name === null || !Object.prototype.hasOwnProperty.call(all, name)) return true;
      schema = all[name];
    }
    return schema;
  }

  // A short type for a JSON Schema: `number`, `integer[]`, `(integer | null)[]`, `[string, integer]`.
  function typeHint(schema, depth) {
    depth = depth || 0;
    if (schema === true || schema === undefined || (isObject(schema) && Object.keys(schema).length === 0)) return "any";
    if (schema === false) return "never";
    if (!isObject(schema)) return "?";
    if (typeof schema.$ref === "string") return componentName(schema.$ref) || schema.$ref;
    if (depth > 4) return "\u2026";
    if (Object.prototype.hasOwnProperty.call(schema, "const")) return flatJson(schema.const);
    if (Array.isArray(schema.enum)) return schema.enum.map(flatJson).join(" | ");
    var alts = schema.oneOf || schema.anyOf;
    if (Array.isArray(alts)) return alts.map(function (s) { return typeHint(s, depth + 1); }).join(" | ");
    if (Array.isArray(schema.allOf)) return schema.allOf.map(function (s) { return typeHint(s, depth + 1); }).join(" & ");
    var types = Array.isArray(schema.type) ? schema.type : typeof schema.type === "string" ? [schema.type] : [];
    if (types.length === 0) return schema.properties ? "object" : "any";
    return types.map(function (t) {
      if (t === "array") {
        var tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : null;
        if (tuple) return "[" + tuple.map(function (s) { return typeHint(s, depth + 1); }).join(", ") + "]";
        var item = typeHint(schema.items === undefined ? true : schema.items, depth + 1);
        return (/[ |&]/.test(item) ? "(" + item + ")" : item) + "[]";
      }
      if (t === "object" && isObject(schema.properties)) {
        return "{" + Object.keys(schema.properties).join(", ") + "}";
      }
      return t;
    }).join(" | ");
  }

  // An example value to show as an input's placeholder.
  function example(schema, depth) {
    depth = depth || 0;
    schema = deref(schema);
    if (!isObject(schema) || depth > 3) return '{"any": "JSON"}';
    if (Object.prototype.hasOwnProperty.call(schema, "const")) return flatJson(schema.const);
    if (Array.isArray(schema.enum) && schema.enum.length) return flatJson(schema.enum[0]);
    var alts = schema.oneOf || schema.anyOf;
    if (Array.isArray(alts) && alts.length) return example(alts[0], depth + 1);
    var types = Array.isArray(schema.type) ? schema.type : [schema.type];
    switch (types[0]) {
      case "integer": return "42";
      case "number": return "1.5";
      case "string": return '"text"';
      case "boolean": return "true";
      case "null": return "null";
      case "object": return "{}";
      case "array": {
        var tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : null;
        if (tuple) return "[" + tuple.map(function (s) { return example(s, depth + 1); }).join(", ") + "]";
        var items = schema.items === undefined ? true : schema.items;
        if (typeHint(items) === "any") return '[1, "two", null]';
        var item = example(items, depth + 1);
        return "[" + item + ", " + item + "]";
      }
      default: return '{"any": "JSON"}';
    }
  }

  // One JSON-RPC call to this page's address. Never throws: every outcome is a value.
  function rpc(method, params) {
    var request = { jsonrpc: "2.0", method: method, id: nextId++ };
    if (params !== undefined) request.params = params;
    var body = JSON.stringify(request);
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, TIMEOUT_MS) : null;
    var started = performance.now();
    function done(outcome) {
      if (timer) clearTimeout(timer);
      outcome.ms = Math.round(performance.now() - started);
      outcome.request = request;
      return outcome;
    }
    return fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body,
      cache: "no-store",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.text().then(function (text) {
        var head = "HTTP " + response.status + (response.statusText ? " " + response.statusText : "");
        var type = response.headers.get("content-type") || "no content type";
        if (text.trim() === "") {
          return done({ kind: "problem", title: head + ", empty body", detail: "The server sent no JSON-RPC response." });
        }
        var answer;
        try { answer = JSON.parse(text); } catch (e) {
          return done({ kind: "problem", title: head + ", not JSON (" + type + ")", detail: text.length > 2000 ? text.slice(0, 2000) + "\u2026" : text });
        }
        if (!isAnswer(answer)) {
          return done({ kind: "problem", title: head + ", not a JSON-RPC response", detail: pretty(answer) });
        }
        return done(outcomeOf(answer));
      });
    }, function (e) {
      var aborted = e && e.name === "AbortError";
      return done({
        kind: "problem",
        title: aborted ? "No answer within " + TIMEOUT_MS / 1000 + " s" : "Network error",
        detail: aborted ? "The request was cancelled." : String(e && e.message ? e.message : e)
      });
    });
  }

  function isAnswer(message) { return isObject(message) && ("result" in message || "error" in message); }
  function outcomeOf(answer) {
    if ("error" in answer) return { kind: "error", error: isObject(answer.error) ? answer.error : { message: String(answer.error) } };
    return { kind: "ok", result: answer.result };
  }

  // The page's one WebSocket, opened by the first subscription and shared by all that follow:
  // answers are matched to calls by id, notifications to feeds by subscription id. A socket
  // that closes takes its calls and subscriptions with it; the next subscription opens another.
  var link = null;

  function openLink() {
    var ws;
    try { ws = new WebSocket(SOCKET_URL); } catch (e) { return { failed: String(e && e.message ? e.message : e) }; }
    var self = { ws: ws, queue: [], calls: {}, feeds: {}, opened: false };
    ws.addEventListener("open", function () {
      self.opened = true;
      self.queue.forEach(function (text) { ws.send(text); });
      self.queue = [];
    });
    ws.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      (Array.isArray(message) ? message : [message]).forEach(function (m) { received(self, m); });
    });
    ws.addEventListener("close", function (event) {
      if (link === self) link = null;
      var reason = self.opened
        ? "The WebSocket closed (code " + event.code + (event.reason ? ": " + event.reason : "") + ")."
        : "The WebSocket to " + SOCKET_URL + " could not be opened (code " + event.code + ").";
      Object.keys(self.calls).forEach(function (id) { self.calls[id]({ kind: "problem", title: "Connection lost", detail: reason }); });
      Object.keys(self.feeds).forEach(function (id) { self.feeds[id].lost(reason); });
      self.calls = {};
      self.feeds = {};
    });
    return self;
  }

  function received(self, m) {
    if (isAnswer(m) && (typeof m.id === "number" || typeof m.id === "string")) {
      var call = self.calls[m.id];
      if (call) call(outcomeOf(m));
      return;
    }
    // A subscription's item, end or failure (the wire format is in rpc_core::subscription).
    if (isObject(m) && typeof m.method === "string" && isObject(m.params) && "subscription" in m.params) {
      var feed = self.feeds[String(m.params.subscription)];
      if (feed) feed.notified(m.params);
    }
  }

  // One call over the page's WebSocket. Like rpc(), never throws: every outcome is a value,
  // which also says which socket carried it.
  function socketCall(method, params) {
    var self = link || (link = openLink());
    var request = { jsonrpc: "2.0", method: method, params: params, id: nextId++ };
    var started = performance.now();
    if (self.failed) {
      link = null;
      return Promise.resolve({ kind: "problem", title: "No WebSocket", detail: self.failed, ms: 0, request: request });
    }
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        answered({ kind: "problem", title: "No answer within " + TIMEOUT_MS / 1000 + " s", detail: "Nothing came back over the WebSocket." });
      }, TIMEOUT_MS);
      function answered(outcome) {
        clearTimeout(timer);
        delete self.calls[request.id];
        outcome.ms = Math.round(performance.now() - started);
        outcome.request = request;
        outcome.link = self;
        resolve(outcome);
      }
      self.calls[request.id] = answered;
      var text = JSON.stringify(request);
      if (self.opened) self.ws.send(text); else self.queue.push(text);
    });
  }

  function schemaCode(schema) {
    var text = flatJson(schema === undefined ? true : schema);
    var name = isObject(schema) && Object.keys(schema).length === 1 ? componentName(schema.$ref) : null;
    if (name !== null && doc && isObject(doc.components) && isObject(doc.components.schemas) &&
        Object.prototype.hasOwnProperty.call(doc.components.schemas, name)) {
      // A reference to a schema of the document: a link to it, further down the page.
      return el("a", { class: "schema", href: "#schema-" + encodeURIComponent(name), title: "JSON Schema: " + name }, text);
    }
    return el("code", { class: "schema", title: "JSON Schema" }, text);
  }

  function renderParams(m) {
    var params = Array.isArray(m.params) ? m.params : [];
    var box = el("div", { class: "params" }, el("h3", { text: "Params" }));
    if (params.length === 0) { box.append(el("div", { class: "none", text: "No params." })); return box; }
    var rows = params.map(function (p) {
      var schema = p.schema;
      return el("tr", { dataset: { param: str(p.name) } },
        el("td", { class: "name", text: str(p.name) }),
        el("td", { class: "hint", text: typeHint(schema) }),
        el("td", { class: "flags" },
          p.required ? el("span", { class: "badge required", text: "required" }) : el("span", { class: "badge", text: "optional" }),
          p["x-variadic"] ? [" ", el("span", { class: "badge variadic", title: "Takes every remaining positional param", text: "variadic" })] : null,
          p.deprecated ? [" ", el("span", { class: "badge deprecated", text: "deprecated" })] : null),
        el("td", null, schemaCode(schema),
          p.summary || p.description ? el("div", { class: "param-doc", text: str(p.summary) || str(p.description) }) : null));
    });
    box.append(el("table", null,
      el("thead", null, el("tr", null, el("th", { text: "Name" }), el("th", { text: "Type" }), el("th", { text: "" }), el("th", { text: "Schema" }))),
      el("tbody", null, rows)));
    return box;
  }

  function renderResult(m) {
    var sub = subscriptionOf(m);
    if (sub) {
      // The call answers an id; what matters to the reader is the items that follow.
      var item = isObject(sub.item) ? sub.item : {};
      return el("div", { class: "result" }, el("h3", { text: "Items" }),
        el("div", { class: "sub-note" }, "Answers a subscription id, then sends each item as a ",
          el("code", { text: sub.notification }), " notification over the WebSocket, until the stream ends or ",
          el("code", { text: sub.unsubscribe }), " ends it."),
        el("div", { class: "result-line" },
          el("span", { class: "hint", text: typeHint(item.schema) }),
          item["x-rust-type"] ? el("span", { class: "rust", title: "Rust type", text: String(item["x-rust-type"]) }) : null),
        schemaCode(item.schema));
    }
    var box = el("div", { class: "result" }, el("h3", { text: "Result" }));
    if (!isObject(m.result)) {
      box.append(el("div", { class: "none", text: "None: a notification; a call answers null." }));
      return box;
    }
    var r = m.result;
    if (typeof r.$ref === "string") r = { name: "result", schema: r };
    box.append(el("div", { class: "result-line" },
      el("span", { class: "hint", text: typeHint(r.schema) }),
      r["x-rust-type"] ? el("span", { class: "rust", title: "Rust type", text: String(r["x-rust-type"]) }) : null),
      schemaCode(r.schema));
    return box;
  }

  function renderErrors(m) {
    if (!Array.isArray(m.errors) || m.errors.length === 0) return null;
    return el("div", { class: "errors" }, el("h3", { text: "Errors" }),
      el("ul", { class: "errors-list" }, m.errors.map(function (e) {
        e = isObject(e) ? e : {};
        return el("li", null, el("span", { class: "code", text: String(e.code) }), inline(e.message));
      })),
      // The schema of the error's `data`, when the method's error type is known.
      "x-error-schema" in m ? schemaCode(m["x-error-schema"]) : null);
  }

  // The `x-subscription` of a subscription method, or null for any other method.
  function subscriptionOf(m) {
    var sub = m["x-subscription"];
    return isObject(sub) && typeof sub.notification === "string" && typeof sub.unsubscribe === "string" ? sub : null;
  }

  // One subscription, shown as it goes: subscribes over the page's WebSocket, then appends each
  // item as it comes (the newest MAX_ITEMS_SHOWN stay), shows the stream's end or failure, and
  // offers Unsubscribe while it runs. Returns what the form needs to tidy up after it.
  function startFeed(m, sub, params, box) {
    var name = str(m.name);
    var id = null;
    var self = null;
    var count = 0;
    var pinned = true;
    var scrolling = false;
    var label = el("span", { class: "label", text: "Subscribing to " + name + "\u2026" });
    var idCode = el("code", { class: "sub-id", title: "Subscription id", hidden: true });
    var counter = el("span", { class: "count" });
    var elapsed = el("span", { class: "elapsed" });
    var stop = el("button", { class: "unsubscribe", type: "button", text: "Unsubscribe", hidden: true });
    var earlier = el("li", { class: "earlier", hidden: true });
    var items = el("ol", { class: "items", hidden: true }, earlier);
    var end = el("div", { class: "end", hidden: true });
    var card = el("div", { class: "output feed", role: "log", "aria-live": "polite", dataset: { status: "pending", items: "0" } },
      el("div", { class: "out-head" }, label, idCode, counter, stop, elapsed), items, end);
    box.append(card);
    // Follow the newest item, unless the reader scrolled up to look at older ones.
    items.addEventListener("scroll", function () {
      pinned = items.scrollTop + items.clientHeight >= items.scrollHeight - 8;
    });

    function status(s, text) {
      card.dataset.status = s;
      label.textContent = text;
    }
    function finish(s, text, head, value, cls) {
      status(s, text);
      stop.hidden = true;
      end.hidden = false;
      end.dataset.status = s;
      end.replaceChildren(el("div", { class: "end-head" }, head));
      if (value !== undefined) end.append(el("pre", { class: "value" + (cls ? " " + cls : ""), text: value }));
    }
    function failed(s, text, outcome) {
      if (outcome.kind === "error") {
        var e = outcome.error;
        finish(s, text, [
          el("span", { class: "error-code", text: String(e.code) }),
          el("span", { class: "error-message", text: e.message === undefined ? "" : String(e.message) })
        ], "data" in e ? pretty(e.data) : undefined, "error-data");
      } else {
        finish(s, text, el("span", { class: "error-message", text: outcome.title }), outcome.detail);
      }
    }
    function add(value) {
      count++;
      items.hidden = false;
      items.append(el("li", { dataset: { n: String(count) } },
        el("span", { class: "n", text: "#" + count }),
        el("pre", { class: "item", text: pretty(value) })));
      if (count > MAX_ITEMS_SHOWN) {
        items.removeChild(earlier.nextSibling);
        earlier.hidden = false;
        earlier.textContent = (count - MAX_ITEMS_SHOWN) + " earlier items not shown";
      }
      counter.textContent = count === 1 ? "1 item" : count + " items";
      card.dataset.items = String(count);
      // One scroll per frame, however fast the items come.
      if (pinned && !scrolling) {
        scrolling = true;
        requestAnimationFrame(function () { scrolling = false; items.scrollTop = items.scrollHeight; });
      }
    }
    var feed = {
      notified: function (params) {
        if ("result" in params) { add(params.result); return; }
        // The last notification: `error` is null when the stream ended, the error otherwise.
        delete self.feeds[id];
        if (params.error === null || params.error === undefined) {
          finish("ended", "Ended", el("span", { text: "The stream is over: error: null" }));
        } else {
          failed("error", "Failed", { kind: "error", error: isObject(params.error) ? params.error : { message: String(params.error) } });
        }
      },
      lost: function (reason) {
        if (card.dataset.status === "live") finish("error", "Connection lost", el("span", { class: "error-message", text: reason }));
      }
    };

    socketCall(name, params).then(function (outcome) {
      if (typeof outcome.ms === "number") elapsed.textContent = outcome.ms + " ms";
      var result = outcome.result;
      if (outcome.kind === "ok" && (typeof result === "string" || typeof result === "number")) {
        id = String(result);
        self = outcome.link;
        // Registered before the next message is read: the first item may follow at once.
        self.feeds[id] = feed;
        status("live", "Live");
        card.dataset.subscription = id;
        idCode.textContent = id;
        idCode.hidden = false;
        stop.hidden = false;
      } else if (outcome.kind === "ok") {
        finish("error", "Not a subscription id", el("span", { text: "The server answered:" }), pretty(result));
      } else {
        failed("error", outcome.kind === "error" ? "Error" : "Not subscribed", outcome);
      }
    });

    stop.addEventListener("click", function () {
      // The socket that held the subscription is gone: nothing to end.
      if (link !== self) return;
      stop.disabled = true;
      socketCall(sub.unsubscribe, [id]).then(function (outcome) {
        stop.disabled = false;
        if (card.dataset.status !== "live") return;
        if (outcome.kind === "ok") {
          // Items written before the answer still show; none follow it.
          finish("unsubscribed", "Unsubscribed",
            el("span", null, el("code", { text: sub.unsubscribe + "(" + flatJson([id]) + ")" }), " answered"), pretty(outcome.result));
        } else {
          failed("live", "Live", outcome);
          stop.hidden = false;
        }
      });
    });

    return {
      running: function () { return card.dataset.status === "pending" || card.dataset.status === "live"; },
      remove: function () {
        if (self && self.feeds[id] === feed) delete self.feeds[id];
        card.remove();
      }
    };
  }

  function renderForm(m) {
    var params = Array.isArray(m.params) ? m.params : [];
    var inputs = params.map(function (p) {
      var name = str(p.name);
      var variadic = !!p["x-variadic"];
      var input = el("input", {
        class: "param", type: "text", spellcheck: "false", autocomplete: "off",
        "aria-label": name,
        placeholder: variadic ? example({ type: "array", items: deref(p.schema).items }) : example(p.schema),
        dataset: { param: name }
      });
      var wide = variadic || /any|\{/.test(typeHint(p.schema));
      return {
        p: p, input: input,
        label: el("label", { class: wide ? "wide" : null },
          el("span", null, el("span", { class: "pname", text: name }), " ",
            el("span", { class: "phint", text: variadic ? "JSON array, spread as params" : typeHint(p.schema) }),
            p.required || variadic ? null : el("span", { class: "phint", text: " \u00b7 optional" })),
          input)
      };
    });
    var sub = subscriptionOf(m);
    var button = el("button", { class: sub ? "call subscribe" : "call", type: "submit", text: sub ? "Subscribe" : "Call" });
    var preview = el("span", { class: "preview" });
    var output = el("div", { class: "output", hidden: true, role: "status", "aria-live": "polite", dataset: { status: "idle", seq: "0" } });
    var feeds = sub ? el("div", { class: "feeds" }) : null;
    var running = [];
    var form = el("form", { class: "try", novalidate: true },
      inputs.length ? el("div", { class: "inputs" }, inputs.map(function (i) { return i.label; })) : null,
      el("div", { class: "actions" }, button, preview),
      output, feeds);

    // The positional params, or a problem with one of the inputs. A variadic param comes last
    // and its array is spread into the remaining positions; trailing optional params left
    // empty are left out, an empty one before a given one is sent as null.
    function collect() {
      var values = [];
      var spread = [];
      var invalid = function (item, problem) {
        item.input.setAttribute("aria-invalid", "true");
        return { problem: "`" + str(item.p.name) + "` " + problem };
      };
      for (var i = 0; i < inputs.length; i++) {
        var item = inputs[i];
        item.input.removeAttribute("aria-invalid");
        var raw = item.input.value.trim();
        var value = undefined; // `var` outlives the iteration: reset it.
        if (raw !== "") {
          try { value = JSON.parse(raw); } catch (e) {
            return invalid(item, "is not JSON (" + e.message + "); write text in double quotes, e.g. \"text\".");
          }
        }
        if (item.p["x-variadic"]) {
          if (value !== undefined && !Array.isArray(value)) {
            return invalid(item, "takes every remaining param: write them as a JSON array, e.g. [1, 2, 3].");
          }
          spread = value || [];
          break;
        }
        if (value === undefined && item.p.required) return invalid(item, "is required.");
        values.push(value);
      }
      var count = values.length;
      if (spread.length === 0) {
        while (count > 0 && values[count - 1] === undefined) count--;
      }
      var out = values.slice(0, count).map(function (v) { return v === undefined ? null : v; });
      return { params: out.concat(spread) };
    }

    function show(status, head, value, outcome) {
      output.hidden = false;
      output.dataset.status = status;
      output.replaceChildren(el("div", { class: "out-head" }, head,
        outcome && typeof outcome.ms === "number" ? el("span", { class: "elapsed", text: outcome.ms + " ms" }) : null));
      if (value !== undefined) output.append(el("pre", { class: "value", text: value }));
    }

    function updatePreview() {
      var c = collect();
      preview.textContent = c.problem ? "" : flatJson({ method: str(m.name), params: c.params });
      inputs.forEach(function (i) { i.input.removeAttribute("aria-invalid"); });
    }
    inputs.forEach(function (i) {
      i.input.addEventListener("input", updatePreview);
      i.input.addEventListener("change", updatePreview);
    });
    updatePreview();

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      updatePreview();
      var c = collect();
      if (c.problem) {
        show("error", [el("span", { class: "label", text: "Not sent" }), el("span", { class: "error-message", text: c.problem })]);
        output.dataset.seq = String(Number(output.dataset.seq) + 1);
        return;
      }
      if (sub) {
        output.hidden = true;
        // Finished feeds make way for the new one; live ones go on until unsubscribed.
        running = running.filter(function (feed) {
          if (feed.running()) return true;
          feed.remove();
          return false;
        });
        running.push(startFeed(m, sub, c.params, feeds));
        return;
      }
      button.disabled = true;
      show("pending", el("span", { text: "Calling " + str(m.name) + "\u2026" }));
      rpc(str(m.name), c.params).then(function (outcome) {
        if (outcome.kind === "ok") {
          show("ok", el("span", { class: "label", text: "Result" }), pretty(outcome.result), outcome);
        } else if (outcome.kind === "error") {
          var e = outcome.error;
          show("error", [
            el("span", { class: "label", text: "Error" }),
            el("span", { class: "error-code", text: String(e.code) }),
            el("span", { class: "error-message", text: e.message === undefined ? "" : String(e.message) })
          ], "data" in e ? pretty(e.data) : undefined, outcome);
          if ("data" in e) output.lastChild.classList.add("error-data");
        } else {
          show("error", [el("span", { class: "label", text: outcome.title })], outcome.detail, outcome);
        }
        output.dataset.seq = String(Number(output.dataset.seq) + 1);
        button.disabled = false;
      });
    });
    return el("div", { class: "try-it" }, el("h3", { text: "Try it" }), form);
  }

  function renderMethod(m) {
    var name = str(m.name);
    var summary = str(m.summary);
    var description = str(m.description);
    // The summary is the description's first paragraph: show the rest only.
    var rest = description;
    if (summary && description.indexOf(summary) === 0) rest = description.slice(summary.length);
    else if (!summary) { summary = description.split(/\n\s*\n/)[0]; rest = description.slice(summary.length); }
    var sub = subscriptionOf(m);
    var returns = sub ? "stream of " + typeHint(isObject(sub.item) ? sub.item.schema : undefined) : isObject(m.result) ? typeHint(m.result.schema) : null;
    var head = el("div", { class: "head" },
      el("h2", null, el("span", { class: "method-name", text: name }),
        returns !== null ? [el("span", { class: "arrow", text: "\u2192" }), el("span", { class: "returns", text: returns })] : null,
        sub ? el("span", { class: "badge subscription", title: "Items come as " + sub.notification + " notifications over a WebSocket" },
          "subscription ", el("code", { text: sub.notification })) : null,
        m.deprecated ? el("span", { class: "badge deprecated", text: "deprecated" }) : null,
        m["x-idempotent"] === true ? el("span", { class: "badge idempotent", text: "idempotent", title: "safe to send again: clients may retry it" }) : null,
        isObject(m.result) ? null : el("span", { class: "badge notification", text: "notification" })),
      summary ? prose(summary, "summary") : null,
      rest.trim() ? prose(rest, "details") : null,
      m.deprecated && m["x-deprecation-note"] ? el("div", { class: "deprecation-note", text: "Deprecated: " + String(m["x-deprecation-note"]) }) : null);
    return el("section", { class: "method", id: "method-" + name, dataset: { method: name } },
      head,
      el("div", { class: "body" }, renderParams(m), renderResult(m), renderErrors(m), renderForm(m)));
  }

  function renderComponents() {
    var all = isObject(doc.components) && isObject(doc.components.schemas) ? doc.components.schemas : {};
    var names = Object.keys(all);
    var box = byId("components");
    box.replaceChildren();
    if (!names.length) return;
    box.hidden = false;
    box.append(el("h2", { text: "Schemas" }));
    names.forEach(function (name) {
      var schema = all[name];
      box.append(el("div", { class: "component", id: "schema-" + encodeURIComponent(name), dataset: { schema: name } },
        el("h3", { text: name }),
        isObject(schema) && schema.description ? prose(schema.description, "details") : null,
        el("pre", { text: pretty(schema) })));
    });
  }

  function render() {
    var info = isObject(doc.info) ? doc.info : {};
    var title = str(info.title) || "JSON-RPC service";
    document.title = title + " \u00b7 JSON-RPC explorer";
    byId("title").textContent = title;
    if (info.version !== undefined) { byId("version").textContent = "v" + String(info.version); byId("version").hidden = false; }
    byId("description").replaceChildren(prose(info.description));
    if (doc.openrpc) byId("openrpc-version").textContent = "\u00b7 OpenRPC " + String(doc.openrpc);

    var methods = Array.isArray(doc.methods) ? doc.methods.filter(isObject) : [];
    byId("methods").replaceChildren.apply(byId("methods"), methods.map(renderMethod));
    byId("nav-list").replaceChildren.apply(byId("nav-list"), methods.map(function (m) {
      var name = str(m.name);
      return el("li", { class: m.deprecated ? "deprecated" : null, dataset: { method: name } },
        el("a", { href: "#method-" + name, title: str(m.summary) || name },
          el("span", { class: subscriptionOf(m) ? "dot sub" : isObject(m.result) ? "dot" : "dot note" }), name));
    }));
    renderComponents();
    byId("raw-doc").textContent = JSON.stringify(doc, null, 2);
    byId("raw").hidden = false;
    var status = byId("status");
    status.dataset.status = "ok";
    status.textContent = methods.length + " methods";
    document.body.dataset.ready = "true";
  }

  byId("endpoint").textContent = ENDPOINT;
  byId("filter").addEventListener("input", function () {
    var needle = this.value.trim().toLowerCase();
    document.querySelectorAll("section.method, #nav-list li").forEach(function (node) {
      node.hidden = needle !== "" && node.dataset.method.toLowerCase().indexOf(needle) < 0;
    });
  });

  rpc("rpc.discover").then(function (outcome) {
    var status = byId("status");
    if (outcome.kind === "ok" && isObject(outcome.result)) {
      doc = outcome.result;
      try { render(); return; } catch (e) {
        outcome = { kind: "problem", title: "The service description could not be shown", detail: String(e && e.stack ? e.stack : e) };
      }
    }
    status.dataset.status = "error";
    var head, detail;
    if (outcome.kind === "error") {
      head = "rpc.discover failed: error " + String(outcome.error.code) + " " + String(outcome.error.message);
      detail = "data" in outcome.error ? pretty(outcome.error.data) : "";
    } else if (outcome.kind === "ok") {
      head = "rpc.discover answered something that is not an OpenRPC document";
      detail = pretty(outcome.result);
    } else {
      head = "rpc.discover failed: " + outcome.title;
      detail = outcome.detail;
    }
    status.replaceChildren(el("strong", { text: head }), detail ? el("pre", { text: detail }) : null);
    document.body.dataset.ready = "error";
  });
})();
