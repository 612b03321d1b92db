/**
 * The browser side, bundled when the server starts: client/main.ts (plain TS + uPlot) through
 * esbuild into one script held in memory, uPlot's CSS with ours, and the page. Bundling at start
 * (≈ 100 ms) needs no build step, so the dashboard runs the same from dist/, under ts-node and from
 * a fresh clone; nothing is fetched from outside (no CDN, no web fonts).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../chain/packageRoot";
import { UPowError } from "../errors";

class DashboardAssetsError extends UPowError {
  override readonly name = "DashboardAssetsError";
}

export interface DashboardAssets {
  html: string;
  js: string;
  css: string;
}

const CLIENT_DIR = path.join(PACKAGE_ROOT, "verifier", "dashboard", "client");

export async function buildAssets(): Promise<DashboardAssets> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (cause) {
    throw new DashboardAssetsError("the dashboard bundles its page with esbuild, which is not installed (run `npm ci`)", { cause });
  }
  let js: string;
  try {
    const out = await esbuild.build({
      entryPoints: [path.join(CLIENT_DIR, "main.ts")],
      bundle: true,
      write: false,
      minify: true,
      format: "iife",
      target: "es2020",
      platform: "browser",
      logLevel: "silent",
      tsconfig: path.join(CLIENT_DIR, "tsconfig.json"),
    });
    js = out.outputFiles[0]!.text;
  } catch (cause) {
    throw new DashboardAssetsError("could not bundle the dashboard's page (verifier/dashboard/client/)", {
      cause,
      details: { dir: CLIENT_DIR },
    });
  }
  const css = [
    readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
    readFileSync(path.join(CLIENT_DIR, "style.css"), "utf8"),
  ].join("\n");
  return { html: PAGE, js, css };
}

// The theme is set before the first paint (no flash): the saved choice, else the system's.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>uPoW dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/app.css">
<script src="/theme.js"></script>
</head>
<body>
<div id="app"><p class="muted">Loading…</p></div>
<script src="/app.js"></script>
</body>
</html>
`;

/** Runs in <head>: a CSP without 'unsafe-inline' needs it as a file. */
export const THEME_JS = `(function(){var t=null;try{t=localStorage.getItem("upow-theme")}catch(e){}
if(t!=="dark"&&t!=="light")t=matchMedia("(prefers-color-scheme: dark)").matches?"dark":"light";
document.documentElement.dataset.theme=t;})();
`;
