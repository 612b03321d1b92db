/**
 * The dashboard's I/O: reads the deployment's events from its first block, polls for new blocks,
 * reads the state the events touched (job status, dispute phase and windows, stake and credits),
 * evaluates submitted results (results.ts) in the background, and scrapes the daemons' /metrics and
 * /healthz. Every poll ends in a fresh `DashboardView` (model.ts folds it) handed to the listeners.
 */
import { getAddress, type Interface, type Log, type LogDescription, type Provider } from "ethers";
import type { Logger } from "pino";
import { readCredits, type Ledger } from "../account/ledgers";
import { scanLogs } from "../account/scan";
import { formatAmount, type TokenInfo } from "../chain/format";
import { deploymentStartBlock, type Deployment, type UPowContracts } from "../chain/registry";
import { collectErrorText } from "../chain/rpc";
import { TokenInfoCache } from "../chain/tokenInfo";
import { ArtifactClient } from "../daemon/check/artifacts";
import { Phase } from "../protocol/enums";
import type { LocalStore } from "../store";
import {
  buildAccounts,
  buildDisputes,
  buildJobs,
  daemonView,
  type AccountView,
  type AmountView,
  type ChainEvent,
  type ChainReads,
  type ContractName,
  type DaemonView,
  type DashboardView,
  type DisputeRead,
  type EventArg,
  type ResultView,
} from "./model";
import { evaluateResult } from "./results";

export interface DashboardIndexerParameters {
  provider: Provider;
  deployment: Deployment;
  contracts: UPowContracts;
  logger: Logger;
  /** Daemons' metrics servers (`http://host:port`, or their `/metrics` URL). */
  metricsUrls?: readonly string[];
  /** Where fetched result indices, manifests and checkpoint states are kept (hash-addressed). */
  store: LocalStore;
  /** Allow result files on loopback/private addresses (a local network, tests). @default false */
  allowPrivateArtifacts?: boolean;
  /** Blocks per getLogs request. @default 5_000 */
  chunkSize?: number;
}

type Listener = (view: DashboardView) => void;

