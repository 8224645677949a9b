"use strict";
(function () {
  // Everything shown is built with DOM nodes and text; nothing from the service or the user is
  // ever parsed as HTML.
  var ENDPOINT = location.href.split("#")[0];
  var TIMEOUT_MS = 30000;
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
        if (!isObject(answer) || !("result" in answer || "error" in answer)) {
          return done({ kind: "problem", title: head + ", not a JSON-RPC response", detail: pretty(answer) });
        }
        if ("error" in answer) return done({ kind: "error", error: isObject(answer.error) ? answer.error : { message: String(answer.error) } });
        return done({ kind: "ok", result: answer.result });
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
    var button = el("button", { class: "call", type: "submit", text: "Call" });
    var preview = el("span", { class: "preview" });
    var output = el("div", { class: "output", hidden: true, role: "status", "aria-live": "polite", dataset: { status: "idle", seq: "0" } });
    var form = el("form", { class: "try", novalidate: true },
      inputs.length ? el("div", { class: "inputs" }, inputs.map(function (i) { return i.label; })) : null,
      el("div", { class: "actions" }, button, preview),
      output);

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
    var head = el("div", { class: "head" },
      el("h2", null, el("span", { class: "method-name", text: name }),
        isObject(m.result) ? [el("span", { class: "arrow", text: "\u2192" }), el("span", { class: "returns", text: typeHint(m.result.schema) })] : null,
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
          el("span", { class: isObject(m.result) ? "dot" : "dot note" }), name));
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
