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
import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import { UPowError } from "../errors";
import {
  ExecutionProviderUnavailableError, GraphLoadError, NondeterministicExecutionError, StepExecutionError, StepInputError,
  type ExecutionProviderName, type GraphOptimizationLevel,
} from "./runner";
import type { StepExecutor, StepOutput } from "./step";
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
  if (!(rate > 0) || !Number.isFinite(rate)) throw new StepProcessError("minFlopsPerSecond must be a positive number", { details: { rate } });
  if (budget.flopsPerStep < 1n) throw new StepProcessError("flopsPerStep must be positive", { details: { flopsPerStep: budget.flopsPerStep } });
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
  StepInputError, StepExecutionError, GraphLoadError, NondeterministicExecutionError, ExecutionProviderUnavailableError,
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
  return fork(path.join(__dirname, `stepProcess${ts ? ".ts" : ".js"}`), [], {
    serialization: "advanced", // structured clone: Maps and typed arrays cross as they are
    execArgv: ts ? ["-r", require.resolve("ts-node/register/transpile-only")] : [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

interface Pending {
  readonly id: number;
  resolve(o: StepOutput): void;
  reject(e: Error): void;
}

export class ProcessStepRunner implements StepExecutor {
  readonly stepBudgetMs: number;
  #child: ChildProcess;
  #pending: Pending | undefined;
  #dead: UPowError | undefined;
  #nextId = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(child: ChildProcess, budgetMs: number) {
    this.#child = child;
    this.stepBudgetMs = budgetMs;
    child.on("message", (r: StepProcessReply) => this.#onReply(r));
    child.on("error", (e) => this.#fail(new StepProcessError("step process failed", { cause: e, details: { reason: e.message } })));
    // A pending step is rejected only once its process is gone (a budget kill included).
    child.on("exit", (code, signal) => this.#fail(new StepProcessError("step process exited", { details: { code, signal } })));
  }

  /** Starts the process and opens the session there (validation, EP check, settings as StepRunner). */
  static async create(options: ProcessStepRunnerOptions): Promise<ProcessStepRunner> {
    const budgetMs = stepBudgetMs(options.budget);
    const child = spawnChild();
    const openMs = options.budget.openMs ?? 120_000;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: UPowError) => {
        clearTimeout(timer);
        child.off("message", onMessage).off("error", onError).off("exit", onExit);
        if (err) {
          child.kill("SIGKILL");
          reject(err);
        } else resolve();
      };
      const timer = setTimeout(() => done(new StepBudgetExceededError("opening the step graph took longer than its budget", { details: { openMs } })), openMs);
      const onMessage = (r: StepProcessReply) => {
        if (r.kind === "ready") done();
        else if (r.kind === "failed") done(rebuild(r.error));
      };
      const onError = (e: Error) => done(new StepProcessError("step process failed to start", { cause: e, details: { reason: e.message } }));
      const onExit = (code: number | null, signal: string | null) => done(new StepProcessError("step process exited while opening", { details: { code, signal } }));
      child.on("message", onMessage).on("error", onError).on("exit", onExit);
      const open: StepProcessRequest = {
        kind: "open", options: { graph: options.graph, ep: options.ep, threads: options.threads, optLevel: options.optLevel },
      };
      child.send(open);
    });
    return new ProcessStepRunner(child, budgetMs);
  }

  /** Runs one step in the process; steps sent together run one after another, each with its own budget. */
  step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepOutput> {
    const run = this.#chain.then(() => this.#stepNow(state, batch, hp));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** The child's process id (logs; tests check a killed step's process is gone). */
  get pid(): number {
    return this.#child.pid ?? -1;
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
      const req: StepProcessRequest = { kind: "step", id, state, batch, hp };
      try {
        this.#child.send(req);
      } catch (cause) {
        this.#pending.reject(new StepInputError("step inputs cannot be sent to the step process", { cause, details: { reason: String(cause) } }));
      }
    });
  }

  #onReply(r: StepProcessReply): void {
    const p = this.#pending;
    // After a kill was ordered, a late answer does not count: the exit rejects the step.
    if (!p || this.#dead || (r.kind !== "done" && r.kind !== "error") || r.id !== p.id) return;
    if (r.kind === "done") p.resolve({ next: r.next, loss: r.loss });
    else p.reject(rebuild(r.error));
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
