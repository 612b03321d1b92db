/**
 * How the audit obtains a step state (v3 V7.1, client side): the mirrors first; else one EIP-712
 * signed request per worker base, whose answer is checked like any artifact. Real store servers
 * and a real wallet; the worker's side is a StateRequestHandler that records what it was sent.
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import pino from "pino";
import { initState } from "../../../verifier/engine/onnx";
import { contentAddress, encodeState, hashStateBytes } from "../../../verifier/engine/step";
import { LocalStore, startStoreServer, type StateRequestHandler, type StoreServerHandle } from "../../../verifier/store";
import { buildResultIndex, type ResultIndex } from "../../../verifier/protocol/resultIndex";
import { recoverStateRequester, STATE_REQUEST_HEADERS, type StateRequestDomain } from "../../../verifier/protocol/stateRequest";
import { ArtifactClient } from "../../../verifier/daemon/check/artifacts";
import { stepStateFetcher, type StateRequestSigning } from "../../../verifier/daemon/check/stepStates";
import { ArtifactProblemError, StateRequestRefusedError } from "../../../verifier/daemon/errors";

const SPEC = { layers: [4, 3, 2], activation: "relu" as const, optimizer: "sgd" as const };
const domain: StateRequestDomain = { chainId: 31337n, jobMarket: "0x00000000000000000000000000000000000000aa" };

describe("verifier daemon: step states by signed request (V7.1)", function () {
  let tmp: string;
  let mirror: StoreServerHandle;
  let workerSrv: StoreServerHandle;
  let answer: StateRequestHandler;
  const seen: { jobId: bigint; step: number; signer: string; dispute?: string }[] = [];
  const states = [0, 1, 2].map((i) => encodeState(initState(SPEC, `s${i}`)));
  const me = new Wallet(Wallet.createRandom().privateKey);
  const signing: StateRequestSigning = { signer: me, domain, ttlSec: 60, now: async () => 1_000n };
  let index: ResultIndex;

  before(async function () {
    tmp = await mkdtemp(path.join(tmpdir(), "upow-stepstates-"));
    const published = await LocalStore.open(path.join(tmp, "mirror"));
    await published.put(states[0]!); // the mirror has only S_0
    mirror = await startStoreServer({ store: published });
    workerSrv = await startStoreServer({
      store: await LocalStore.open(path.join(tmp, "worker")),
      states: async (jobId, step, headers) => {
        const expiry = Number(headers[STATE_REQUEST_HEADERS.expiry]);
        const signer = recoverStateRequester(domain, { jobId, step, expiry }, String(headers[STATE_REQUEST_HEADERS.signature]));
        seen.push({
          jobId,
          step,
          signer,
          ...(headers[STATE_REQUEST_HEADERS.dispute] ? { dispute: String(headers[STATE_REQUEST_HEADERS.dispute]) } : {}),
        });
        return answer(jobId, step, headers);
      },
    });
    const s = states.map((b) => ({ stateHash: hashStateBytes(b), sha256: contentAddress(b) }));
    index = buildResultIndex({
      jobId: 4n,
      specHash: `0x${"00".repeat(32)}`,
      T: 2,
      k: 2,
      intervals: [s],
      artifactBaseUrls: [mirror.url, workerSrv.url],
    });
  });
  after(async function () {
    await mirror.close();
    await workerSrv.close();
    await rm(tmp, { recursive: true, force: true });
  });
  beforeEach(function () {
    seen.length = 0;
  });

  async function fetcher(o: { signing?: StateRequestSigning; disputeId?: bigint; maxStateBytes?: number } = {}) {
    const client = new ArtifactClient({
      store: await LocalStore.open(path.join(tmp, `cache-${Math.random()}`)),
      logger: pino({ level: "silent" }),
      retries: 0,
      timeoutMs: 2_000,
      urlPolicy: { allowPrivate: true },
    });
    return stepStateFetcher({
      client,
      index,
      jobId: 4n,
      maxStateBytes: o.maxStateBytes ?? 1 << 20,
      logger: pino({ level: "silent" }),
      ...(o.signing ? { signing: o.signing } : {}),
      ...(o.disputeId !== undefined ? { role: { disputeId: o.disputeId } } : {}),
    });
  }

  it("takes a state from the mirrors without asking the worker", async function () {
    answer = async () => ({ status: 500, error: "not expected" });
    const got = await (await fetcher({ signing })).call(null, 0, 0);
    expect(got.stateHash).to.equal(index.intervals[0]!.steps[0]!.stateHash);
    expect(seen).to.deep.equal([]);
  });

  it("asks the worker with a request signed by this node's key for the global step, and checks the bytes", async function () {
    answer = async (_j, step) => ({ status: 200, bytes: states[step]! });
    const got = await (await fetcher({ signing, disputeId: 9n }))(0, 1);
    expect(got.stateHash).to.equal(index.intervals[0]!.steps[1]!.stateHash);
    expect(seen).to.deep.equal([{ jobId: 4n, step: 1, signer: me.address, dispute: "9" }]);
  });

  it("without a key it stays with the mirrors: the state is unavailable (transient)", async function () {
    const err = await (await fetcher())(0, 1).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).transient).to.equal(true);
  });

  it("a refusal (403) is a StateRequestRefusedError carrying the worker's reason, not evidence", async function () {
    answer = async () => ({ status: 403, error: "requester 0x… is not an assigned auditor" });
    const err = await (await fetcher({ signing }))(0, 2).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StateRequestRefusedError);
    expect((err as StateRequestRefusedError).status).to.equal(403);
    expect((err as StateRequestRefusedError).shortMessage).to.match(/refused our signed request: requester 0x… is not an assigned auditor/);
  });

  it("other bytes than the committed ones are refused as the worker's fault (not transient)", async function () {
    answer = async () => ({ status: 200, bytes: states[0]! });
    const err = await (await fetcher({ signing }))(0, 2).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).shortMessage).to.match(/does not match its committed address/);
    expect((err as ArtifactProblemError).transient).to.equal(false);
  });

  it("an answer above the size limit is refused before it is read", async function () {
    answer = async (_j, step) => ({ status: 200, bytes: states[step]! });
    const err = await (await fetcher({ signing, maxStateBytes: 64 }))(0, 2).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).shortMessage).to.match(/larger than the limit/);
  });

  it("a worker that fails (503) leaves the state unavailable (transient), to be retried", async function () {
    answer = async () => ({ status: 503, error: "replaying" });
    const err = await (await fetcher({ signing }))(0, 2).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(ArtifactProblemError);
    expect((err as ArtifactProblemError).transient).to.equal(true);
  });

  it("the route takes only GET /states/<decimal jobId>/<decimal step>; a store without a handler has no such route", async function () {
    answer = async () => ({ status: 500, error: "not expected" });
    for (const bad of ["/states/4/x", "/states/4/01", "/states/4/1/", "/states/%34/1"])
      expect((await fetch(`${workerSrv.url}${bad}`)).status, bad).to.equal(400);
    expect((await fetch(`${workerSrv.url}/states/4/1`, { method: "POST" })).status).to.equal(405);
    expect((await fetch(`${mirror.url}/states/4/1`)).status).to.equal(404);
    expect(seen).to.deep.equal([]);
  });
});