export class DashboardIndexer {
  readonly #p: DashboardIndexerParameters;
  readonly #tokens: TokenInfoCache;
  readonly #client: ArtifactClient;
  readonly #events: ChainEvent[] = [];
  readonly #listeners = new Set<Listener>();
  readonly #times = new Map<number, number>();
  #scannedTo: number;
  #reads: ChainReads & {
    jobs: Map<string, { status: number }>;
    disputes: Map<string, DisputeRead>;
    accounts: Map<string, Omit<AccountView, "address" | "roles" | "locks">>;
    tokens: Map<string, TokenInfo>;
    lockLabels: Map<string, string>;
    results: Map<string, ResultView>;
  } = { jobs: new Map(), disputes: new Map(), accounts: new Map(), tokens: new Map(), lockLabels: new Map(), results: new Map() };
  #daemons: DaemonView[] = [];
  #head = { block: 0, time: 0 };
  #view: DashboardView;
  #stakingToken = "";
  /** `<jobId>:<tx>` of each result tried → when it last failed (Infinity: in flight or done). */
  readonly #evaluating = new Map<string, number>();
  readonly #labelled = new Set<string>();

  constructor(params: DashboardIndexerParameters) {
    this.#p = params;
    this.#tokens = new TokenInfoCache(params.provider);
    this.#client = new ArtifactClient({
      store: params.store,
      logger: params.logger,
      urlPolicy: { allowPrivate: params.allowPrivateArtifacts === true },
      retries: 1,
    });
    this.#scannedTo = deploymentStartBlock(params.deployment) - 1;
    this.#view = this.#fold();
  }

  view(): DashboardView {
    return this.#view;
  }

  onUpdate(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One round: new events, the reads they call for, the daemons; then the listeners hear of it. */
  async poll(): Promise<void> {
    const c = this.#p.contracts;
    if (this.#stakingToken === "") {
      this.#stakingToken = getAddress(await c.stakingToken.getAddress());
      await this.#token(this.#stakingToken);
    }
    const head = await this.#p.provider.getBlock("latest");
    if (head !== null && head.number > this.#scannedTo) {
      const fresh = await this.#scan(this.#scannedTo + 1, head.number);
      this.#scannedTo = head.number;
      this.#head = { block: head.number, time: head.timestamp };
      if (fresh.length > 0) {
        this.#events.push(...fresh);
        await this.#read(fresh, head.number);
      }
    }
    for (const e of this.#events) if (e.name === "ResultSubmitted") this.#evaluate(e);
    this.#daemons = await Promise.all((this.#p.metricsUrls ?? []).map((u) => scrapeDaemon(u)));
    this.#publish();
  }

  /** Polls every `intervalMs` until `signal` aborts; a failed poll is logged and retried. */
  async run(signal: AbortSignal, intervalMs = 1_000): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.poll();
      } catch (err) {
        this.#p.logger.warn({ err: collectErrorText(err) }, "dashboard poll failed; retrying");
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, intervalMs);
        function done(): void {
          clearTimeout(t);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  #publish(): void {
    this.#view = this.#fold();
    for (const l of this.#listeners) l(this.#view);
  }

  #fold(): DashboardView {
    const d = this.#p.deployment;
    return {
      network: d.network,
      chainId: d.chainId,
      head: this.#head,
      updatedAt: Date.now(),
      jobs: buildJobs(this.#events, this.#reads),
      disputes: buildDisputes(this.#events, this.#reads, this.#stakingToken),
      accounts: buildAccounts(this.#events, this.#reads, this.#stakingToken),
      daemons: this.#daemons,
    };
  }

  async #scan(from: number, to: number): Promise<ChainEvent[]> {
    const c = this.#p.contracts;
    const sources: [ContractName, string, Interface][] = [
      ["JobMarket", await c.jobMarket.getAddress(), c.jobMarket.interface],
      ["AuditManager", await c.auditManager.getAddress(), c.auditManager.interface],
      ["DisputeManager", await c.disputeManager.getAddress(), c.disputeManager.interface],
      ["StakeManager", await c.stakeManager.getAddress(), c.stakeManager.interface],
    ];
    const byAddress = new Map(sources.map(([name, address, iface]) => [getAddress(address), { name, iface }]));
    const logs = await scanLogs({
      provider: this.#p.provider,
      address: [...byAddress.keys()],
      topics: [],
      fromBlock: from,
      toBlock: to,
      chunkSize: this.#p.chunkSize,
    });
    const out: ChainEvent[] = [];
    for (const log of logs) {
      const src = byAddress.get(getAddress(log.address));
      const parsed = src === undefined ? null : safeParse(src.iface, log);
      if (src === undefined || parsed === null) continue;
      out.push({
        contract: src.name,
        name: parsed.name,
        block: log.blockNumber,
        logIndex: log.index,
        time: await this.#time(log.blockNumber),
        tx: log.transactionHash,
        args: argsOf(parsed),
      });
    }
    return out;
  }

  async #time(block: number): Promise<number> {
    let t = this.#times.get(block);
    if (t === undefined) {
      t = (await this.#p.provider.getBlock(block))?.timestamp ?? 0;
      this.#times.set(block, t);
    }
    return t;
  }

  async #token(address: string): Promise<void> {
    const a = getAddress(address);
    if (!this.#reads.tokens.has(a)) this.#reads.tokens.set(a, await this.#tokens.info(a));
  }

  /** Reads what `fresh` touched, at `block`; every account again (stake moves without its own events: a job's payout). */
  async #read(fresh: readonly ChainEvent[], block: number): Promise<void> {
    const c = this.#p.contracts;
    const at = { blockTag: block };
    const jobIds = new Set<string>();
    const disputeIds = new Set<string>();
    for (const e of fresh) {
      if (e.args.jobId !== undefined) jobIds.add(String(e.args.jobId));
      if (e.args.disputeId !== undefined && e.contract === "DisputeManager") disputeIds.add(String(e.args.disputeId));
      if (e.name === "JobCreated") await this.#token(String(e.args.paymentToken));
    }
    for (const id of jobIds) {
      const j = await c.jobMarket.getJob(BigInt(id), at);
      if (Number(j.status) === 0) continue; // an AuditManager or DisputeManager id of no job
      this.#reads.jobs.set(id, { status: Number(j.status) });
      if (!this.#labelled.has(id)) {
        this.#reads.lockLabels.set(await c.jobMarket.collateralLockId(BigInt(id), at), `job ${id} collateral`);
        this.#labelled.add(id);
      }
    }
    for (const id of disputeIds) {
      const d = await c.disputeManager.getDispute(BigInt(id), at);
      const phase = Number(d.phase);
      let { commitEnd, revealEnd } = d;
      if (phase === Phase.Voting) [commitEnd, revealEnd] = await c.disputeManager.votingWindows(BigInt(id), at);
      const pinpointDeadline = phase === Phase.Pinpointing ? await c.disputeManager.pinpointDeadline(BigInt(id), at) : d.deadline;
      this.#reads.disputes.set(id, {
        phase,
        ruling: Number(d.ruling),
        round: Number(d.round),
        pinpointDeadline: Number(pinpointDeadline),
        commitEnd: Number(commitEnd),
        revealEnd: Number(revealEnd),
        appealEnd: Number(d.appealEnd),
        randomnessBlock: Number(d.randomnessBlock),
      });
      for (let r = 0; r <= Number(d.round); r++)
        this.#reads.lockLabels.set(await c.disputeManager.jurorLockId(BigInt(id), r, at), `dispute ${id} round ${r} jurors`);
    }
    const tokens = [this.#stakingToken, ...[...this.#reads.tokens.keys()].filter((t) => t !== this.#stakingToken)];
    for (const { address } of buildAccounts(this.#events)) {
      const a = await c.stakeManager.account(address, at);
      const credits: { ledger: string; amount: AmountView }[] = [];
      for (const x of await readCredits({ contracts: c, account: address, tokens, blockTag: block })) {
        if (x.raw > 0n) credits.push({ ledger: ledgerName(x.ledger, x.token, this.#reads.tokens), amount: this.#amount(x.token, x.raw) });
      }
      this.#reads.accounts.set(address, {
        free: this.#amount(this.#stakingToken, a.free),
        locked: this.#amount(this.#stakingToken, a.locked),
        unbonding: this.#amount(this.#stakingToken, a.unbonding),
        jurorReserve: this.#amount(this.#stakingToken, a.reserve),
        credits,
      });
    }
  }

  #amount(token: string, raw: bigint): AmountView {
    const info = this.#reads.tokens.get(getAddress(token));
    return { raw: raw.toString(), text: info === undefined ? raw.toString() : formatAmount(raw, info) };
  }

  /**
   * Evaluates a submitted result in the background; the view shows "pending" until it ends. A
   * failure (the worker's store down, say) is tried again after RETRY_MS; fetched files are cached.
   */
  #evaluate(e: ChainEvent): void {
    const id = String(e.args.jobId);
    const created = this.#events.find((x) => x.name === "JobCreated" && String(x.args.jobId) === id);
    const key = `${id}:${e.tx}`;
    const last = this.#evaluating.get(key);
    if (created === undefined || (last !== undefined && Date.now() - last < RETRY_MS)) return;
    this.#evaluating.set(key, Infinity); // in flight
    void evaluateResult({
      client: this.#client,
      jobId: BigInt(id),
      resultURI: String(e.args.resultURI),
      specURI: String(created.args.specURI),
      specHash: String(created.args.specHash) as `0x${string}`,
      checkpointRoot: String(e.args.checkpointRoot) as `0x${string}`,
      finalStateHash: String(e.args.finalStateHash) as `0x${string}`,
    }).then((r) => {
      this.#reads.results.set(id, r);
      if (r.state === "error") {
        this.#evaluating.set(key, Date.now());
        this.#p.logger.warn({ jobId: id, error: r.error }, "result not evaluated; trying again later");
      }
      this.#publish();
    });
  }
}

