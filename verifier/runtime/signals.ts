/** How a daemon process stops: SIGINT (Ctrl-C) or SIGTERM (systemd, docker stop) aborts its signal, and the runtime shuts down in order. */
export async function runUntilSignal(run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await run(ac.signal);
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}
