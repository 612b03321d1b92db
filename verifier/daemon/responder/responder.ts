/**
 * Actions → transactions (op-challenger's responder). Every call carries a key (idempotent in the
 * journal: a mined key is never sent again, a sent one is resumed) and a purpose tag for logs and
 * metrics. The sender simulates first; a simulation revert is an expected outcome here (someone
 * else moved the state machine, a window closed) and comes back as `skipped`, not as an error, as
 * does an intent the sender's failure policy holds back (backing off, or superseded: re-checked after a hold).
 */
import type { Logger } from "pino";
import type { SendResult, TxIntent } from "../../chain/tx-sender";
import { TxSimulationError, TxSkippedError } from "../../chain/tx-sender";
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
      // The sender's failure policy has logged it (warn, error when persistent, info once when superseded).
      if (err instanceof TxSimulationError) {
        log.debug({ reason: err.revert.reason }, "not sent: simulation reverted");
        return { kind: "skipped", reason: err.revert.reason };
      }
      if (err instanceof TxSkippedError) {
        log.debug({ reason: err.shortMessage }, "not sent: failure policy");
        return { kind: "skipped", reason: err.shortMessage };
      }
      const e = err instanceof Error ? err : new Error(String(err));
      log.debug({ err: e instanceof UPowError ? e.shortMessage : e.message, name: e.name }, "transaction failed; will retry on a later block");
      return { kind: "failed", error: e };
    }
  }
}
