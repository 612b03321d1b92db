/**
 * ADVERSARIAL publishers, off by default, for tests and the demo (docs/worker.md): decorators of the
 * honest publisher that publish a malformed result index or withhold leaves (v3 V1). Modes
 * (`--cheat index=<mode>[+<training cheat>]`, e.g. `index=pretty+skip=1`):
 *   pretty               the index pretty-printed (not canonical JSON; same content);
 *   extra-field          unknown fields at the top level and in every checkpoint entry;
 *   bad-step-root        one interval lists a step state hash its step root does not commit to,
 *                        and the worker answers no step-leaf demand of that interval;
 *   bad-step-root-answered  the same index, but the worker answers every demand from its true
 *                        trajectory (the verifier then works from the leaves on chain);
 *   withhold-steps       one interval lists no step states; the worker serves none of them and
 *                        answers no step-leaf demand of that interval;
 *   withhold-checkpoints the index lists no checkpoints; the worker answers no checkpoint demand.
 * The interval chosen is the middle one (`⌊(T/k)/2⌋`). The modes are parsed in cheats.ts; `withhold`
 * (publish the index only, serve and answer nothing) is a publisher too.
 */
import { encodeResultIndex, resultIndexAddress, type ResultIndex } from "../protocol/resultIndex";
import { canonicalJsonBytes } from "../protocol/canonicalJson";
import type { CheatMode, PublishCheat } from "./cheats";
import { honestPublisher, type ResultPublisher } from "./publisher";

/** The interval a publish cheat tampers with. */
export function tamperedInterval(index: ResultIndex): number {
  return Math.floor(index.intervals.length / 2);
}

/** The index bytes a publish cheat puts out. */
export function cheatIndexBytes(mode: PublishCheat, index: ResultIndex): Buffer {
  const i = tamperedInterval(index);
  switch (mode) {
    case "pretty":
      return Buffer.from(JSON.stringify(index, null, 2), "utf8");
    case "extra-field":
      return canonicalJsonBytes({
        ...index,
        comment: "not part of the format",
        checkpoints: index.checkpoints.map((c) => ({ ...c, note: "extra" })),
      });
    case "bad-step-root":
    case "bad-step-root-answered": {
      const j = Math.min(1, index.k);
      const intervals = index.intervals.map((r, n) =>
        n !== i ? r : { steps: r.steps.map((s, m) => (m === j ? { ...s, stateHash: `0x${"ab".repeat(32)}` } : s)) },
      );
      return encodeResultIndex({ ...index, intervals });
    }
    case "withhold-steps":
      return encodeResultIndex({ ...index, intervals: index.intervals.map((r, n) => (n === i ? { steps: [] } : r)) });
    case "withhold-checkpoints":
      return encodeResultIndex({ ...index, checkpoints: [] });
  }
}

/** The honest publisher wrapped so that it publishes `mode`'s index and keeps silent where the mode says. */
export function cheatingPublisher(mode: PublishCheat, inner: ResultPublisher = honestPublisher): ResultPublisher {
  const tampered = new Map<string, number>();
  return {
    async publish(p) {
      await inner.publish(p); // states (and the honest index, unused: the resultURI names the other bytes)
      const bytes = cheatIndexBytes(mode, p.trained.index);
      tampered.set(p.jobId.toString(), tamperedInterval(p.trained.index));
      return p.store.put(bytes, { expectedHash: resultIndexAddress(bytes) });
    },
    answers(d) {
      if (mode === "withhold-checkpoints") return d.kind !== "checkpoints";
      if (mode === "bad-step-root" || mode === "withhold-steps") return !(d.kind === "step-leaves" && tampered.get(d.jobId) === d.interval);
      return inner.answers(d);
    },
    servesStates: inner.servesStates,
  };
}

/** `--cheat withhold`: the index only (no state published), no state served, no demand answered. */
export const withholdingPublisher: ResultPublisher = {
  publish: (p) => p.store.put(p.trained.indexBytes, { expectedHash: p.trained.indexAddress }),
  answers: () => false,
  servesStates: false,
};

/** The publisher a worker with `mode` uses. */
export function publisherFor(mode: CheatMode | null): ResultPublisher {
  if (mode?.kind === "withhold") return withholdingPublisher;
  return mode?.kind === "publish" ? cheatingPublisher(mode.publish) : honestPublisher;
}
