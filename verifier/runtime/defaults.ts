import type { Confirmations } from "../chain/confirmations";

/** What both daemons default to: the CLI's flag defaults and the configs' fallbacks read these same values. */
export const DAEMON_DEFAULTS = {
  pollIntervalMs: 2_000,
  confirmations: "auto" as Confirmations,
  metricsHost: "127.0.0.1",
  maxHeadAgeSec: 300,
  logLevel: "info",
  logFormat: "auto" as const,
};
