/** `upow store serve`: serves a content-addressed artifact directory over HTTP until SIGINT/SIGTERM. */
import type { Command } from "commander";
import { serveStoreCommand } from "../../store";
import type { CliContext } from "../context";

export function registerStore(program: Command, ctx: () => CliContext): void {
  const store = program.command("store").description("content-addressed artifact store (GET/HEAD /artifacts/<sha256>)");
  store
    .command("serve")
    .description("serve the artifacts of a local store directory over HTTP")
    .requiredOption("--dir <dir>", "store directory (created if missing)", process.env.UPOW_STORE_DIR)
    .option("--host <host>", "interface to listen on (env UPOW_STORE_HOST)", process.env.UPOW_STORE_HOST ?? "127.0.0.1")
    .option("--port <port>", "TCP port, 0 = any free port (env UPOW_STORE_PORT)", process.env.UPOW_STORE_PORT ?? "8546")
    .action(async (o: { dir: string; host: string; port: string }) => {
      const c = ctx();
      const server = await serveStoreCommand({ dir: o.dir, host: o.host, port: o.port, logger: c.log });
      c.result({ url: server.url, dir: o.dir }, () => `serving ${o.dir} at ${server.url}/artifacts/<sha256> (Ctrl-C to stop)`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await server.close();
    });
}
