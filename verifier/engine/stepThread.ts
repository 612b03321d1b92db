/**
 * Worker-thread side of ThreadStepRunner (threadRunner.ts): opens one StepRunner from workerData and
 * runs the steps it is sent, one at a time. onnxruntime's `run` occupies the thread that calls it, so
 * it runs here and never on the daemon's event loop (v3 V8.3).
 */
import { parentPort, workerData } from "node:worker_threads";
import { UPowError } from "../errors";
import { StepRunner, type StepRunnerOptions } from "./runner";
import type { TensorMap } from "./tensor";

export interface StepThreadRequest {
  readonly id: number;
  readonly state: TensorMap;
  readonly batch: TensorMap;
  readonly hp: Readonly<Record<string, number>>;
}

/** An error as it crosses the thread boundary: the main side rebuilds the typed error by name. */
export interface StepThreadFault {
  readonly name: string;
  readonly shortMessage: string;
  readonly details?: Record<string, unknown>;
}

export type StepThreadReply =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly error: StepThreadFault }
  | { readonly kind: "done"; readonly id: number; readonly next: TensorMap; readonly loss: number }
  | { readonly kind: "error"; readonly id: number; readonly error: StepThreadFault };

function fault(e: unknown): StepThreadFault {
  if (e instanceof UPowError) return { name: e.name, shortMessage: e.shortMessage, details: e.details };
  return { name: "Error", shortMessage: e instanceof Error ? e.message : String(e) };
}

function main(): void {
  const port = parentPort;
  if (!port) throw new UPowError("stepThread must run in a worker thread");
  const post = (r: StepThreadReply) => port.postMessage(r);
  let runner: StepRunner;
  let queue: Promise<void> = StepRunner.create(workerData as StepRunnerOptions).then(
    (r) => {
      runner = r;
      post({ kind: "ready" });
    },
    (e: unknown) => post({ kind: "failed", error: fault(e) }),
  );
  port.on("message", (m: StepThreadRequest) => {
    queue = queue.then(async () => {
      try {
        const out = await runner.step(m.state, m.batch, m.hp);
        post({ kind: "done", id: m.id, next: out.next, loss: out.loss });
      } catch (e) {
        post({ kind: "error", id: m.id, error: fault(e) });
      }
    });
  });
}

main();
