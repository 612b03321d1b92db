#!/usr/bin/env node
/**
 * Integrator quickstart, plain JavaScript, using nothing but the `upow` package (docs/integrators.md):
 * create an MNIST training job, follow it to its end, read the verified result, download the model
 * and run it on onnxruntime. test/e2e/packedTarball.test.ts runs this very file from a temporary
 * project that installed the packed tarball.
 *
 *   (chain, deploy, a worker, verifiers and the keeper running: README.md, "Separate processes")
 *   node examples/sdkQuickstart.js
 *
 * Env: UPOW_RPC_URLS (first URL; default http://127.0.0.1:8545), UPOW_DEPLOYMENTS (default
 * deployments/localhost.json), REQUESTER_KEY (default Hardhat account #1), OUT_DIR (where
 * model.onnx and weights.safetensors go; default a new temporary folder).
 */
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { JsonRpcProvider, Wallet, id, parseUnits } = require("ethers");
const ort = require("onnxruntime-node");
const {
  loadDeployment,
  createJob,
  serveArtifacts,
  waitForFinal,
  getResult,
  downloadModel,
  mnistTestSet,
  TestToken__factory,
  UPowError,
} = require("upow");

/** Hardhat's well-known dev account #1 (never holds real funds). */
const HARDHAT_ACCOUNT_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

async function main() {
  const rpcUrl = (process.env.UPOW_RPC_URLS ?? "http://127.0.0.1:8545").split(",")[0].trim();
  const deployment = loadDeployment({ file: process.env.UPOW_DEPLOYMENTS ?? "deployments/localhost.json" });
  // cacheTimeout -1: no cached eth_getTransactionCount, so back-to-back transactions get fresh nonces.
  const provider = new JsonRpcProvider(rpcUrl, deployment.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const signer = new Wallet(process.env.REQUESTER_KEY ?? HARDHAT_ACCOUNT_1, provider);
  const outDir = process.env.OUT_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "upow-quickstart-"));
  const reward = parseUnits("100", 18);
  const verificationFee = parseUnits("10", 18);

  // Local test tokens are freely mintable; on a real network the requester already holds the token.
  const pay = deployment.contracts.PaymentToken;
  if (pay.contractName === "TestToken") {
    const token = TestToken__factory.connect(pay.address, signer);
    if ((await token.balanceOf(signer.address)) < reward + verificationFee)
      await (await token.mint(signer.address, reward + verificationFee)).wait();
  }

  // The job's artifacts are served from here until the job ends (workers and verifiers fetch them).
  const server = await serveArtifacts({ dir: path.join(outDir, "store") });
  try {
    const seed = id(`quickstart-${Date.now()}`);
    const job = await createJob({
      signer,
      deployment,
      store: server.store,
      publicBaseUrl: server.url,
      reward,
      verificationFee,
      job: { totalSteps: 40, checkpointInterval: 10, batchSize: 32, numBatches: 8, seed, hyperparameters: { lr: 0.3 } },
    });
    console.log(`job ${job.jobId} created in block ${job.blockNumber} (${job.manifest.description})`);

    const status = await waitForFinal({
      provider,
      deployment,
      jobId: job.jobId,
      timeoutMs: 20 * 60_000,
      onEvent: (e) => console.log(`  block ${e.blockNumber}: ${e.name}`),
    });
    console.log(`job ${job.jobId} ended ${status}`);
    if (status !== "Finalized") {
      process.exitCode = 1;
      return;
    }

    const result = await getResult({ provider, deployment, jobId: job.jobId });
    for (const p of result.lossCurve) console.log(`  step ${p.step}: test loss ${p.loss.toFixed(3)}, accuracy ${p.accuracy.toFixed(3)}`);

    const model = await downloadModel({ provider, deployment, jobId: job.jobId });
    fs.writeFileSync(path.join(outDir, "model.onnx"), model.onnx);
    fs.writeFileSync(path.join(outDir, "weights.safetensors"), model.safetensors);

    // The downloaded graph on onnxruntime, on the digits the job held out of training.
    const session = await ort.InferenceSession.create(path.join(outDir, "model.onnx"));
    const test = mnistTestSet(seed);
    const out = await session.run({ [model.inputName]: new ort.Tensor("float32", test.x, [test.count, test.features]) });
    const labels = out[model.outputNames.label].data;
    let correct = 0;
    for (let i = 0; i < test.count; i++) if (labels[i] === test.y[i]) correct++;
    console.log(
      JSON.stringify({
        jobId: job.jobId.toString(),
        status,
        checkpointRoot: result.checkpointRoot,
        finalStateHash: result.finalStateHash,
        testAccuracy: result.testAccuracy,
        onnxAccuracy: correct / test.count,
        model: path.join(outDir, "model.onnx"),
      }),
    );
    await session.release();
  } finally {
    await server.close();
    provider.destroy();
  }
}

main().catch((e) => {
  console.error(e instanceof UPowError ? `${e.name}: ${e.message}` : e);
  process.exitCode = 1;
});
