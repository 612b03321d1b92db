/** What every command shares: logging to stderr, --json output, progress bars, typed failures. */
import { promises as fs } from "node:fs";
import { SingleBar, Presets } from "cli-progress";
import { Option } from "commander";
import pino, { type Logger } from "pino";
import { EXECUTION_PROVIDERS, GPU_DOCS } from "../engine/runner";
import { UPowError } from "../errors";

export class CliError extends UPowError {
  override readonly name = "CliError";
}

export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly logLevel?: string;
}

export interface CliContext {
  readonly log: Logger;
  readonly json: boolean;
  /** Prints a result: JSON on stdout with --json, else the human text. */
  result(value: unknown, human: () => string): void;
  progress(total: number, label: string): Progress;
}

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function makeContext(opts: GlobalOptions): CliContext {
  const log = pino({ level: opts.logLevel ?? (opts.quiet ? "warn" : "info"), base: undefined }, pino.destination(2));
  const json = opts.json === true;
  // Bars only on an interactive terminal and outside --json/--quiet, so pipes and tests stay clean.
  const bars = !json && !opts.quiet && process.stderr.isTTY === true;
  return {
    log,
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value, jsonReplacer, 2)}\n` : `${human()}\n`);
    },
    progress(total, label) {
      if (!bars) return { update: () => undefined, stop: () => undefined };
      const bar = new SingleBar(
        { format: `${label} [{bar}] {value}/{total} {extra}`, stream: process.stderr, hideCursor: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
      bar.start(total, 0, { extra: "" });
      return {
        update: (done, payload) =>
          bar.update(
            done,
            payload
              ? {
                  extra: Object.entries(payload)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(" "),
                }
              : undefined,
          ),
        stop: () => bar.stop(),
      };
    },
  };
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value;
}

export async function readFileOr(path: string, what: string): Promise<Buffer> {
  try {
    return await fs.readFile(path);
  } catch (cause) {
    throw new CliError(`cannot read ${what}`, { cause, details: { path } });
  }
}

export async function readJson<T>(path: string, what: string): Promise<T> {
  const text = (await readFileOr(path, what)).toString("utf8");
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new CliError(`${what} is not valid JSON`, { cause, details: { path } });
  }
}

export function parseIntOption(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min) throw new CliError(`--${name} must be an integer ≥ ${min}`, { details: { value: v } });
    return n;
  };
}

export function parseFloatOption(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new CliError(`--${name} must be a finite number`, { details: { value: v } });
    return n;
  };
}

/** `--ep cpu|webgpu|cuda` (env UPOW_EP) for every command that runs steps; default cpu. */
export function epOption(): Option {
  return new Option("--ep <name>", `onnxruntime execution provider (GPU set-up: ${GPU_DOCS})`)
    .choices([...EXECUTION_PROVIDERS])
    .default("cpu")
    .env("UPOW_EP");
}

/** `--ep <list>` of calibrate: comma-separated EPs whose settings are compared with the CPU reference. */
export function parseEpList(v: string): string[] {
  const eps = v
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  const bad = eps.filter((x) => !(EXECUTION_PROVIDERS as readonly string[]).includes(x));
  if (eps.length === 0 || bad.length > 0) {
    throw new CliError(`--ep must list execution providers among ${EXECUTION_PROVIDERS.join(", ")}`, {
      details: { value: v, unknown: bad },
    });
  }
  return [...new Set(eps)];
}
