import { existsSync } from "node:fs";
import path from "node:path";
import { UPowError } from "../errors";

/**
 * The repository root: the nearest folder above this file holding package.json. Found, not
 * counted in `..`s, because the built CLI runs this file from one level deeper (dist/verifier/chain/).
 */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new UPowError("no package.json above the CLI's files", { details: { from } });
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);
