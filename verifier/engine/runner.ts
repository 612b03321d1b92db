/**
 * Runs one training step of a validated step graph on onnxruntime-node with fixed, recorded
 * deterministic settings (PROTOCOL.md §3): one inter-op thread, sequential execution, a fixed
 * intra-op thread count and optimization level, deterministic compute requested.
 */
import * as ort from "onnxruntime-node";
import { UPowError } from "../errors";
import type { DType, Tensor, TensorData, TensorMap } from "./tensor";
import { elementCount } from "./tensor";
import { type GraphLimits, type IoSpec, type StepGraphInfo, validateStepGraph } from "./onnx/validate";

export type ExecutionProviderName = "cpu" | "webgpu" | "cuda";
export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

export class ExecutionProviderUnavailableError extends UPowError {
  override readonly name: string = "ExecutionProviderUnavailableError";
}

export const EXECUTION_PROVIDERS: readonly ExecutionProviderName[] = ["cpu", "webgpu", "cuda"];

/** Where the GPU set-up is described (printed with every unavailable-EP error). */
export const GPU_DOCS = "docs/gpu.md";

/** What to do when an EP fails, per EP (the binding's own message is rarely enough). */
const EP_HINTS: Readonly<Record<string, string>> = {
  cuda: "onnxruntime-node ships the CUDA provider libraries (libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so) only when its install script downloads them, and needs CUDA 12 + cuDNN 9 on the library path; use --ep cpu or webgpu otherwise",
  webgpu:
    "WebGPU (Dawn) needs a GPU adapter: the Vulkan loader libvulkan.so.1 and a driver ICD (on NVIDIA: VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json); use --ep cpu otherwise",
  cpu: "the CPU provider is part of every build; reinstall onnxruntime-node",
};

/** Backends this onnxruntime-node build lists, e.g. `["cpu", "webgpu", "cuda (not bundled)"]`. */
export function foundBackends(): string[] {
  return ort.listSupportedBackends().map((b) => (b.bundled ? b.name : `${b.name} (not bundled)`));
}

/**
 * The error for an EP that cannot run here: names the EP, what this build offers, the binding's
 * reason, and what to do (with the docs page).
 */
export function executionProviderUnavailable(
  ep: string,
  problem: string,
  reason: string | null,
  cause?: unknown,
): ExecutionProviderUnavailableError {
  const hint = EP_HINTS[ep] ?? `choose one of ${EXECUTION_PROVIDERS.join(", ")}`;
  return new ExecutionProviderUnavailableError(`execution provider '${ep}' ${problem}${reason ? `: ${reason}` : ""}`, {
    cause,
    details: { ep, found: foundBackends(), ...(reason ? { reason } : {}), hint, docs: GPU_DOCS },
  });
}

/** onnxruntime refused the graph although it passed validation. */
export class GraphLoadError extends UPowError {
  override readonly name: string = "GraphLoadError";
}

/** State, batch or hyperparameters do not match the graph's inputs. */
export class StepInputError extends UPowError {
  override readonly name: string = "StepInputError";
}

/** onnxruntime failed while running the step. */
export class StepExecutionError extends UPowError {
  override readonly name: string = "StepExecutionError";
}

/**
 * The same step from the same inputs, run twice, gave different bits: the runner's start-up check
 * (`selfCheck`, outputs) and the trainer's per-interval check (§3, `assertDeterministic`, the encoded
 * state) both throw it.
 */
export class NondeterminismError extends UPowError {
  override readonly name: string = "NondeterminismError";
}

export interface StepRunnerOptions {
  /** ONNX ModelProto bytes of the step graph (validated before loading). */
  readonly graph: Uint8Array;
  /** @default "cpu" */
  readonly ep?: ExecutionProviderName;
  /** intraOpNumThreads. @default 1 */
  readonly threads?: number;
  /** @default "all" */
  readonly optLevel?: GraphOptimizationLevel;
  /** Overrides of the validation limits. */
  readonly limits?: Partial<GraphLimits>;
}

/** Everything that fixes how the step is computed; recorded with results (e.g. calibration). */
export interface RunnerSettings {
  readonly ep: ExecutionProviderName;
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: 1;
  readonly executionMode: "sequential";
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Session config entries passed through `extra` (flattened keys). */
  readonly configEntries: Readonly<Record<string, string>>;
  readonly ortVersion: string;
}

