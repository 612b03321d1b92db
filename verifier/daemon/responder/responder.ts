/**
 * Actions → transactions (op-challenger's responder). Every call carries a key (idempotent in the
 * journal: a mined key is never sent again, a sent one is resumed) and a purpose tag for logs and
 * metrics. The sender simulates first; a simulation revert is an expected outcome here (someone
 * else moved the state machine, a window closed) and comes back as `skipped`, not as an error.
 */
import type { Logger } from "pino";
import type { SendResult, TxIntent } from "../../chain/tx-sender";
import { TxSimulationError } from "../../chain/tx-sender";
import { UPowError } from "../../errors";

/** The one thing the responder needs from the chain layer's TxSender. */
export interface TxSenderLike {
  send(intent: TxIntent): Promise<SendResult>;
}

export interface ContractCall {
  key: string;
  purpose: string;
  to: string;
  data: string;
}

export type RespondOutcome =
  | { kind: "sent"; result: SendResult }
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; error: UPowError | Error };

export class Responder {
  constructor(
    private readonly sender: TxSenderLike,
    private readonly logger: Logger,
  ) {}

  async respond(call: ContractCall): Promise<RespondOutcome> {
    const log = this.logger.child({ purpose: call.purpose, key: call.key });
    try {
      const result = await this.sender.send({ key: call.key, purpose: call.purpose, to: call.to, data: call.data });
      if (result.kind === "mined" && !result.reused) log.info({ hash: result.hash, block: result.blockNumber }, "transaction mined");
      return { kind: "sent", result };
    } catch (err) {
      if (err instanceof TxSimulationError) {
        log.info({ reason: err.revert.reason }, "not sent: simulation reverted");
        return { kind: "skipped", reason: err.revert.reason };
      }
      const e = err instanceof Error ? err : new Error(String(err));
      log.warn({ err: e instanceof UPowError ? e.shortMessage : e.message, name: e.name }, "transaction failed; will retry on a later block");
      return { kind: "failed", error: e };
    }
  }
}
