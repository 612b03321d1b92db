import pino, { type Logger } from "pino";

export type { Logger };

/** The default for every store component: logs nothing unless the caller passes a logger. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
