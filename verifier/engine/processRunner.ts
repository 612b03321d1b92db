/**
 * A StepExecutor that runs steps in a child process (stepProcess.ts) under a time budget derived
 * from the declared FLOPs (v3 V8.3): the caller's event loop stays free while onnxruntime computes,
 * and a step that overruns its budget is killed (SIGKILL) and reported as StepBudgetExceededError.
 * A process, not a worker thread: terminating a thread inside onnxruntime's native code can abort
 * the whole daemon, killing a process cannot. A killed runner refuses further steps.
 *
 * Memory is bounded before anything runs, by the cost model's peak-memory upper bound
 * (costModel.ts); onnxruntime allocates natively, outside any limit Node could impose.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import path from "node:path";
import { UPowError } from "../errors";
import {
  ExecutionProviderUnavailableError,
  GraphLoadError,
  NondeterminismError,
  StepExecutionError,
  StepInputError,
  type ExecutionProviderName,
  type GraphOptimizationLevel,
} from "./runner";
import type { StepExecutor, StepOutput } from "./step";
import { encodeFrame, FrameReader, hexToF64, readTensors, tensorParts } from "./stepFrames";
import type { StepProcessFault, StepProcessReply, StepProcessRequest } from "./stepProcess";
import type { TensorMap } from "./tensor";
import * as graphErrors from "./onnx/errors";

/** A step ran past its budget and its process was killed. */
export class StepBudgetExceededError extends UPowError {
  override readonly name = "StepBudgetExceededError";
}

/** The step process could not start, died, or was used after it was disposed or killed. */
export class StepProcessError extends UPowError {
  override readonly name = "StepProcessError";
}

/** How long steps may take: what the job declares, at a deliberately slow reference rate. */
export interface StepBudget {
  /** The job's declared FLOPs per step (never below the cost model's derivation; the spec loader checks). */
  readonly flopsPerStep: bigint;
  /** Rate the budget assumes; slower than any machine a verifier should run on. @default 1e8 FLOP/s */
  readonly minFlopsPerSecond?: number;
  /** Added to every step's budget (scheduling, copying tensors, a loaded machine). @default 10_000 ms */
  readonly baseMs?: number;
  /** Budget for starting the process and opening the session. @default 120_000 ms */
  readonly openMs?: number;
}

/** Milliseconds one step may take: `baseMs + 1000·flopsPerStep/minFlopsPerSecond`. */
export function stepBudgetMs(budget: StepBudget): number {
  const rate = budget.minFlopsPerSecond ?? 1e8;
  if (!(rate > 0) || !Number.isFinite(rate))
    throw new StepProcessError("minFlopsPerSecond must be a positive number", { details: { rate } });
  if (budget.flopsPerStep < 1n)
    throw new StepProcessError("flopsPerStep must be positive", { details: { flopsPerStep: budget.flopsPerStep } });
  // setTimeout holds at most 2^31-1 ms (≈ 24.8 days).
  return Math.min((budget.baseMs ?? 10_000) + Math.ceil((Number(budget.flopsPerStep) / rate) * 1000), 2 ** 31 - 1);
}

export interface ProcessStepRunnerOptions {
  readonly graph: Uint8Array;
  /** @default "cpu" */
  readonly ep?: ExecutionProviderName;
  /** @default 1 */
  readonly threads?: number;
  /** @default "all" */
  readonly optLevel?: GraphOptimizationLevel;
  readonly budget: StepBudget;
}

/** Typed errors the process may report, rebuilt here so `instanceof` keeps working. */
const KNOWN_ERRORS: Readonly<Record<string, new (msg: string, o: { details?: Record<string, unknown> }) => UPowError>> = {
  StepInputError,
  StepExecutionError,
  GraphLoadError,
  NondeterminismError,
  ExecutionProviderUnavailableError,
  ...Object.fromEntries(Object.entries(graphErrors).filter(([, c]) => typeof c === "function")),
};

function rebuild(f: StepProcessFault): UPowError {
  const Ctor = KNOWN_ERRORS[f.name];
  if (Ctor) return new Ctor(f.shortMessage, { details: f.details });
  return new StepProcessError(`step process failed: ${f.shortMessage}`, { details: { ...f.details, thrown: f.name } });
}

/** The child's entry: the compiled .js next to this file, or the .ts source under ts-node. */
function spawnChild(): ChildProcess {
  const ts = __filename.endsWith(".ts");
  const entry = path.join(__dirname, `stepProcess${ts ? ".ts" : ".js"}`);
  const execArgv = ts ? ["-r", require.resolve("ts-node/register/transpile-only")] : [];
  // stdin carries requests, fd 3 replies; stdout/stderr are the daemon's.
  return spawn(process.execPath, [...execArgv, entry], { stdio: ["pipe", "inherit", "inherit", "pipe"] });
}

type Reply = StepProcessReply & { payloadBytes: number };

