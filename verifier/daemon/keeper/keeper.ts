/**
 * Keeper duties the v3 contracts rely on but no party is paid to do (docs/verifier.md "Keeper"):
 * 1. randomness: checkpoint / reveal / request the seed blocks of the draws this node follows, so
 *    the committee and auditor draws (which the players call) can run (docs/randomness.md);
 * 2. reopen: a dispute of ours that ended Void is reopened (V2.3); the new dispute is followed by
 *    the monitor like any other, and inherits the voided one's locate result;
 * 3. availability bonds: `settle` our answered DataAvailability challenges once the job is over,
 *    then `withdraw` the DataAvailability credits.
 * Reads at the tick block; decisions are the pure functions of ./decide; every call goes through
 * the responder (simulated, journaled, keyed so it is sent at most once).
 */
import type { Provider } from "ethers";
import type { Logger } from "pino";
import type { AuditManager, DataAvailability, DisputeManager, JobMarket, StakeManager } from "../../../typechain-types";
import {
  IRandomness__factory,
  L1OriginRandomness__factory,
  PrevrandaoRandomness__factory,
  VrfRandomness__factory,
} from "../../../typechain-types";
import { fetchProvenHeader, type RpcSend } from "../../chain/blockHeader";
import { EventCursor } from "../../chain/events";
import { EventRouter } from "../../chain/eventRouter";
import type { KeyValueStore } from "../../chain/journal";
import type { UPowMetrics } from "../../chain/metrics";
import { collectErrorText } from "../../chain/rpc";
import type { AmountFormatter } from "../../chain/tokenInfo";
import type { Tick } from "../player/context";
import type { DaemonRecords } from "../records";
import { contractCall, type RespondOutcome, type Responder } from "../../runtime/responder";
import { Phase, Ruling } from "../solver/types";
import { randomnessActions, settleDecision, type RandomnessAction, type RandomnessSource, type TargetFacts } from "./decide";

export interface KeeperDuties {
  /** Checkpoint / reveal / request draw seeds. @default true */
  randomness: boolean;
  /** Reopen this node's voided disputes. @default true */
  reopen: boolean;
  /** Settle answered availability challenges and withdraw DataAvailability credits. @default true */
  settle: boolean;
}

export interface KeeperParameters {
  me: string;
  provider: Provider & RpcSend;
  /** An L1 RPC (l1origin only): where the headers of L1 targets come from. */
  l1?: RpcSend;
  kv: KeyValueStore;
  records: DaemonRecords;
  responder: Responder;
  jobMarket: Pick<JobMarket, "getJob">;
  auditManager: Pick<AuditManager, "getAudit">;
  /** Connected at its address: the keeper routes its events (EventRouter). */
  disputeManager: DisputeManager;
  stakeManager: Pick<StakeManager, "currentEpoch">;
  /** Connected at its address: the keeper routes its events (EventRouter). */
  dataAvailability: DataAvailability;
  /** Address of the staking token (the DataAvailability's credits). */
  addresses: { stakingToken: string };
  /** Amounts in log lines with their units. */
  tokens: AmountFormatter;
  randomness: { address: string; source: RandomnessSource };
  duties: KeeperDuties;
  startBlock: number;
  confirmations: number;
  chunkSize?: number;
  logger: Logger;
  metrics?: UPowMetrics;
}

const VOIDED = "keeper:voided";
const OWN_CHALLENGES = "keeper:da-challenges";

export class Keeper {
  readonly #p: KeeperParameters;
  readonly #log: Logger;
  readonly #cursor: EventCursor;
  #warnedNoL1 = false;

