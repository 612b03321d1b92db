#!/usr/bin/env node
// `npm run build:cli`: transpiles verifier/ and the typechain-types it imports into dist/, file by
// file with the layout kept, so relative requires resolve as in the sources and the step process
// finds stepProcess.js next to processRunner.js. npm packages stay in node_modules (onnxruntime-node
// and better-sqlite3 are native). No type check here: `tsc --noEmit` is lint's job.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { buildSync } = require("esbuild");
const { ROOT, SOURCE_DIRS, STAMP } = require("../bin/dist");

// The dashboard's browser code is bundled for the browser when the dashboard starts, never run by Node.
const BROWSER_DIRS = [path.join(ROOT, "verifier", "dashboard", "client")];

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return BROWSER_DIRS.includes(p) ? [] : sources(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

const missing = SOURCE_DIRS.filter((d) => !fs.existsSync(path.join(ROOT, d)));
if (missing.length) {
  process.stderr.write(`build:cli: ${missing.join(", ")} missing (typechain-types comes from \`npx hardhat compile\`)\n`);
  process.exit(1);
}
const dist = path.join(ROOT, "dist");
fs.rmSync(dist, { recursive: true, force: true });
buildSync({
  entryPoints: SOURCE_DIRS.flatMap((d) => sources(path.join(ROOT, d))),
  outdir: dist,
  outbase: ROOT,
  platform: "node",
  format: "cjs",
  target: "node20",
  // A relative import() left as is would be resolved as ESM, without extensions, and fail at run
  // time (the S3 store and `upow store push` load lazily): compile it to require().
  supported: { "dynamic-import": false },
  tsconfig: path.join(ROOT, "tsconfig.json"),
  logLevel: "warning",
});
fs.writeFileSync(path.join(ROOT, STAMP), `${new Date().toISOString()}\n`);
