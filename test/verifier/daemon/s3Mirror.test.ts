/**
 * Artifact storage beyond one host, end to end on the in-process Hardhat network: a requester that
 * publishes its job only to S3 (no HTTP server of its own), a real worker daemon that mirrors its
 * result to S3 and is then stopped with its store server, and a verifier daemon whose audit
 * fetches everything from the bucket (s3rver) through the unchanged, hash-checking fetch client.
 */
import { expect } from "chai";
import { createServer, type Socket } from "node:net";
import path from "node:path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deploySystem, E18, openDisputeOnIndex } from "../../helpers/system";
import { S3RVER_CREDENTIALS, startLocalS3, type LocalS3 } from "../../helpers/s3";
import { CHALLENGER_ACCOUNT, daemonTestBed, readRecords, startVerifier, startWorker, stop, verifierConfig, waitFor } from "./harness";
import { ArtifactFetchFailedError, ArtifactNetworkError, LocalStore, fetchArtifact } from "../../../verifier/store";
import { S3ArtifactStore } from "../../../verifier/store/s3Store";
import { createJob, prepareMnistJob } from "../../../verifier/requester/createJob";
import { parseResultIndex } from "../../../verifier/protocol/resultIndex";
import { JobStatus } from "../../../verifier/protocol/enums";

