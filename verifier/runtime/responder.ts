/**
 * Actions → transactions (op-challenger's responder), for both daemons. Players and solvers name
 * a typed contract call (`contractCall(jobMarket, "claimJob", [id], …)`: the method and its
 * arguments checked against the typechain contract); the responder encodes it and hands it to the
 * TxSender, the only code that signs. Every call carries a key (idempotent in the journal: a mined
 * key is never sent again, a sent one is resumed) and a purpose tag for logs and metrics.
 *
 * `send` throws the sender's errors (the worker decides per error); `respond` classifies them: a
 * simulation revert is an expected outcome for the verifier (someone else moved the state machine,
 * a window closed) and comes back as `skipped`, as does an intent the sender's failure policy holds
 * back (backing off, or superseded: re-checked after a hold).
 */
import { MaxUint256, type Interface } from "ethers";
import type { Logger } from "pino";
import type { IERC20 } from "../../typechain-types";
import type { TypedContractMethod } from "../../typechain-types/common";
import type { SendResult, TxIntent } from "../chain/tx-sender";
import { TxSimulationError, TxSkippedError } from "../chain/tx-sender";
import { UPowError } from "../errors";

/** The one thing the responder needs from the chain layer's TxSender. */
export interface TxSenderLike {
  send(intent: TxIntent): Promise<SendResult>;
}

/** What a call is encoded against and sent to: a typechain contract, or a Pick of one. */
export interface CallTarget {
  readonly interface: Interface;
  getAddress(): Promise<string>;
}

/** A state-changing call, not yet encoded. */
export interface ContractAction {
  /** Journal key: the same action under the same key is sent at most once. */
  readonly key: string;
  /** Tag of logs, metrics and the failure policy. */
  readonly purpose: string;
  readonly contract: CallTarget;
  readonly method: string;
  readonly args: readonly unknown[];
}

/** The argument tuple of a non-view typechain method. */
type CallArgs<F> = F extends TypedContractMethod<infer A, infer _R, "nonpayable" | "payable"> ? A : never;

/** A typed action: `method` must be a state-changing method of `contract`, `args` its arguments. */
export function contractCall<C extends CallTarget, M extends keyof C & string>(
  contract: C,
  method: M,
  args: CallArgs<C[M]>,
  at: { key: string; purpose: string },
): ContractAction {
  return { ...at, contract, method, args };
}

export type RespondOutcome =
  { kind: "sent"; result: SendResult } | { kind: "skipped"; reason: string } | { kind: "failed"; error: UPowError | Error };

export class Responder {
  constructor(
    private readonly sender: TxSenderLike,
    private readonly logger: Logger,
  ) {}

  /** Encodes and sends; the sender's errors are thrown as they are. */
  async send(a: ContractAction): Promise<SendResult> {
    const data = a.contract.interface.encodeFunctionData(a.method, [...a.args]);
    return this.sender.send({ key: a.key, purpose: a.purpose, to: await a.contract.getAddress(), data });
  }

  /** Encodes and sends; a revert in simulation or a held-back intent is `skipped`, any other failure `failed`. */
  async respond(a: ContractAction): Promise<RespondOutcome> {
    const log = this.logger.child({ purpose: a.purpose, key: a.key });
    try {
      const result = await this.send(a);
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
      log.debug(
        { err: e instanceof UPowError ? e.shortMessage : e.message, name: e.name },
        "transaction failed; will retry on a later block",
      );
      return { kind: "failed", error: e };
    }
  }

  /**
   * "Approve, then pay the bond": true when `spender` may pull `amount` of `token` from `owner`,
   * approving it (without limit, once per spender) first when not. False while that approval is
   * not through: the bonded call waits for a later tick.
   */
  async allowBond(p: {
    token: Pick<IERC20, "interface" | "getAddress" | "allowance" | "approve">;
    owner: string;
    spender: CallTarget;
    amount: bigint;
  }): Promise<boolean> {
    const spender = await p.spender.getAddress();
    if ((await p.token.allowance(p.owner, spender)) >= p.amount) return true;
    const r = await this.respond(
      contractCall(p.token, "approve", [spender, MaxUint256], { key: `approve:${spender}`, purpose: "approve-bonds" }),
    );
    return r.kind === "sent";
  }
}
