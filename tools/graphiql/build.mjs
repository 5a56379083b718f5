#!/usr/bin/env node
// Builds the GraphiQL assets the development page serves (decision 0170).
//
//   node tools/graphiql/build.mjs <out-dir>
//
// Takes GraphiQL, React and ReactDOM from node_modules (installed with `npm ci` from the
// committed package-lock.json), minifies GraphiQL's bundle and stylesheet with esbuild
// (graphiql 3.8.3 publishes its ".min" files unminified) and copies React's UMD builds
// as published. Each package's LICENSE goes beside its file, and the legal comments
// esbuild finds in the bundle go to graphiql.LEGAL.txt. The output is deterministic, so
// `make graphiql-check` can compare it byte for byte with the committed copy.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] && resolve(process.argv[2]);
if (!out) {
  console.error('usage: node tools/graphiql/build.mjs <out-dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const modules = join(here, 'node_modules');
const version = (name) => JSON.parse(readFileSync(join(modules, name, 'package.json'), 'utf8')).version;

for (const [from, to] of [
  ['react/umd/react.production.min.js', 'react.production.min.js'],
  ['react-dom/umd/react-dom.production.min.js', 'react-dom.production.min.js'],
  ['react/LICENSE', 'react.LICENSE.txt'],
  ['react-dom/LICENSE', 'react-dom.LICENSE.txt'],
  ['graphiql/LICENSE', 'graphiql.LICENSE.txt'],
]) {
  copyFileSync(join(modules, from), join(out, to));
}

for (const file of ['graphiql.min.js', 'graphiql.min.css']) {
  await build({
    // Paths in the legal comments are relative to node_modules, whatever the cwd.
    absWorkingDir: modules,
    entryPoints: [join('graphiql', file)],
    outfile: join(out, file),
    minify: true,
    legalComments: file.endsWith('.js') ? 'external' : 'none',
    logLevel: 'error',
  });
}
// esbuild writes the external legal comments next to the output as <file>.LEGAL.txt.
renameSync(join(out, 'graphiql.min.js.LEGAL.txt'), join(out, 'graphiql.LEGAL.txt'));

writeFileSync(
  join(out, 'VERSIONS.json'),
  JSON.stringify(
    { graphiql: version('graphiql'), react: version('react'), 'react-dom': version('react-dom') },
    null,
    2,
  ) + '\n',
);
