#!/usr/bin/env python3
"""Cross-checks one uPoW MLP training step against PyTorch (docs/gpu.md).

Recomputes S_{t+1} from the same canonical safetensors state S_t and batch file the engine used,
in float64 on the CPU (the reference) and in float32 on CUDA (when a GPU is present), and prints
per-tensor distances to the engine's S_{t+1} (e.g. from `upow step --ep webgpu --out ...`), in the
units of the tolerance check (verifier/engine/tolerance.ts):

    distance = ||a - b||_2,  rel_upd = distance / ||a - S||,  rel_norm = distance / ||a||,
    ratio    = distance / (delta_upd * ||a - S|| + delta_ulp * ||a||)    (> 1 would convict)

where a is the PyTorch float64 result and b the other one. Optionally runs onnx.checker on the
step graph. Formulas follow verifier/engine/reference.ts and verifier/engine/onnx/builder.ts:
Linear layers fc<i> (weight [out, in]), relu/tanh/exact gelu between them, mean softmax
cross-entropy, then SGD / momentum / Adam (bias-corrected, eps outside the sqrt, adam.step += 1
first); hyperparameters are rounded to float32 first, as the graph receives them.

Usage:
  python3 scripts/gpu/torch_crosscheck.py --model model/model.json --state S_t.safetensors \
      --batch data/batch-000003.safetensors --engine S_t1.safetensors [--graph model/graph.onnx] \
      [--job job.json] [--device cpu|cuda|auto] [--json]

Needs numpy and torch (onnx for --graph). Not run in this repository's CI (no torch there).
"""
from __future__ import annotations

import argparse
import json
import math
import struct
import sys