const RETRY_MS = 60_000;

function ledgerName(ledger: Ledger, token: string, tokens: ReadonlyMap<string, TokenInfo>): string {
  return ledger === "job-market" || ledger === "audit" ? `${ledger} (${tokens.get(getAddress(token))?.symbol ?? token})` : ledger;
}

function safeParse(iface: Interface, log: Log): LogDescription | null {
  try {
    return iface.parseLog(log);
  } catch {
    return null; // an event of a newer contract version: not shown
  }
}

function argsOf(ev: LogDescription): Record<string, EventArg> {
  const out: Record<string, EventArg> = {};
  ev.fragment.inputs.forEach((input, i) => {
    out[input.name] = plain(ev.args[i]);
  });
  return out;
}

function plain(v: unknown): EventArg {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v) || (typeof v === "object" && v !== null && Symbol.iterator in v)) return [...(v as Iterable<unknown>)].map(plain);
  return String(v);
}

/** GET `<base>/metrics` and `<base>/healthz` of one daemon (2 s each). */
async function scrapeDaemon(url: string): Promise<DaemonView> {
  const base = url.replace(/\/+$/, "").replace(/\/metrics$/, "");
  const get = async (path: string): Promise<Response> => fetch(`${base}${path}`, { signal: AbortSignal.timeout(2_000) });
  let metrics: string | null = null;
  let healthy: boolean | null = null;
  let error: string | null = null;
  try {
    const r = await get("/metrics");
    if (r.ok) metrics = await r.text();
    else error = `/metrics answered HTTP ${r.status}`;
  } catch (e) {
    error = `/metrics: ${collectErrorText(e)}`;
  }
  try {
    const r = await get("/healthz");
    healthy = r.status === 200;
    await r.body?.cancel();
  } catch {
    healthy = null;
  }
  return daemonView(base, Date.now(), metrics, healthy, error);
}
