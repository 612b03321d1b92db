/**
 * `upow store serve`: serves a content-addressed artifact directory over HTTP until SIGINT/SIGTERM.
 * `upow store push`: uploads such a directory to an S3-compatible bucket under the same paths.
 */
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
  store
    .command("push")
    .description(
      "upload every artifact of a local store directory to an S3-compatible bucket (<prefix>/artifacts/<sha256>); credentials: the AWS SDK's chain",
    )
    .requiredOption("--dir <dir>", "store directory", process.env.UPOW_STORE_DIR)
    .requiredOption("--s3-bucket <name>", "bucket (env UPOW_S3_BUCKET)", process.env.UPOW_S3_BUCKET)
    .option("--s3-prefix <prefix>", "key prefix (env UPOW_S3_PREFIX)", process.env.UPOW_S3_PREFIX)
    .option(
      "--s3-endpoint <url>",
      "S3 API endpoint for MinIO, R2, ... (env UPOW_S3_ENDPOINT; default AWS S3)",
      process.env.UPOW_S3_ENDPOINT,
    )
    .option("--s3-region <region>", "bucket region (env UPOW_S3_REGION; default AWS_REGION, else us-east-1)", process.env.UPOW_S3_REGION)
    .option(
      "--s3-public-base-url <url>",
      "URL readers use (env UPOW_S3_PUBLIC_BASE_URL; default <endpoint>/<bucket>/<prefix>)",
      process.env.UPOW_S3_PUBLIC_BASE_URL,
    )
    .action(
      async (o: { dir: string; s3Bucket: string; s3Prefix?: string; s3Endpoint?: string; s3Region?: string; s3PublicBaseUrl?: string }) => {
        const c = ctx();
        // Loaded here only: the AWS SDK would slow every other command's start.
        const { pushStoreCommand } = await import("../../store/pushCommand");
        const s3 = {
          bucket: o.s3Bucket,
          ...(o.s3Prefix !== undefined ? { prefix: o.s3Prefix } : {}),
          ...(o.s3Endpoint !== undefined ? { endpoint: o.s3Endpoint } : {}),
          ...(o.s3Region !== undefined ? { region: o.s3Region } : {}),
          ...(o.s3PublicBaseUrl !== undefined ? { publicBaseUrl: o.s3PublicBaseUrl } : {}),
        };
        const r = await pushStoreCommand({ dir: o.dir, s3, logger: c.log });
        c.result(
          r,
          () => `${r.uploaded} of ${r.artifacts} artifacts uploaded to ${r.location}; readers use ${r.publicBaseUrl}/artifacts/<sha256>`,
        );
      },
    );
}