  constructor(p: KeeperParameters) {
    this.#p = p;
    this.#log = p.logger.child({ component: "keeper" });
    const me = p.me.toLowerCase();
    const router = new EventRouter()
      .on(p.dataAvailability, p.dataAvailability.getEvent("ChallengeOpened"), (a) => {
        if (p.duties.settle && a.opener.toLowerCase() === me) this.#setAdd(OWN_CHALLENGES, a.challengeId);
      })
      .on(p.disputeManager, p.disputeManager.getEvent("DisputeClosed"), (a) => {
        if (p.duties.reopen && Number(a.ruling) === Ruling.Void) this.#setAdd(VOIDED, a.disputeId);
      });
    // Its own cursor: the monitor does not read the DataAvailability, and these events only
    // matter to the keeper (challenges we opened, disputes closed Void).
    this.#cursor = new EventCursor({
      provider: p.provider,
      kv: p.kv,
      name: "keeper",
      startBlock: p.startBlock,
      confirmations: p.confirmations,
      chunkSize: p.chunkSize,
      filter: router.filter(),
      handler: (log) => router.handle(log),
      logger: this.#log,
    });
  }

  /** One round of duties at `tick`; each duty's failure is logged and retried next tick. */
  async tick(tick: Tick): Promise<void> {
    const { duties } = this.#p;
    if (duties.reopen || duties.settle) await this.#guard("events", () => this.#cursor.poll());
    if (duties.randomness && this.#p.randomness.source !== "blockhash") await this.#guard("randomness", () => this.#randomness(tick));
    if (duties.reopen) await this.#guard("reopen", () => this.#reopen(tick));
    if (duties.settle) await this.#guard("settle", () => this.#settle(tick));
  }

  async #guard(duty: string, f: () => Promise<unknown>): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.#log.warn({ duty, err: collectErrorText(err) }, "keeper duty failed; retrying next tick");
    }
  }

  // ---- 1. randomness

  async #randomness(tick: Tick): Promise<void> {
    const { records, disputeManager, auditManager, stakeManager, randomness, provider } = this.#p;
    const bt = { blockTag: tick.block };
    const epoch = await stakeManager.currentEpoch(bt);
    const blocks: bigint[] = [];
    // Only seeds of the current epoch: a draw after its epoch re-schedules instead of reading them.
    for (const id of records.followedDisputes()) {
      const d = await disputeManager.getDispute(id, bt);
      if (Number(d.phase) === Phase.AwaitingDraw && d.randomnessBlock > 0n && d.drawEpoch === epoch) blocks.push(d.randomnessBlock);
    }
    for (const id of records.followedJobs()) {
      const a = await auditManager.getAudit(id, bt);
      if (!a.drawn && a.drawTarget > 0n && a.drawEpoch === epoch) blocks.push(a.drawTarget);
    }
    if (blocks.length === 0) return;
    const source = randomness.source;
    const rnd = IRandomness__factory.connect(randomness.address, provider);
    const targets: TargetFacts[] = [];
    for (const block of new Set(blocks)) {
      // isExpired/isAvailable at the head: a reveal someone else mined since the tick block counts.
      const [available, expired] = await Promise.all([rnd.isAvailable(block), rnd.isExpired(block)]);
      const t: TargetFacts = { block, available, expired };
      if (source === "l1origin")
        t.checkpointed =
          (await L1OriginRandomness__factory.connect(randomness.address, provider).checkpointed(block)) !== `0x${"00".repeat(32)}`;
      if (source === "vrf") t.requested = (await VrfRandomness__factory.connect(randomness.address, provider).requestOf(block)).made;
      targets.push(t);
    }
    const l1Origin =
      source === "l1origin" ? await L1OriginRandomness__factory.connect(randomness.address, provider).currentBlock() : undefined;
    for (const action of randomnessActions({ source, targets, finalBlock: BigInt(tick.block), l1Origin }))
      await this.#randomnessAction(action);
  }

  async #randomnessAction(a: RandomnessAction): Promise<void> {
    const { randomness, responder, provider, l1 } = this.#p;
    const to = randomness.address;
    if (a.type === "checkpoint") {
      const r = await responder.respond(
        contractCall(L1OriginRandomness__factory.connect(to, provider), "checkpoint", [], {
          key: `rnd-checkpoint:${a.l1Origin}`,
          purpose: "randomness-checkpoint",
        }),
      );
      this.#count(r, "randomness-checkpoint", { l1Origin: a.l1Origin.toString() }, "L1 origin checkpointed");
      return;
    }
    if (a.type === "request") {
      const r = await responder.respond(
        contractCall(VrfRandomness__factory.connect(to, provider), "request", [a.block], {
          key: `rnd-request:${a.block}`,
          purpose: "randomness-request",
        }),
      );
      this.#count(r, "randomness-request", { block: a.block.toString() }, "VRF word requested");
      return;
    }
    // Headers of this chain's blocks (prevrandao) or of L1 blocks (l1origin).
    const headers = randomness.source === "l1origin" ? l1 : provider;
    if (headers === undefined) {
      if (!this.#warnedNoL1)
        this.#log.warn({ block: a.block.toString() }, "L1 target checkpointed but no L1 RPC configured (--l1-rpc-url): cannot reveal");
      this.#warnedNoL1 = true;
      return;
    }
    const { rlp } = await fetchProvenHeader(headers, a.block);
    const at = { key: `rnd-reveal:${a.block}`, purpose: "randomness-reveal" };
    const r = await responder.respond(
      randomness.source === "l1origin"
        ? contractCall(L1OriginRandomness__factory.connect(to, provider), "reveal", [a.block, rlp], at)
        : contractCall(PrevrandaoRandomness__factory.connect(to, provider), "reveal", [a.block, rlp], at),
    );
    this.#count(r, "randomness-reveal", { block: a.block.toString() }, "randomness revealed");
  }

  // ---- 2. reopen voided disputes

  async #reopen(tick: Tick): Promise<void> {
    const { disputeManager: dm, responder, me } = this.#p;
    for (const id of this.#set(VOIDED)) {
      const d = await dm.getDispute(id, { blockTag: tick.block });
      if (d.challenger.toLowerCase() !== me.toLowerCase()) {
        this.#setDelete(VOIDED, id);
        continue;
      }
      const r = await responder.respond(contractCall(dm, "reopenDispute", [id, 0n], { key: `reopen:${id}`, purpose: "reopen-dispute" }));
      this.#count(r, "reopen-dispute", { disputeId: id.toString() }, "voided dispute reopened");
      // Refused (reopened already, window closed, job over) or done: nothing more to try.
      if (r.kind !== "failed") this.#setDelete(VOIDED, id);
    }
  }

  // ---- 3. availability bonds

  async #settle(tick: Tick): Promise<void> {
    const { dataAvailability: da, jobMarket, responder, me } = this.#p;
    const bt = { blockTag: tick.block };
    const facts = [];
    for (const id of this.#set(OWN_CHALLENGES)) {
      const c = await da.getChallenge(id, bt);
      const job = await jobMarket.getJob(c.jobId, bt);
      facts.push({ challengeId: id, status: Number(c.status), jobStatus: Number(job.status) });
    }
    const d = settleDecision(facts);
    for (const id of d.forget) this.#setDelete(OWN_CHALLENGES, id);
    for (const id of d.settle) {
      const r = await responder.respond(contractCall(da, "settle", [id], { key: `da-settle:${id}`, purpose: "da-settle" }));
      this.#count(r, "da-settle", { challengeId: id.toString() }, "availability challenge settled");
      if (r.kind !== "failed") this.#setDelete(OWN_CHALLENGES, id);
    }
    const credits = await da.credits(me, bt);
    if (credits > 0n) {
      const r = await responder.respond(contractCall(da, "withdraw", [], { key: `withdraw:da:${tick.block}`, purpose: "withdraw-da" }));
      this.#count(
        r,
        "withdraw-da",
        await this.#p.tokens.fields("credits", this.#p.addresses.stakingToken, credits),
        "availability credits withdrawn",
      );
    }
  }

  // ---- helpers

  #count(r: RespondOutcome, duty: string, details: Record<string, string>, msg: string): void {
    if (r.kind !== "sent" || r.result.kind !== "mined" || r.result.reused) return;
    this.#p.metrics?.keeperActions.inc({ duty });
    this.#log.info(details, msg);
  }

  #set(name: string): bigint[] {
    const s = this.#p.kv.get(name);
    return s === undefined ? [] : (JSON.parse(s) as string[]).map(BigInt);
  }
  #setAdd(name: string, id: bigint): void {
    const all = this.#set(name);
    if (!all.includes(id)) this.#p.kv.put(name, JSON.stringify([...all, id].map(String)));
  }
  #setDelete(name: string, id: bigint): void {
    const all = this.#set(name);
    if (all.includes(id)) this.#p.kv.put(name, JSON.stringify(all.filter((x) => x !== id).map(String)));
  }
}
