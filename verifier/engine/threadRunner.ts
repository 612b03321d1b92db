/**
 * A StepExecutor that runs each step in its own worker thread (stepThread.ts) under a time budget
 * derived from the declared FLOPs (v3 V8.3): the caller's event loop stays free while onnxruntime
 * computes, and a step that overruns its budget is killed (the thread is terminated) and reported as
 * StepBudgetExceededError. A killed runner refuses further steps; the caller opens a new one.
 *
 * Memory is bounded before anything runs, by the cost model's peak-memory upper bound
 * (costModel.ts); onnxruntime allocates natively, outside any limit a worker thread could impose.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { UPowError } from "../errors";
import {
  ExecutionProviderUnavailableError, GraphLoadError, NondeterministicExecutionError, StepExecutionError, StepInputError,
  type ExecutionProviderName, type GraphOptimizationLevel,
} from "./runner";
import type { StepExecutor, StepOutput } from "./step";
import type { StepThreadFault, StepThreadReply, StepThreadRequest } from "./stepThread";
import type { TensorMap } from "./tensor";
import * as graphErrors from "./onnx/errors";

/** A step ran past its budget and its thread was terminated. */
export class StepBudgetExceededError extends UPowError {
  override readonly name = "StepBudgetExceededError";
}

/** The step thread could not start, died, or was used after it was disposed or killed. */
export class StepThreadError extends UPowError {
  override readonly name = "StepThreadError";
}

/** How long steps may take: what the job declares, at a deliberately slow reference rate. */
export interface StepBudget {
  /** The job's declared FLOPs per step (never below the cost model's derivation; spec.ts checks). */
  readonly flopsPerStep: bigint;
  /** Rate the budget assumes; slower than any machine a verifier should run on. @default 1e8 FLOP/s */
  readonly minFlopsPerSecond?: number;
  /** Added to every step's budget (thread scheduling, copying tensors, a loaded machine). @default 10_000 ms */
  readonly baseMs?: number;
  /** Budget for opening the session in the thread. @default 120_000 ms */
  readonly openMs?: number;
}

/** Milliseconds one step may take: `baseMs + 1000·flopsPerStep/minFlopsPerSecond`. */
export function stepBudgetMs(budget: StepBudget): number {
  const rate = budget.minFlopsPerSecond ?? 1e8;
  if (!(rate > 0) || !Number.isFinite(rate)) throw new StepThreadError("minFlopsPerSecond must be a positive number", { details: { rate } });
  if (budget.flopsPerStep < 1n) throw new StepThreadError("flopsPerStep must be positive", { details: { flopsPerStep: budget.flopsPerStep } });
  // setTimeout holds at most 2^31-1 ms (≈ 24.8 days); beyond it a step is refused, not run forever.
  return Math.min((budget.baseMs ?? 10_000) + Math.ceil((Number(budget.flopsPerStep) / rate) * 1000), 2 ** 31 - 1);
}

export interface ThreadStepRunnerOptions {
  readonly graph: Uint8Array;
  /** @default "cpu" */
  readonly ep?: ExecutionProviderName;
  /** @default 1 */
  readonly threads?: number;
  /** @default "all" */
  readonly optLevel?: GraphOptimizationLevel;
  readonly budget: StepBudget;
}

/** Typed errors the thread may report, rebuilt on this side so `instanceof` keeps working. */
const KNOWN_ERRORS: Readonly<Record<string, new (msg: string, o: { details?: Record<string, unknown> }) => UPowError>> = {
  StepInputError, StepExecutionError, GraphLoadError, NondeterministicExecutionError, ExecutionProviderUnavailableError,
  ...Object.fromEntries(Object.entries(graphErrors).filter(([, c]) => typeof c === "function")),
};

function rebuild(f: StepThreadFault): UPowError {
  const Ctor = KNOWN_ERRORS[f.name];
  if (Ctor) return new Ctor(f.shortMessage, { details: f.details });
  return new StepThreadError(`step thread failed: ${f.shortMessage}`, { details: { ...f.details, thrown: f.name } });
}

