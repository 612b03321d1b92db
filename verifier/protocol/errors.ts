/**
 * The one error base class of the off-chain code (viem's BaseError habit): a short message for
 * logs, the cause kept, an explicit name so callers can branch with `instanceof`.
 */
export class UPowError extends Error {
  override readonly name: string = "UPowError";
  readonly shortMessage: string;
  readonly details?: Record<string, unknown>;

  constructor(shortMessage: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(
      options.details ? `${shortMessage} ${JSON.stringify(options.details, bigintReplacer)}` : shortMessage,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
