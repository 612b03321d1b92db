/**
 * Who gets a step state from a worker (v3 V7.1): real EIP-712 signatures (ethers wallets), the
 * decision over the contract views StateAccess declares (given here as plain facts; the daemon
 * test in test/verifier/daemon/singleStep.test.ts runs it against the deployed contracts), and the
 * per-requester quota in a key-value store like the journal's.
 */
import { expect } from "chai";
import { ethers, Wallet } from "ethers";
import type { KeyValueStore } from "../../../verifier/chain/journal";
import {
  signStateRequest,
  STATE_REQUEST_HEADERS,
  parseStatePath,
  statePath,
  type StateRequestDomain,
} from "../../../verifier/protocol/stateRequest";
import { StateAccess, type StateAccessChain } from "../../../verifier/worker/stateAccess";

const domain: StateRequestDomain = { chainId: 31337n, jobMarket: "0x00000000000000000000000000000000000000aa" };
const key = () => new Wallet(Wallet.createRandom().privateKey);
const worker = key();
const auditor = key();
const challenger = key();
const juror = key();
const stranger = key();
const JOB = 5n;
const NOW = 1_000_000n;
const COMMITMENT = ethers.id("commitment");

function memoryKv(): KeyValueStore {
  const m = new Map<string, string>();
  return { get: (k) => m.get(k), put: (k, v) => void m.set(k, v), delete: (k) => void m.delete(k) };
}

function chain(over: Partial<{ windowEnd: bigint; status: number; commitBlock: bigint }> = {}): StateAccessChain {
  return {
    job: async (id) =>
      id === JOB
        ? {
            worker: worker.address,
            status: over.status ?? 3,
            submittedBlock: 100n,
            windowEnd: over.windowEnd ?? NOW + 500n,
            totalSteps: 16n,
          }
        : null,
    isAuditor: async (id, a) => id === JOB && a === auditor.address,
    isChallengeParty: async (id, d, a) => id === JOB && d === 9n && (a === challenger.address || a === juror.address),
    commitment: async (c) =>
      c === COMMITMENT ? { challenger: challenger.address, committedBlock: over.commitBlock ?? 101n, committedAt: NOW - 10n } : null,
    commitTTL: async () => 3_600n,
    now: async () => NOW,
  };
}

async function signed(
  w: Wallet,
  step: number,
  o: { jobId?: bigint; expiry?: bigint; extra?: Record<string, string> } = {},
): Promise<Record<string, string>> {
  const expiry = o.expiry ?? NOW + 60n;
  const sig = await signStateRequest(w, domain, { jobId: o.jobId ?? JOB, step, expiry: Number(expiry) });
  return { [STATE_REQUEST_HEADERS.expiry]: String(expiry), [STATE_REQUEST_HEADERS.signature]: sig, ...o.extra };
}

function access(c = chain(), quota = 3): StateAccess {
  return new StateAccess({ chain: c, domain, policy: { quota, maxTtlSec: 600 }, worker: worker.address, kv: memoryKv() });
}

