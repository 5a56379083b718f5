#!/usr/bin/env node
// Supergraph composition check.
//
//   node tools/composition/compose.mjs <dir>
//
// <dir>/subgraphs/<name>.graphql  one Federation v2 subgraph SDL per file (strawberry's print)
// <dir>/schema.graphql            the API schema our single process serves (graphql-core's print)
//
// Composes the subgraphs with Apollo Federation's composition (the same library Rover and
// GraphOS use), writes <dir>/supergraph.graphql, derives the API schema a gateway such as
// Apollo Router would expose to clients and compares it with schema.graphql.
// Exit codes: 0 equal, 1 composition errors or schema mismatch, 2 usage / input problems.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { buildSchema, isInputObjectType, lexicographicSortSchema, parse, printSchema } from 'graphql';
import { createTwoFilesPatch } from 'diff';

function fail(message, code = 2) {
  console.error(message);
  process.exit(code);
}

const dir = process.argv[2];
if (!dir || process.argv.length > 3) fail('usage: node tools/composition/compose.mjs <dir>');

// --- read the subgraphs -------------------------------------------------------------------
const subgraphDir = join(dir, 'subgraphs');
let files;
try {
  files = readdirSync(subgraphDir).filter((f) => f.endsWith('.graphql')).sort();
} catch (e) {
  fail(`cannot read ${subgraphDir}: ${e.message}`);
}
if (files.length === 0) fail(`no *.graphql files in ${subgraphDir}`);

// Strawberry only prints `schema @link(url: ".../federation/v2.x", ...)` when the subgraph uses
// a federation directive. Without that @link, composition treats the SDL as Federation 1, where
// every object type is implicitly @shareable, so field conflicts Fed 2 rejects would pass
// silently. Our subgraphs are all meant as Federation 2: such a subgraph gets the @link added.
const FED2_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: [])';
const isFed2Link = (d) =>
  d.name.value === 'link' &&
  d.arguments.some((a) => a.name.value === 'url' && /\/federation\/v2\./.test(a.value.value ?? ''));
const hasFed2Link = (doc) =>
  doc.definitions.some((def) => /^Schema(Definition|Extension)$/.test(def.kind) && def.directives?.some(isFed2Link));

// Where the gateway finds each subgraph: SUBGRAPH_URLS='{"order": "http://…/subgraphs/order/graphql"}'
// (make run-federated and the federation test pass their ports); others keep a placeholder.
let subgraphUrls = {};
try {
  subgraphUrls = JSON.parse(process.env.SUBGRAPH_URLS ?? '{}');
} catch (e) {
  fail(`SUBGRAPH_URLS is not JSON: ${e.message}`);
}
// SUPERGRAPH_OUT: where to write the supergraph (default <dir>/supergraph.graphql).
const supergraphPath = process.env.SUPERGRAPH_OUT ?? join(dir, 'supergraph.graphql');

const services = files.map((file) => {
  const name = basename(file, '.graphql');
  const path = join(subgraphDir, file);
  try {
    let sdl = readFileSync(path, 'utf8');
    if (!hasFed2Link(parse(sdl))) {
      console.error(`note: ${path} has no federation v2 @link; composing it as Federation 2`);
      sdl = `${FED2_LINK}\n\n${sdl}`;
    }
    return { name, url: subgraphUrls[name] ?? `http://localhost/subgraphs/${name}/graphql`, typeDefs: parse(sdl) };
  } catch (e) {
    return fail(`${path}: ${e.message}`);
  }
});

// --- compose ------------------------------------------------------------------------------
const result = composeServices(services);
if (result.errors) {
  rmSync(supergraphPath, { force: true }); // no stale supergraph from an earlier run
  console.error(`composition failed with ${result.errors.length} error(s):`);
  for (const error of result.errors) {
    console.error(`\n[${error.extensions?.code ?? 'UNKNOWN'}] ${error.message}`);
  }
  process.exit(1);
}
console.error(`composition: ${result.hints.length} hint(s)`);
writeFileSync(supergraphPath, result.supergraphSdl + '\n');

// --- the API schema a gateway serves --------------------------------------------------------
// toAPISchema() drops join__/link__ types and directives, every other core feature
// (@tag, @inaccessible, ...) and all @inaccessible elements. toGraphQLJSSchema() defaults to
// includeDefer/includeStream = false and we keep it so: @defer/@stream are not defined by any
// subgraph; a gateway adds `directive @defer` itself because it implements incremental delivery
// (Apollo Router does by default, `supergraph.defer_support`). That is a gateway execution
// feature, not part of the composed type system, and our single process does not offer it.
const api = result.schema.toAPISchema().toGraphQLJSSchema();

// Both sides go through the same graphql-js round trip: the SDL is re-parsed, sorted and printed,
// so field/type order and printer formatting cannot cause a difference, while descriptions,
// deprecations, default values and @specifiedBy still take part in the comparison. (printSchema
// leaves out the definitions of the specified directives on both sides; their uses are printed.)
//
// One exception: @oneOf. Apollo composition drops it (it is not a federation directive and is
// only kept through @composeDirective, which strawberry does not emit for it), so the supergraph
// never has it, while a served schema may (graphql-core prints it when is_one_of is set). The
// owning subgraph still enforces it at execution, so it is left out on both sides.
function normalize(sdl) {
  const schema = buildSchema(sdl);
  for (const type of Object.values(schema.getTypeMap())) {
    if (isInputObjectType(type)) type.isOneOf = false;
  }
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}

const expectedPath = join(dir, 'schema.graphql');
let expected;
try {
  expected = normalize(readFileSync(expectedPath, 'utf8'));
} catch (e) {
  fail(`${expectedPath}: ${e.message}`);
}
const composed = normalize(printSchema(api));

if (composed !== expected) {
  console.log(
    createTwoFilesPatch('schema.graphql (served)', 'supergraph API schema (composed)', expected, composed, '', '', {
      context: 3,
    }),
  );
  console.error('composition: API schema differs from schema.graphql (- served, + composed)');
  process.exit(1);
}
console.log(`composition: ${services.length} subgraphs composed; API schema equals schema.graphql`);
