/**
 * Headless Chromium for the browser tests, as scripts/setup-chromium.sh left it: the tests skip
 * only when its status file says `unavailable`; a Chromium that is there but fails to start fails them.
 */
import fs from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";

const ROOT = path.join(__dirname, "..", "..");
const STATUS = process.env.UPOW_CHROMIUM_STATUS ?? path.join(ROOT, ".upow", "chromium-status");

/** The executable to launch, or why the tests are skipped. */
export function chromiumExecutable(): { path: string } | { skip: string } {
  let line = "";
  try {
    line = fs.readFileSync(STATUS, "utf8").trim();
  } catch {
    // No status file (setup script not run here): use a Chromium on PATH, fail if there is none.
  }
  if (line.startsWith("unavailable")) return { skip: line };
  const named = line.startsWith("installed ") ? line.split(" ")[1] : undefined;
  const candidates = [process.env.UPOW_CHROMIUM, named, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`no Chromium found (tried ${candidates.join(", ")}): run scripts/setup-chromium.sh`);
  return { path: found };
}

export function launchChromium(executablePath: string): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
}