export interface StepResult {
  /** `next.<name>` outputs under their plain state names, sorted. */
  readonly next: TensorMap;
  readonly loss: number;
}

const DTYPE_TO_ORT: Partial<Record<DType, ort.Tensor.Type>> = {
  F32: "float32",
  F64: "float64",
  F16: "float16",
  I64: "int64",
  I32: "int32",
  I16: "int16",
  I8: "int8",
  U8: "uint8",
  BOOL: "bool",
};

const ORT_TO_DTYPE: Readonly<Record<string, DType>> = {
  float32: "F32",
  float64: "F64",
  float16: "F16",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};

const CONFIG_ENTRIES: Readonly<Record<string, string>> = {
  "session.use_deterministic_compute": "1",
  // No busy-waiting worker threads: the machine is shared and spinning does not change results.
  "session.intra_op.allow_spinning": "0",
};

export class StepRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly info: StepGraphInfo,
    readonly settings: RunnerSettings,
  ) {}

  /** Validates the graph, checks the EP, and opens a session with the fixed settings. */
  static async create(options: StepRunnerOptions): Promise<StepRunner> {
    const ep = options.ep ?? "cpu";
    const threads = options.threads ?? 1;
    const optLevel = options.optLevel ?? "all";
    if (!EXECUTION_PROVIDERS.includes(ep)) throw executionProviderUnavailable(ep, "is an unknown execution provider", null);
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new StepInputError("threads must be an integer in [1, 256]", { details: { threads } });
    }
    if (!["disabled", "basic", "extended", "all"].includes(optLevel)) {
      throw new StepInputError("unknown graph optimization level", { details: { optLevel } });
    }
    const info = validateStepGraph(options.graph, options.limits);
    const backends = ort.listSupportedBackends();
    if (!backends.some((b) => b.name === ep)) throw executionProviderUnavailable(ep, "is not in this onnxruntime-node build", null);
    const settings: RunnerSettings = {
      ep,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: optLevel,
      configEntries: { ...CONFIG_ENTRIES },
      ortVersion: ort.env.versions.node ?? ort.env.versions.common,
    };
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: [ep],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: optLevel,
      logSeverityLevel: 3,
      extra: nestConfig(CONFIG_ENTRIES),
    };
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(options.graph, sessionOptions);
    } catch (cause) {
      if (ep !== "cpu") throw executionProviderUnavailable(ep, "could not be initialised on this machine", epFailureReason(cause), cause);
      throw new GraphLoadError("onnxruntime could not load the step graph", { cause, details: { reason: firstLine(cause) } });
    }
    return new StepRunner(session, info, settings);
  }

  /** Runs one step: `(state, batch, hp) -> (next state, loss)`. Inputs are not modified. */
  async step(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepResult> {
    const feeds: Record<string, ort.Tensor> = {};
    checkNames(
      "state",
      this.info.state.map((s) => s.name),
      [...state.keys()],
    );
    checkNames(
      "batch",
      this.info.batch.map((s) => s.name),
      [...batch.keys()],
    );
    checkNames("hyperparameter", this.info.hyperparameters, Object.keys(hp));
    for (const s of this.info.state) feeds[`state.${s.name}`] = toOrt("state", s, state.get(s.name) as Tensor);
    for (const b of this.info.batch) feeds[`batch.${b.name}`] = toOrt("batch", b, batch.get(b.name) as Tensor);
    for (const h of this.info.hyperparameters) {
      const v = hp[h];
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new StepInputError("hyperparameter must be a finite number", { details: { name: h, value: String(v) } });
      }
      feeds[`hp.${h}`] = new ort.Tensor("float32", Float32Array.of(v), []);
    }
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds);
    } catch (cause) {
      throw new StepExecutionError("onnxruntime failed to run the step", { cause, details: { reason: firstLine(cause) } });
    }
    const next: TensorMap = new Map();
    for (const s of this.info.state) next.set(s.name, fromOrt(out[`next.${s.name}`] as ort.Tensor));
    const lossT = out.loss as ort.Tensor;
    return { next, loss: (lossT.data as Float32Array)[0] };
  }

  /**
   * Runs the same step twice and compares every output bit for bit (start-up and checkpoint check).
   * @throws NondeterminismError naming the first differing tensor and element.
   */
  async selfCheck(state: TensorMap, batch: TensorMap, hp: Readonly<Record<string, number>>): Promise<StepResult> {
    const a = await this.step(state, batch, hp);
    const b = await this.step(state, batch, hp);
    if (!Object.is(a.loss, b.loss) && !(Number.isNaN(a.loss) && Number.isNaN(b.loss))) {
      throw new NondeterminismError("loss differs between two identical runs", {
        details: { a: a.loss, b: b.loss, settings: this.settings },
      });
    }
    for (const [name, ta] of a.next) {
      const diff = firstByteDiff(ta.data, (b.next.get(name) as Tensor).data);
      if (diff >= 0) {
        throw new NondeterminismError("output differs between two identical runs", {
          details: { tensor: name, byteOffset: diff, settings: this.settings },
        });
      }
    }
    return a;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** `{"a.b.c": v}` → `{a: {b: {c: v}}}`; the node binding joins nested keys of `extra` with dots. */
function nestConfig(entries: Readonly<Record<string, string>>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entries)) {
    const parts = key.split(".");
    let cur = root;
    for (const p of parts.slice(0, -1)) {
      cur[p] = (cur[p] as Record<string, unknown> | undefined) ?? {};
      cur = cur[p] as Record<string, unknown>;
    }
    cur[parts[parts.length - 1]] = value;
  }
  return root;
}