describe("S3 artifact mirror (requester and worker publish to S3; the worker goes offline)", function () {
  this.timeout(300_000);
  const bed = daemonTestBed("upow-s3e2e-");
  let s3: LocalS3;
  const closers: (() => void)[] = [];
  before(async function () {
    s3 = await startLocalS3();
  });
  after(async function () {
    for (const c of closers.splice(0)) c();
    await s3.close();
  });

  it("a verifier audits and passes a job from S3 alone after the worker and its store stopped", async function () {
    const sys = await loadFixture(deploySystem);
    const requesterRemote = new S3ArtifactStore({
      bucket: s3.bucket,
      prefix: "requester",
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
    });
    closers.push(() => requesterRemote.close());
    const job = await prepareMnistJob({
      store: await LocalStore.open(path.join(bed.tmp, "requester-store")),
      remote: requesterRemote,
      totalSteps: 8,
      checkpointInterval: 2,
      batchSize: 16,
      numBatches: 4,
      seed: ethers.id("s3-mirror"),
    });
    expect(job.specURI.startsWith(`${requesterRemote.publicBaseUrl}/artifacts/`)).to.equal(true);
    expect(job.manifest.data.uri.startsWith(`${requesterRemote.publicBaseUrl}/artifacts/`)).to.equal(true);
    const { jobId } = await createJob({
      jobMarket: sys.jobMarket.connect(sys.requester),
      job,
      paymentToken: sys.payToken.connect(sys.requester),
      reward: 100n * E18,
      verificationFee: 10n * E18,
      claimDeadline: BigInt(await time.latest()) + 86_400n,
      trainingDuration: 36_000n,
    });

    const worker = await startWorker(sys, path.join(bed.tmp, "worker"), {
      s3: { bucket: s3.bucket, prefix: "worker", endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS },
    });
    bed.running.push(worker);
    bed.miner.start();
    await waitFor("result submitted", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted, 240_000);
    await stop(worker); // its HTTP store closes with it

    const s3Base = `${s3.endpoint}/${s3.bucket}/worker`;
    const [submitted] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
    const resultURI = submitted!.args.resultURI;
    expect(resultURI.startsWith(`${s3Base}/artifacts/`)).to.equal(true);
    const reader = await LocalStore.open(path.join(bed.tmp, "reader"));
    const indexHash = resultURI.slice(-64);
    await fetchArtifact({
      hash: indexHash,
      uris: [resultURI],
      store: reader,
      maxBytes: 1 << 20,
      urlPolicy: { allowPrivate: true },
      retries: 0,
    });
    const index = parseResultIndex(await reader.get(indexHash));
    expect(index.artifactBaseUrls).to.have.length(2);
    expect(index.artifactBaseUrls[1]).to.equal(s3Base);
    // The worker's own store is gone: only the S3 mirror can serve the states now.
    const state = index.intervals[1]!.steps[1]!.sha256;
    const own = await fetchArtifact({
      hash: state,
      uris: [`${index.artifactBaseUrls[0]}/artifacts/${state}`],
      store: reader,
      maxBytes: 1 << 20,
      urlPolicy: { allowPrivate: true },
      retries: 0,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(own).to.be.instanceOf(ArtifactFetchFailedError);
    expect((own as ArtifactFetchFailedError).errors[0]).to.be.instanceOf(ArtifactNetworkError);

    const dir = path.join(bed.tmp, "verifier");
    bed.running.push(startVerifier(await verifierConfig(sys, CHALLENGER_ACCOUNT, dir)));
    const audit = await waitFor(`audit of job ${jobId}`, async () => readRecords(dir, (r) => r.audit(jobId)), 120_000);
    expect(audit).to.deep.include({ kind: "passed" }, JSON.stringify(audit));
    expect(await sys.disputeManager.queryFilter(sys.disputeManager.filters.DisputeOpened())).to.have.length(0);
  });

  it("an S3 outage holds the submission back (no resultURI naming missing objects); it goes out once S3 answers", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys, { seed: ethers.id("s3-outage") });
    // A port that accepts and drops every connection: each S3 call of the mirror fails there.
    const sockets: Socket[] = [];
    const blackhole = createServer((socket) => {
      sockets.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
    const port = (blackhole.address() as { port: number }).port;
    const endpoint = `http://127.0.0.1:${port}`;
    bed.running.push(
      await startWorker(sys, path.join(bed.tmp, "outage-worker"), {
        s3: { bucket: s3.bucket, prefix: "outage", endpoint, credentials: S3RVER_CREDENTIALS },
      }),
    );
    bed.miner.start();
    // Training is done and the mirror has been tried (and retried) before this returns.
    await waitFor("mirror attempts", async () => sockets.length >= 8, 240_000);
    expect(Number((await sys.jobMarket.getJob(jobId)).status)).to.equal(JobStatus.Claimed);
    expect(await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId))).to.have.length(0);

    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    const late = await startLocalS3(s3.bucket, port);
    try {
      await waitFor("result submitted", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted, 120_000);
      const [submitted] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
      const resultURI = submitted!.args.resultURI;
      expect(resultURI.startsWith(`${endpoint}/${s3.bucket}/outage/artifacts/`)).to.equal(true);
      const reader = await LocalStore.open(path.join(bed.tmp, "outage-reader"));
      await fetchArtifact({
        hash: resultURI.slice(-64),
        uris: [resultURI],
        store: reader,
        maxBytes: 1 << 20,
        urlPolicy: { allowPrivate: true },
        retries: 0,
      });
    } finally {
      for (const r of bed.running.splice(0)) await stop(r);
      await late.close();
    }
  });

  it("with --publish-steps on-dispute, a disputed interval's states reach the bucket and outlive the worker", async function () {
    const sys = await loadFixture(deploySystem);
    const { jobId } = await bed.requester.post(sys, { seed: ethers.id("s3-on-dispute") });
    const worker = await startWorker(sys, path.join(bed.tmp, "dispute-worker"), {
      publishSteps: "on-dispute",
      s3: { bucket: s3.bucket, prefix: "dispute", endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS },
    });
    bed.running.push(worker);
    bed.miner.start();
    await waitFor("result submitted", async () => Number((await sys.jobMarket.getJob(jobId)).status) === JobStatus.Submitted, 240_000);
    const [submitted] = await sys.jobMarket.queryFilter(sys.jobMarket.filters.ResultSubmitted(jobId));
    const index = parseResultIndex(Buffer.from(await (await fetch(submitted!.args.resultURI)).arrayBuffer()));
    const s3Base = index.artifactBaseUrls[1]!;
    const inner = index.intervals[1]!.steps[1]!;
    expect((await fetch(`${s3Base}/artifacts/${inner.sha256}`)).status).to.equal(404); // not published before a dispute

    await openDisputeOnIndex(sys, index, jobId, 1, ethers.id("s3-challenger-salt") as `0x${string}`);
    await waitFor("disputed states mirrored", async () => (await fetch(`${s3Base}/artifacts/${inner.sha256}`)).status === 200, 120_000);
    await stop(worker);
    const reader = await LocalStore.open(path.join(bed.tmp, "dispute-reader"));
    for (const s of index.intervals[1]!.steps) {
      await fetchArtifact({
        hash: s.sha256,
        uris: [`${s3Base}/artifacts/${s.sha256}`],
        store: reader,
        maxBytes: 1 << 20,
        urlPolicy: { allowPrivate: true },
        retries: 0,
      });
    }
  });
});
