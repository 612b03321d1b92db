/** Daemon logs: pino-pretty for a person at a terminal, JSON lines for journald and log shippers. */
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export const LOG_FORMATS = ["auto", "pretty", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface DaemonLoggerParameters {
  readonly level: string;
  /** @default auto: pretty when `isTTY` */
  readonly format?: LogFormat;
  /** @default process.stderr.isTTY */
  readonly isTTY?: boolean;
  /** @default stderr */
  readonly destination?: NodeJS.WritableStream;
}

export function createDaemonLogger(p: DaemonLoggerParameters): Logger {
  const tty = p.isTTY ?? process.stderr.isTTY === true;
  const usePretty = p.format === "pretty" || ((p.format ?? "auto") === "auto" && tty);
  if (usePretty) {
    // Synchronous, in this thread: no worker transport whose last lines a crash could lose.
    return pino(
      { level: p.level },
      pretty({ destination: p.destination ?? 2, sync: true, colorize: tty, translateTime: "SYS:HH:MM:ss.l" }),
    );
  }
  return pino({ level: p.level }, p.destination ?? pino.destination(2));
}
