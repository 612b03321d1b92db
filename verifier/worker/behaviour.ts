/**
 * What the worker does with a job beyond the protocol's fixed steps: how a step is executed, how
 * the result is published, which demands are answered. Production runs `HONEST`; adversarial
 * decorators (cheats.ts, `withCheat`) wrap these pieces, and only tests, the demo, the bench and
 * the CLI's `--cheat` wire them in: the service holds no cheat branch.
 */
import { honestPublisher, type ResultPublisher } from "./publisher";
import type { StepDecorator } from "./stepDecorator";

export interface WorkerBehaviour {
  /** Names the adversarial mode in the start-up log; null when honest. */
  readonly label: string | null;
  readonly training: StepDecorator;
  readonly publisher: ResultPublisher;
}

export const HONEST: WorkerBehaviour = { label: null, training: (honest) => honest, publisher: honestPublisher };
