/**
 * Issue 15 item 1 with real processes: on a `hardhat node` that mines only when a transaction
 * arrives (UPOW_BLOCK_TIME_MS=0, as any automining dev chain), the README's daemons still see the
 * job whose block is the head: the worker claims and submits it and a verifier follows the
 * submission. No block comes after the one they wait for (no keeper, no interval mining), so a
 * daemon reading `confirmations` blocks behind the head would wait forever.
 */
import { expect } from "chai";
import { getAddress } from "ethers";
import { FlowRunner } from "./flowRunner";
import { sleep, until, waitForLog } from "./processes";

const WORKER = getAddress("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");

describe("daemons on a chain that mines only on transactions (issue 15 item 1)", function () {
  this.timeout(15 * 60_000);
  const e2e = new FlowRunner("txmining", { UPOW_BLOCK_TIME_MS: "0" });

  before(async function () {
    await e2e.open();
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") e2e.failed();
  });

  after(async function () {
    await e2e.close();
  });

  it("the worker claims and submits a job mined in the head block; a verifier follows the submission", async function () {
    await e2e.startChain();
    await e2e.setup();
    const { c, provider } = e2e;
    // The node really mines only on transactions: an idle head stays where it is.
    const idle = await provider.getBlockNumber();
    await sleep(3_000);
    expect(await provider.getBlockNumber(), "no block without a transaction").to.equal(idle);

    const worker = e2e.start("worker");
    const verifier = e2e.start("verifier-3");
    await waitForLog(worker, /worker started/, 180_000);
    await waitForLog(verifier, /verifier started/, 180_000);
    e2e.mark("daemons up");

    const requester = e2e.start("requester");
    const created = await waitForLog(requester, /job \d+ created/, 180_000);
    const jobId = BigInt(/job (\d+) created/.exec(created)![1]!);
    e2e.mark("job created");

    const submitted = await until("the worker's submission", 300_000, async () => {
      const job = await c.jobMarket.getJob(jobId);
      return job.submittedBlock > 0n ? job : undefined;
    });
    expect(submitted.worker).to.equal(WORKER);
    e2e.mark("job submitted");
    await waitForLog(verifier, new RegExp(`"jobId":"${jobId}".*job submitted`), 120_000);
    e2e.mark("verifier follows");
  });
});