interface Pending {
  readonly id: number;
  resolve(o: StepOutput): void;
  reject(e: Error): void;
}

/** Writes one frame to the child's stdin (views of the tensors; the pipe writes them asynchronously). */
function send(child: ChildProcess, header: StepProcessRequest, parts: Uint8Array[] = []): void {
  const stdin = child.stdin as Writable;
  for (const c of encodeFrame(header, parts)) stdin.write(c);
}

export class ProcessStepRunner implements StepExecutor {
  readonly stepBudgetMs: number;
  #child: ChildProcess;
  #pending: Pending | undefined;
  #dead: UPowError | undefined;
  #nextId = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(child: ChildProcess, reader: FrameReader<Reply>, budgetMs: number) {
    this.#child = child;
    this.stepBudgetMs = budgetMs;
    (child.stdio[3] as Readable).on("data", (chunk: Buffer) => {
      for (const f of reader.push(chunk)) this.#onReply(f.header, f.payload);
    });
    child.on("error", (e) => this.#fail(new StepProcessError("step process failed", { cause: e, details: { reason: e.message } })));
    // A pending step is rejected only once its process is gone (a budget kill included).
    child.on("exit", (code, signal) => this.#fail(new StepProcessError("step process exited", { details: { code, signal } })));
    (child.stdin as Writable).on("error", () => undefined); // a dead child's closed pipe: reported by "exit"
  }

  /** Starts the process and opens the session there (validation, EP check, settings as StepRunner). */
  static async create(options: ProcessStepRunnerOptions): Promise<ProcessStepRunner> {
    const budgetMs = stepBudgetMs(options.budget);
    const child = spawnChild();
    const reader = new FrameReader<Reply>();
    const openMs = options.budget.openMs ?? 120_000;
    const replies = child.stdio[3] as Readable;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: UPowError) => {
        clearTimeout(timer);
        replies.off("data", onData);
        child.off("error", onError).off("exit", onExit);
        if (err) {
          child.kill("SIGKILL");
          reject(err);
        } else resolve();
      };
      const timer = setTimeout(
        () => done(new StepBudgetExceededError("opening the step graph took longer than its budget", { details: { openMs } })),
        openMs,
      );
      const onData = (chunk: Buffer) => {
        for (const { header: r } of reader.push(chunk)) {
          if (r.kind === "ready") done();
          else if (r.kind === "failed") done(rebuild(r.error));
        }
      };
      const onError = (e: Error) =>
        done(new StepProcessError("step process failed to start", { cause: e, details: { reason: e.message } }));
      const onExit = (code: number | null, signal: string | null) =>
        done(new StepProcessError("step process exited while opening", { details: { code, signal } }));
      replies.on("data", onData);
      child.on("error", onError).on("exit", onExit);
      (child.stdin as Writable).on("error", () => undefined);
      send(child, { kind: "open", ep: options.ep, threads: options.threads, optLevel: options.optLevel }, [options.graph]);
    });
    return new ProcessStepRunner(child, reader, budgetMs);
  }

  /** The child's process id (logs; tests check a killed step's process is gone). */
  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** Runs one step in the process; steps sent together run one after another, each with its own budget. */
  step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput> {
    const run = this.#chain.then(() => this.#stepNow(state, batch, hp));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #stepNow(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    return new Promise<StepOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#dead ??= new StepBudgetExceededError("step ran past its budget and was killed", { details: { budgetMs: this.stepBudgetMs } });
        this.#child.kill("SIGKILL");
      }, this.stepBudgetMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.#pending = undefined;
        f();
      };
      this.#pending = { id, resolve: (o) => finish(() => resolve(o)), reject: (e) => finish(() => reject(e)) };
      const { tensors, parts } = tensorParts({ state, batch });
      send(this.#child, { kind: "step", id, hp: { ...hp }, tensors }, parts);
    });
  }

  #onReply(r: StepProcessReply, payload: readonly Buffer[]): void {
    const p = this.#pending;
    // After a kill was ordered, a late answer does not count: the exit rejects the step.
    if (!p || this.#dead || (r.kind !== "done" && r.kind !== "error") || r.id !== p.id) return;
    if (r.kind === "error") return p.reject(rebuild(r.error));
    try {
      p.resolve({ next: readTensors(r.tensors, payload).get("next") ?? new Map(), loss: hexToF64(r.loss) });
    } catch (e) {
      p.reject(e instanceof UPowError ? e : new StepProcessError("step reply is unreadable", { cause: e }));
    }
  }

  /** First cause wins: a killed runner keeps reporting the budget error, not the exit it caused. */
  #fail(err: UPowError): void {
    this.#dead ??= err;
    this.#pending?.reject(this.#dead);
  }

  async dispose(): Promise<void> {
    this.#dead ??= new StepProcessError("step runner was disposed");
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once("exit", () => r()));
    this.#child.kill("SIGKILL");
    await exited;
  }
}