describe("worker: signed step-state requests (V7.1)", function () {
  describe("when the request is valid", function () {
    it("serves an assigned auditor during the window", async function () {
      const d = await access().authorize(JOB, 7, await signed(auditor, 7));
      expect(d).to.include({ ok: true, requester: auditor.address, role: "auditor" });
    });

    it("serves the challenger and a drawn juror of a live dispute, even after the window", async function () {
      const a = access(chain({ windowEnd: NOW - 1n }));
      for (const w of [challenger, juror]) {
        const d = await a.authorize(JOB, 3, await signed(w, 3, { extra: { [STATE_REQUEST_HEADERS.dispute]: "9" } }));
        expect(d).to.include({ ok: true, role: "dispute-party" });
      }
    });

    it("serves a challenger whose commitment was mined after the submission", async function () {
      const d = await access().authorize(
        JOB,
        3,
        await signed(challenger, 3, { extra: { [STATE_REQUEST_HEADERS.commitment]: COMMITMENT } }),
      );
      expect(d).to.include({ ok: true, role: "committed-challenger" });
    });
  });

  describe("when the request must be refused", function () {
    it("refuses an unsigned request (401)", async function () {
      expect(await access().authorize(JOB, 7, {})).to.deep.include({ ok: false, status: 401 });
    });

    it("refuses an expired request (401) and one that lives too long (401)", async function () {
      const expired = await access().authorize(JOB, 7, await signed(auditor, 7, { expiry: NOW - 1n }));
      expect(expired).to.deep.include({ ok: false, status: 401 });
      expect(!expired.ok && expired.error).to.match(/expired/);
      const far = await access().authorize(JOB, 7, await signed(auditor, 7, { expiry: NOW + 601n }));
      expect(!far.ok && far.error).to.match(/more than 600s ahead/);
    });

    it("refuses a wrong signer: a signature over another step, job or expiry names someone else (403)", async function () {
      const a = access();
      const other = await signed(auditor, 6);
      expect(await a.authorize(JOB, 7, other)).to.deep.include({ ok: false, status: 403 });
      const otherJob = await signed(auditor, 7, { jobId: 6n });
      expect(await a.authorize(JOB, 7, otherJob)).to.deep.include({ ok: false, status: 403 });
      const h = await signed(auditor, 7);
      h[STATE_REQUEST_HEADERS.expiry] = String(NOW + 61n);
      expect(await a.authorize(JOB, 7, h)).to.deep.include({ ok: false, status: 403 });
      // Signed for another chain or market: also someone else.
      const sig = await signStateRequest(auditor, { ...domain, chainId: 1n }, { jobId: JOB, step: 7, expiry: Number(NOW + 60n) });
      expect(await a.authorize(JOB, 7, { ...(await signed(auditor, 7)), [STATE_REQUEST_HEADERS.signature]: sig })).to.deep.include({
        ok: false,
        status: 403,
      });
    });

    it("refuses a malformed signature (401)", async function () {
      const h = await signed(auditor, 7);
      h[STATE_REQUEST_HEADERS.signature] = `0x${"00".repeat(65)}`;
      expect(await access().authorize(JOB, 7, h)).to.deep.include({ ok: false, status: 401 });
    });

    it("refuses someone who is not a party of the job (403), naming it", async function () {
      const d = await access().authorize(JOB, 7, await signed(stranger, 7));
      expect(d).to.deep.include({ ok: false, status: 403 });
      expect(!d.ok && d.error)
        .to.include(stranger.address)
        .and.match(/not an assigned auditor, challenger or drawn juror of job 5/);
    });

    it("refuses a dispute id in which the signer plays no part, and an auditor after the window (403)", async function () {
      expect(
        await access().authorize(JOB, 7, await signed(stranger, 7, { extra: { [STATE_REQUEST_HEADERS.dispute]: "9" } })),
      ).to.deep.include({ ok: false, status: 403 });
      expect(
        await access().authorize(JOB, 7, await signed(auditor, 7, { extra: { [STATE_REQUEST_HEADERS.dispute]: "10" } })),
      ).to.deep.include({ ok: false, status: 403 });
      const late = await access(chain({ windowEnd: NOW - 1n })).authorize(JOB, 7, await signed(auditor, 7));
      expect(!late.ok && late.error).to.match(/window is over/);
    });

    it("refuses a commitment that is someone else's or older than the submission (403)", async function () {
      expect(
        await access().authorize(JOB, 3, await signed(stranger, 3, { extra: { [STATE_REQUEST_HEADERS.commitment]: COMMITMENT } })),
      ).to.deep.include({ ok: false, status: 403 });
      expect(
        await access(chain({ commitBlock: 100n })).authorize(
          JOB,
          3,
          await signed(challenger, 3, { extra: { [STATE_REQUEST_HEADERS.commitment]: COMMITMENT } }),
        ),
      ).to.deep.include({ ok: false, status: 403 });
    });

    it("refuses another worker's job, a job not submitted, and a step beyond T (404)", async function () {
      expect(await access().authorize(6n, 7, await signed(auditor, 7, { jobId: 6n }))).to.deep.include({ ok: false, status: 404 });
      expect(await access(chain({ status: 4 })).authorize(JOB, 7, await signed(auditor, 7))).to.deep.include({ ok: false, status: 404 });
      expect(await access().authorize(JOB, 17, await signed(auditor, 17))).to.deep.include({ ok: false, status: 404 });
    });

    it("refuses a requester over its quota (429); repeats are free and quotas are per requester", async function () {
      const a = access(chain(), 2);
      expect(await a.authorize(JOB, 1, await signed(auditor, 1))).to.include({ ok: true });
      expect(await a.authorize(JOB, 2, await signed(auditor, 2))).to.include({ ok: true });
      expect(await a.authorize(JOB, 1, await signed(auditor, 1))).to.include({ ok: true }); // same state again
      const over = await a.authorize(JOB, 3, await signed(auditor, 3));
      expect(over).to.deep.include({ ok: false, status: 429 });
      expect(!over.ok && over.error).to.match(/quota of 2 states of job 5/);
      expect(
        await a.authorize(JOB, 3, await signed(challenger, 3, { extra: { [STATE_REQUEST_HEADERS.commitment]: COMMITMENT } })),
      ).to.include({ ok: true });
    });

    it("counts concurrent requests: a burst cannot overrun the quota", async function () {
      const a = access(chain(), 2);
      const all = await Promise.all([1, 2, 3, 4, 5].map(async (s) => a.authorize(JOB, s, await signed(auditor, s))));
      expect(all.filter((d) => d.ok)).to.have.length(2);
    });

    it("gives a state back to the quota when it could not be served", async function () {
      const a = access(chain(), 1);
      const d = await a.authorize(JOB, 1, await signed(auditor, 1));
      expect(d.ok).to.equal(true);
      if (d.ok) d.release();
      expect(await a.authorize(JOB, 2, await signed(auditor, 2))).to.include({ ok: true });
    });
  });

  it("state paths are decimal /states/<jobId>/<step> only", function () {
    expect(parseStatePath(statePath(5n, 12))).to.deep.equal({ jobId: 5n, step: 12 });
    for (const bad of ["/states/5/12/", "/states/05/1", "/states/5/-1", "/states/5/1e3", "/states/%35/1", "/states/5"])
      expect(parseStatePath(bad)).to.equal(null);
  });
});
