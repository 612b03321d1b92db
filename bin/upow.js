#!/usr/bin/env node
// Entry of the `upow` CLI: runs the TypeScript sources through ts-node (transpile only, no type check).
"use strict";
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../verifier/cli/main").main(process.argv).catch(() => {
  process.exitCode = 1;
});
