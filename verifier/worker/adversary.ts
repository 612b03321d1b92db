/**
 * ADVERSARIAL: a cheat mode (cheats.ts) as the worker behaviour that carries it out, for tests,
 * the demo, the bench and the CLI's `--cheat` to hand to `runWorker`. The training cheats decorate
 * the step executor and batch source, the publish cheats and withhold the publisher; the worker's
 * service runs whatever behaviour it is given and never looks at the mode.
 */
import type { WorkerBehaviour } from "./behaviour";
import { applyCheat, type CheatMode } from "./cheats";
import { publisherFor } from "./publishCheats";

export function withCheat(mode: CheatMode): WorkerBehaviour {
  return {
    label: JSON.stringify(mode),
    training: (honest, job) => applyCheat(mode, honest, job),
    publisher: publisherFor(mode),
  };
}
