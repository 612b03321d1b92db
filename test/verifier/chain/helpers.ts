import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import type { Logger } from "pino";
import { Wallet, parseEther } from "ethers";
import hre from "hardhat";
import type { ChainTestTarget } from "../../../typechain-types";
import { createProvider } from "../../../verifier/chain/rpc";
import type { UPowProvider } from "../../../verifier/chain/rpc";

/** A logger whose lines are kept (for assertions) and otherwise silent. */
export function captureLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString("utf8"));
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines, text: () => lines.join("") };
}

export function tempDir(prefix = "upow-chain-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fresh account with 100 ETH, so every test has its own nonce sequence. */
export async function fundedWallet(provider: UPowProvider): Promise<Wallet> {
  const wallet = Wallet.createRandom().connect(provider) as unknown as Wallet;
  await hre.network.provider.request({
    method: "hardhat_setBalance",
    params: [wallet.address, "0x" + parseEther("100").toString(16)],
  });
  return new Wallet(wallet.privateKey, provider);
}

/** The in-process Hardhat network through our own provider (EIP-1193 endpoint). */
export function inProcessProvider(logger: Logger, extra: { pollingIntervalMs?: number } = {}): UPowProvider {
  return createProvider({ eip1193: hre.network.provider, logger, timeoutMs: 10_000, retries: 0, ...extra });
}

export async function deployTarget(): Promise<ChainTestTarget> {
  const factory = await hre.ethers.getContractFactory("ChainTestTarget");
  const target = await factory.deploy();
  await target.waitForDeployment();
  return target as unknown as ChainTestTarget;
}

export async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return hre.network.provider.request({ method, params });
}

export async function headNumber(): Promise<number> {
  return Number(BigInt((await rpc("eth_blockNumber")) as string));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `cond` until true or `timeoutMs` passes. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
