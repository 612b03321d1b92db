/**
 * Child-process side of ProcessStepRunner (processRunner.ts): opens one StepRunner from the first
 * message and runs the steps it is sent, one at a time. onnxruntime's `run` occupies the thread that
 * calls it, so it runs here and never on the daemon's event loop (v3 V8.3); a process, unlike a
 * worker thread, can be killed safely in the middle of native code.
 */
import { UPowError } from "../errors";
import { StepRunner, type StepRunnerOptions } from "./runner";
import type { TensorMap } from "./tensor";

export type StepProcessRequest =
  | { readonly kind: "open"; readonly options: StepRunnerOptions }
  | { readonly kind: "step"; readonly id: number; readonly state: TensorMap; readonly batch: TensorMap; readonly hp: Readonly<Record<string, number>> };

/** An error as it crosses the process boundary: the parent rebuilds the typed error by name. */
export interface StepProcessFault {
  readonly name: string;
  readonly shortMessage: string;
  readonly details?: Record<string, unknown>;
}

export type StepProcessReply =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly error: StepProcessFault }
  | { readonly kind: "done"; readonly id: number; readonly next: TensorMap; readonly loss: number }
  | { readonly kind: "error"; readonly id: number; readonly error: StepProcessFault };

function fault(e: unknown): StepProcessFault {
  if (e instanceof UPowError) return { name: e.name, shortMessage: e.shortMessage, details: e.details };
  return { name: "Error", shortMessage: e instanceof Error ? e.message : String(e) };
}

function main(): void {
  const send = process.send?.bind(process);
  if (!send) throw new UPowError("stepProcess must run as a forked child with an IPC channel");
  const post = (r: StepProcessReply) => send(r);
  // Orphaned (the parent died or let go): nothing left to serve.
  process.on("disconnect", () => process.exit(0));
  let runner: StepRunner | undefined;
  let queue: Promise<void> = Promise.resolve();
  process.on("message", (m: StepProcessRequest) => {
    queue = queue.then(async () => {
      if (m.kind === "open") {
        try {
          runner = await StepRunner.create(m.options);
          post({ kind: "ready" });
        } catch (e) {
          post({ kind: "failed", error: fault(e) });
        }
        return;
      }
      try {
        if (!runner) throw new UPowError("step sent before the runner was opened");
        const out = await runner.step(m.state, m.batch, m.hp);
        post({ kind: "done", id: m.id, next: out.next, loss: out.loss });
      } catch (e) {
        post({ kind: "error", id: m.id, error: fault(e) });
      }
    });
  });
}

main();