/** The thread's entry: the compiled .js next to this file, or the .ts source under ts-node. */
function bootstrap(): { source: string; data: { entry: string; tsNode: string | null } } {
  const ts = __filename.endsWith(".ts");
  return {
    source: `
const { workerData } = require("node:worker_threads");
if (workerData.__boot.tsNode) require(workerData.__boot.tsNode).register({ transpileOnly: true });
require(workerData.__boot.entry);
`,
    data: { entry: path.join(__dirname, `stepThread${ts ? ".ts" : ".js"}`), tsNode: ts ? require.resolve("ts-node") : null },
  };
}

interface Pending {
  readonly id: number;
  resolve(o: StepOutput): void;
  reject(e: Error): void;
}

export class ThreadStepRunner implements StepExecutor {
  readonly stepBudgetMs: number;
  #worker: Worker;
  #pending: Pending | undefined;
  #dead: UPowError | undefined;
  #nextId = 0;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(worker: Worker, budgetMs: number) {
    this.#worker = worker;
    this.stepBudgetMs = budgetMs;
    worker.on("message", (r: StepThreadReply) => this.#onReply(r));
    worker.on("error", (e) => this.#die(new StepThreadError("step thread crashed", { cause: e, details: { reason: e.message } })));
    worker.on("exit", (code) => this.#die(new StepThreadError("step thread exited", { details: { code } })));
  }

  /** Starts the thread and opens the session there (validation, EP check, settings as StepRunner). */
  static async create(options: ThreadStepRunnerOptions): Promise<ThreadStepRunner> {
    const budgetMs = stepBudgetMs(options.budget);
    const boot = bootstrap();
    const worker = new Worker(boot.source, {
      eval: true,
      workerData: { __boot: boot.data, graph: options.graph, ep: options.ep, threads: options.threads, optLevel: options.optLevel },
    });
    const openMs = options.budget.openMs ?? 120_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        void worker.terminate();
        reject(new StepBudgetExceededError("opening the step graph took longer than its budget", { details: { openMs } }));
      }, openMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        if (err) {
          void worker.terminate();
          reject(err);
        } else resolve();
      };
      const onMessage = (r: StepThreadReply) => {
        if (r.kind === "ready") done();
        else if (r.kind === "failed") done(rebuild(r.error));
      };
      const onError = (e: Error) => done(new StepThreadError("step thread failed to start", { cause: e, details: { reason: e.message } }));
      worker.on("message", onMessage);
      worker.on("error", onError);
    });
    return new ThreadStepRunner(worker, budgetMs);
  }

  /** Runs one step in the thread; steps sent together run one after another, each with its own budget. */
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
        const err = new StepBudgetExceededError("step ran past its budget and was killed", { details: { budgetMs: this.stepBudgetMs } });
        this.#die(err);
        void this.#worker.terminate();
      }, this.stepBudgetMs);
      const finish = (f: () => void) => {
        clearTimeout(timer);
        this.#pending = undefined;
        f();
      };
      this.#pending = { id, resolve: (o) => finish(() => resolve(o)), reject: (e) => finish(() => reject(e)) };
      const req: StepThreadRequest = { id, state, batch, hp };
      try {
        this.#worker.postMessage(req);
      } catch (cause) {
        this.#pending.reject(new StepInputError("step inputs cannot be sent to the step thread", { cause, details: { reason: String(cause) } }));
      }
    });
  }

  #onReply(r: StepThreadReply): void {
    const p = this.#pending;
    if (!p || (r.kind !== "done" && r.kind !== "error") || r.id !== p.id) return;
    if (r.kind === "done") p.resolve({ next: r.next, loss: r.loss });
    else p.reject(rebuild(r.error));
  }

  /** First cause wins: a killed runner keeps reporting the budget error, not the exit it caused. */
  #die(err: UPowError): void {
    if (this.#dead) return;
    this.#dead = err;
    this.#pending?.reject(err);
  }

  async dispose(): Promise<void> {
    this.#die(new StepThreadError("step runner was disposed"));
    await this.#worker.terminate();
  }
}