function checkNames(role: string, expected: readonly string[], given: readonly string[]): void {
  const exp = new Set(expected);
  const missing = expected.filter((n) => !given.includes(n));
  const extra = given.filter((n) => !exp.has(n));
  if (missing.length > 0 || extra.length > 0) {
    throw new StepInputError(`${role} tensors do not match the graph inputs`, { details: { missing, extra } });
  }
}

function toOrt(role: string, spec: IoSpec, t: Tensor): ort.Tensor {
  const type = DTYPE_TO_ORT[t.dtype];
  if (t.dtype !== spec.dtype || type === undefined) {
    throw new StepInputError(`${role} tensor has the wrong dtype`, { details: { name: spec.name, expected: spec.dtype, got: t.dtype } });
  }
  const shapeOk = t.shape.length === spec.shape.length && spec.shape.every((d, i) => typeof d === "string" || d === t.shape[i]);
  if (!shapeOk || elementCount(t.shape) !== t.data.length) {
    throw new StepInputError(`${role} tensor has the wrong shape`, {
      details: { name: spec.name, expected: spec.shape, got: t.shape, elements: t.data.length },
    });
  }
  return new ort.Tensor(type, t.data as ort.Tensor.DataType, [...t.shape]);
}

function fromOrt(t: ort.Tensor): Tensor {
  const dtype = ORT_TO_DTYPE[t.type];
  if (dtype === undefined) throw new StepExecutionError("unexpected output dtype", { details: { type: t.type } });
  // No copy: onnxruntime-node copies every CPU-located output into a fresh ArrayBuffer of its own
  // (never reused by a later run, kept after release; runner tests check this), so the result owns it.
  return { dtype, shape: [...t.dims], data: t.data as TensorData };
}

function firstByteDiff(a: TensorData, b: TensorData): number {
  const ba = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const bb = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (ba.length !== bb.length) return 0;
  if (ba.equals(bb)) return -1;
  for (let i = 0; i < ba.length; i++) if (ba[i] !== bb[i]) return i;
  return -1;
}

/** The useful part of the binding's EP failure (Dawn's adapter error is one long source-location line). */
export function epFailureReason(e: unknown): string {
  const line = firstLine(e);
  if (/RequestAdapterStatus|requestAdapter|adapter/i.test(line))
    return "no WebGPU adapter found (Dawn could not load Vulkan or found no GPU)";
  const lib = /Failed to load (?:shared )?library[^:]*(?::\s*(\S+))?/i.exec(line);
  if (lib) return `provider shared library could not be loaded${lib[1] ? ` (${lib[1]})` : ""}`;
  return line;
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split("\n")[0].slice(0, 300);
}
