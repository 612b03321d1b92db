/**
 * Secrets typed or piped in, never taken from argv (shell history, `ps`): a hidden prompt on the
 * terminal, or the whole of stdin when it is a pipe.
 */
import { UPowError } from "../errors";

class PromptError extends UPowError {
  override readonly name = "PromptError";
}

/** Reads one line from the TTY on stdin without echoing it. */
export function promptHidden(
  question: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) return Promise.reject(new PromptError("no terminal to ask on (stdin is not a TTY)", { details: { question } }));
  output.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (err?: Error): void => {
      input.setRawMode(false);
      input.pause();
      input.off("data", onData);
      output.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || ch === "\u0004") return done(new PromptError("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.setRawMode(true);
    input.resume();
    input.on("data", onData);
  });
}

/** The whole of a piped stdin, trimmed. */
export async function readStdin(input: NodeJS.ReadStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8").trim();
}
