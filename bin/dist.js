// Where the built CLI lives and whether it is current: shared by bin/upow.js (which runs it) and
// scripts/build-cli.js (which writes it), so both agree on the layout and on the stamp.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");
/** The folders transpiled into dist/ with their layout kept (relative requires keep resolving). */
const SOURCE_DIRS = ["verifier", "typechain-types"];
/** Written last by the build: its mtime is when dist/ was complete. */
const STAMP = path.join("dist", ".built");
const ENTRY = path.join("dist", "verifier", "cli", "main.js");

/** Newest mtime (ms) of the folders and files under `dirs`; a folder's mtime moves when a file is added or deleted. */
function newestMtime(root, dirs) {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) visit(path.join(p, name));
  };
  for (const d of dirs) if (fs.existsSync(path.join(root, d))) visit(path.join(root, d));
  return newest;
}

/** True when `<root>/dist/` was built after every change to its sources (tsconfig.json included). */
function distIsFresh(root = ROOT) {
  let built;
  try {
    built = fs.statSync(path.join(root, STAMP)).mtimeMs;
  } catch {
    return false;
  }
  const tsconfig = fs.statSync(path.join(root, "tsconfig.json"), { throwIfNoEntry: false });
  return built >= Math.max(newestMtime(root, SOURCE_DIRS), tsconfig ? tsconfig.mtimeMs : 0);
}

module.exports = { ROOT, SOURCE_DIRS, STAMP, ENTRY, newestMtime, distIsFresh };