import numpy as np

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    """Reads a (canonical) safetensors file: u64 LE header length, JSON header, little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise SystemExit(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise SystemExit(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out: dict[str, np.ndarray] = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] not in DTYPES:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {e['dtype']}")
        lo, hi = e["data_offsets"]
        dt = np.dtype(DTYPES[e["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data[lo:hi], dtype=dt).reshape(e["shape"]).copy()
    return out


def f32(v: float) -> float:
    return float(np.float32(v))


def torch_step(spec: dict, hp: dict, state: dict[str, np.ndarray], batch: dict[str, np.ndarray], dtype, device):
    """One training step in the given torch dtype/device; returns (next state as float64 numpy, loss)."""
    import torch
    import torch.nn.functional as F

    L = len(spec["layers"]) - 1
    t = lambda a: torch.tensor(a, dtype=dtype, device=device)  # noqa: E731
    params = {}
    for i in range(1, L + 1):
        for kind in ("weight", "bias"):
            name = f"fc{i}.{kind}"
            params[name] = t(state[name]).requires_grad_(True)
    x = t(batch["x"])
    y = torch.tensor(batch["y"].astype(np.int64), device=device)
    h = x
    for i in range(1, L + 1):
        a = h @ params[f"fc{i}.weight"].T + params[f"fc{i}.bias"]
        if i < L:
            act = spec["activation"]
            h = F.relu(a) if act == "relu" else torch.tanh(a) if act == "tanh" else F.gelu(a, approximate="none")
        else:
            h = a
    loss = F.cross_entropy(h, y, reduction="mean")
    grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))

    opt = spec["optimizer"]
    H = {k: t(f32(v)) for k, v in hp.items()}
    nxt: dict[str, np.ndarray] = {}
    with torch.no_grad():
        if opt == "adam":
            step = int(state["adam.step"].reshape(-1)[0]) + 1
            nxt["adam.step"] = np.array(step, dtype=np.int64)
            tt = t(float(step))
            bc1 = 1 - torch.pow(H["beta1"], tt)
            bc2 = 1 - torch.pow(H["beta2"], tt)
        for name, w in params.items():
            g = grads[name]
            if opt == "sgd":
                new = w - H["lr"] * g
            elif opt == "momentum":
                v = H["momentum"] * t(state[f"momentum.{name}"]) + g
                nxt[f"momentum.{name}"] = v.double().cpu().numpy()
                new = w - H["lr"] * v
            elif opt == "adam":
                m = H["beta1"] * t(state[f"adam.m.{name}"]) + (1 - H["beta1"]) * g
                v = H["beta2"] * t(state[f"adam.v.{name}"]) + (1 - H["beta2"]) * (g * g)
                nxt[f"adam.m.{name}"] = m.double().cpu().numpy()
                nxt[f"adam.v.{name}"] = v.double().cpu().numpy()
                new = w - H["lr"] * ((m / bc1) / (torch.sqrt(v / bc2) + H["eps"]))
            else:
                raise SystemExit(f"unknown optimizer {opt}")
            nxt[name] = new.double().cpu().numpy()
    return nxt, float(loss.item())


def compare(start: dict, a: dict, b: dict, delta_upd: float, delta_ulp: float) -> list[dict]:
    rows = []
    for name in sorted(a):
        if name not in b:
            rows.append({"tensor": name, "problem": "missing in b"})
            continue
        av, bv = a[name].astype(np.float64), b[name].astype(np.float64)
        if av.shape != bv.shape:
            rows.append({"tensor": name, "problem": f"shape {av.shape} vs {bv.shape}"})
            continue
        if not np.issubdtype(a[name].dtype, np.floating):
            rows.append({"tensor": name, "equal": bool(np.array_equal(av, bv))})
            continue
        dist = float(np.linalg.norm((av - bv).ravel()))
        upd = float(np.linalg.norm((av - start[name].astype(np.float64)).ravel()))
        norm = float(np.linalg.norm(av.ravel()))
        bound = delta_upd * upd + delta_ulp * norm
        rows.append({
            "tensor": name, "distance": dist,
            "rel_upd": dist / upd if upd > 0 else (0.0 if dist == 0 else math.inf),
            "rel_norm": dist / norm if norm > 0 else (0.0 if dist == 0 else math.inf),
            "ratio": dist / bound if bound > 0 else (0.0 if dist == 0 else math.inf),
        })
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="model.json of `upow model init` (spec, hp) or a job.json")
    ap.add_argument("--state", required=True, help="S_t (canonical safetensors)")
    ap.add_argument("--batch", required=True, help="the batch file of step t (see `upow step --json`: batchFile)")
    ap.add_argument("--engine", action="append", default=[], metavar="FILE",
                    help="engine S_{t+1} to compare (repeatable, e.g. cpu and webgpu results)")
    ap.add_argument("--graph", help="step graph .onnx to run onnx.checker on")
    ap.add_argument("--job", help="job.json: take delta_upd/delta_ulp (and hp) from its tolerance")
    ap.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto",
                    help="where the float32 run goes (auto: cuda when available)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    o = ap.parse_args()

    import torch

    meta = json.load(open(o.model))
    job = json.load(open(o.job)) if o.job else meta
    spec, hp = meta["spec"], job.get("hp", meta.get("hp"))
    tol = job.get("tolerance", {"deltaUpd": 3e-3, "deltaUlp": 1e-6})  # the governance floors (docs/tolerance.md)
    state, batch = read_safetensors(o.state), read_safetensors(o.batch)

    report: dict = {"torch": torch.__version__, "spec": spec, "tolerance": tol}
    if o.graph:
        import onnx
        model = onnx.load(o.graph)
        onnx.checker.check_model(model, full_check=True)
        report["onnx_checker"] = f"ok (onnx {onnx.__version__}, opset {[x.version for x in model.opset_import]})"

    ref, ref_loss = torch_step(spec, hp, state, batch, torch.float64, "cpu")
    report["loss_torch_f64"] = ref_loss
    results = {}
    dev = "cuda" if o.device == "auto" and torch.cuda.is_available() else ("cpu" if o.device == "auto" else o.device)
    if dev == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    res32, loss32 = torch_step(spec, hp, state, batch, torch.float32, dev)
    results[f"torch-f32-{dev}" + (f" ({torch.cuda.get_device_name()})" if dev == "cuda" else "")] = res32
    report[f"loss_torch_f32_{dev}"] = loss32
    for path in o.engine:
        results[f"engine {path}"] = read_safetensors(path)

    report["comparisons"] = {}
    for label, b in results.items():
        rows = compare(state, ref, b, tol["deltaUpd"], tol["deltaUlp"])
        report["comparisons"][f"torch-f64-cpu vs {label}"] = rows
    if o.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"torch {report['torch']}; tolerance deltaUpd={tol['deltaUpd']} deltaUlp={tol['deltaUlp']}")
    if "onnx_checker" in report:
        print(f"onnx.checker: {report['onnx_checker']}")
    print(f"loss  torch f64 {ref_loss:.9g}   torch f32 {dev} {loss32:.9g}")
    for label, rows in report["comparisons"].items():
        worst = max((r.get("ratio", 0.0) for r in rows), default=0.0)
        print(f"\n{label}: worst ratio {worst:.3e}{'  (CONVICT)' if worst > 1 else ''}")
        for r in rows:
            if "problem" in r:
                print(f"  {r['tensor']:<28} {r['problem']}")
            elif "equal" in r:
                print(f"  {r['tensor']:<28} {'equal' if r['equal'] else 'DIFFERENT'}")
            else:
                print(f"  {r['tensor']:<28} dist {r['distance']:.3e}  rel_upd {r['rel_upd']:.3e}  "
                      f"rel_norm {r['rel_norm']:.3e}  ratio {r['ratio']:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
