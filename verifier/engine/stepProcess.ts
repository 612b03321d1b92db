/**
 * Child-process side of ProcessStepRunner (processRunner.ts): reads frames (stepFrames.ts) on stdin,
 * opens one StepRunner from the first, runs the steps of the next ones one at a time and writes the
 * replies on fd 3. onnxruntime's `run` occupies the thread that calls it, so it runs here and never
 * on the daemon's event loop (v3 V8.3); a process, unlike a worker thread, can be killed safely in
 * the middle of native code.
 */
import { Socket } from "node:net";
import { UPowError } from "../errors";
import { StepRunner, type ExecutionProviderName, type GraphOptimizationLevel } from "./runner";
import { encodeFrame, f64ToHex, FrameReader, joinPayload, readTensors, tensorParts, type FrameTensor } from "./stepFrames";

export type StepProcessRequest =
  | { readonly kind: "open"; readonly ep?: ExecutionProviderName; readonly threads?: number; readonly optLevel?: GraphOptimizationLevel }
  | { readonly kind: "step"; readonly id: number; readonly hp: Readonly<Record<string, number>>; readonly tensors: readonly FrameTensor[] };

/** An error as it crosses the process boundary: the parent rebuilds the typed error by name. */
export interface StepProcessFault {
  readonly name: string;
  readonly shortMessage: string;
  readonly details?: Record<string, unknown>;
}

export type StepProcessReply =
  | { readonly kind: "ready" }
  | { readonly kind: "failed"; readonly error: StepProcessFault }
  /** `loss` as float64 hex (f64ToHex); the next state's tensors in the payload. */
  | { readonly kind: "done"; readonly id: number; readonly loss: string; readonly tensors: readonly FrameTensor[] }
  | { readonly kind: "error"; readonly id: number; readonly error: StepProcessFault };

function fault(e: unknown): StepProcessFault {
  if (e instanceof UPowError)
    return {
      name: e.name,
      shortMessage: e.shortMessage,
      details: JSON.parse(JSON.stringify(e.details ?? {}, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))) as Record<
        string,
        unknown
      >,
    };
  return { name: "Error", shortMessage: e instanceof Error ? e.message : String(e) };
}

function main(): void {
  const out = new Socket({ fd: 3, readable: false, writable: true });
  const reply = (r: StepProcessReply, parts: Uint8Array[] = []) => {
    for (const c of encodeFrame(r, parts)) out.write(c);
  };
  // The parent closed its end (disposed, or died): nothing left to serve.
  process.stdin.on("end", () => process.exit(0));
  const reader = new FrameReader<StepProcessRequest & { payloadBytes: number }>();
  let runner: StepRunner | undefined;
  let queue: Promise<void> = Promise.resolve();
  process.stdin.on("data", (chunk: Buffer) => {
    for (const { header: m, payload } of reader.push(chunk)) {
      queue = queue.then(async () => {
        if (m.kind === "open") {
          try {
            runner = await StepRunner.create({ graph: joinPayload(payload), ep: m.ep, threads: m.threads, optLevel: m.optLevel });
            reply({ kind: "ready" });
          } catch (e) {
            reply({ kind: "failed", error: fault(e) });
          }
          return;
        }
        try {
          if (!runner) throw new UPowError("step sent before the runner was opened");
          const sets = readTensors(m.tensors, payload);
          const res = await runner.step(sets.get("state") ?? new Map(), sets.get("batch") ?? new Map(), m.hp);
          const { tensors, parts } = tensorParts({ next: res.next });
          reply({ kind: "done", id: m.id, loss: f64ToHex(res.loss), tensors }, parts);
        } catch (e) {
          reply({ kind: "error", id: m.id, error: fault(e) });
        }
      });
    }
  });
}

main();
