// Checks OpenRPC documents with the OpenRPC project's own tools, written independently of ours.
//
//   node tests/openrpc/validate.mjs DOC.json [DOC.json ...]
//
// For each document, three checks:
//   1. `validateOpenRPCDocument` of @open-rpc/schema-utils-js: the document against the meta-schema
//      of its `openrpc` version (with the JSON Schema meta-schema for every embedded schema);
//   2. the standalone meta-schema of @open-rpc/meta-schema, compiled with ajv;
//   3. `parseOpenRPCDocument` of @open-rpc/schema-utils-js, which also resolves every `$ref`
//      (a dangling `#/components/schemas/...` reference fails here).
// Prints one line per check, the errors (path and reason) of a failed one, and exits 1 if any
// check failed (2 on a usage or read error).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const Ajv = require("ajv");
const jsonSchemaMetaSchema = require("@json-schema-tools/meta-schema");
const { openrpcDocument: openrpcMetaSchema } = require("@open-rpc/meta-schema");
const {
  validateOpenRPCDocument,
  parseOpenRPCDocument,
} = require("@open-rpc/schema-utils-js");

const version = (name) => require(`${name}/package.json`).version;

function report(errors) {
  for (const e of errors) {
    const path = e.dataPath || e.instancePath || "(document)";
    console.log(`    at ${path}: ${e.message} ${JSON.stringify(e.params)} [${e.schemaPath}]`);
  }
}

function metaSchemaValidator() {
  const ajv = new Ajv({ allErrors: true });
  const meta = jsonSchemaMetaSchema.default || jsonSchemaMetaSchema;
  ajv.addMetaSchema(meta, "https://meta.json-schema.tools/");
  ajv.addSchema(meta, "https://meta.json-schema.tools");
  const validate = ajv.compile(openrpcMetaSchema);
  return validate;
}

function findRefs(value, path, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => findRefs(v, `${path}/${i}`, out));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref") out.push(`${path}/$ref = ${JSON.stringify(v)}`);
      findRefs(v, `${path}/${k}`, out);
    }
  }
  return out;
}

async function check(file, validateMeta) {
  let ok = true;
  const doc = JSON.parse(readFileSync(file, "utf8"));
  const label = `${doc?.info?.title ?? "?"} (${file})`;

  const first = validateOpenRPCDocument(doc);
  if (first === true) {
    console.log(`ok    schema-utils-js validateOpenRPCDocument: ${label}`);
  } else {
    ok = false;
    console.log(`FAIL  schema-utils-js validateOpenRPCDocument: ${label}`);
    console.log(first.message);
  }

  if (validateMeta(doc)) {
    console.log(`ok    @open-rpc/meta-schema (ajv): ${label}`);
  } else {
    ok = false;
    console.log(`FAIL  @open-rpc/meta-schema (ajv): ${label}`);
    report(validateMeta.errors);
  }

  try {
    // parseOpenRPCDocument mutates what it is given: hand it a copy.
    const parsed = await parseOpenRPCDocument(structuredClone(doc), { dereference: true });
    // The dereferencer resolves only the fields OpenRPC defines. A reference inside an
    // extension field (`x-error-schema`) is ours to check: it must name an existing component.
    const left = findRefs(parsed.methods, "#/methods", []);
    const inExtension = (r) => /\/x-[^/]+\//.test(r);
    const schemas = (doc.components && doc.components.schemas) || {};
    const dangling = left
      .filter(inExtension)
      .filter((r) => {
        const target = r.split(" = ")[1].replace(/"/g, "");
        const name = target.replace("#/components/schemas/", "");
        return !target.startsWith("#/components/schemas/") || !(name in schemas);
      });
    const failed = left.filter((r) => !inExtension(r)).concat(dangling);
    if (failed.length === 0) {
      console.log(`ok    schema-utils-js parseOpenRPCDocument (every $ref resolves): ${label}`);
    } else {
      ok = false;
      console.log(`FAIL  schema-utils-js parseOpenRPCDocument left references: ${label}`);
      for (const r of failed) console.log(`    ${r}`);
    }
  } catch (e) {
    ok = false;
    console.log(`FAIL  schema-utils-js parseOpenRPCDocument: ${label}`);
    console.log(`    ${e && e.message ? e.message : e}`);
  }
  return ok;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs DOC.json [DOC.json ...]");
  process.exit(2);
}
console.log(
  `validators: @open-rpc/schema-utils-js ${version("@open-rpc/schema-utils-js")}, ` +
    `@open-rpc/meta-schema ${version("@open-rpc/meta-schema")}, ajv ${version("ajv")}, node ${process.version}`,
);
const validateMeta = metaSchemaValidator();
let failed = 0;
for (const file of files) {
  try {
    if (!(await check(file, validateMeta))) failed += 1;
  } catch (e) {
    console.log(`FAIL  ${file}: ${e && e.stack ? e.stack : e}`);
    process.exit(2);
  }
}
console.log(failed === 0 ? `all ${files.length} documents valid` : `${failed} of ${files.length} documents invalid`);
process.exit(failed === 0 ? 0 : 1);
