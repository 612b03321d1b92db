#!/usr/bin/env node
// Entry of the `upow` CLI: runs the build in dist/ (`npm run build:cli`) when it is at least as new as
// the sources; otherwise the TypeScript sources through ts-node (transpile only, ≈ 4 s more per call).
"use strict";
const path = require("node:path");
const { ROOT, ENTRY, distIsFresh } = require("./dist");

let entry;
if (distIsFresh()) {
  entry = path.join(ROOT, ENTRY);
  if (process.env.UPOW_CLI_TRACE) process.stderr.write(`upow: running ${entry}\n`);
} else {
  process.stderr.write(
    "upow: dist/ is missing or older than the sources; running them through ts-node (`npm run build:cli` starts faster)\n",
  );
  require("ts-node").register({ transpileOnly: true, project: path.join(ROOT, "tsconfig.json") });
  entry = path.join(ROOT, "verifier", "cli", "main");
  if (process.env.UPOW_CLI_TRACE) process.stderr.write(`upow: running ${entry}.ts\n`);
}
require(entry)
  .main(process.argv)
  .catch(() => {
    process.exitCode = 1;
  });
