/**
 * Staking helpers for fixtures: free stake (collateral, attestations) and the juror reserve, which
 * weighs in draws only from the next epoch on (v3 V3.1).
 */
import hre, { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { StakeManager, TestToken } from "../../typechain-types";

/** Week-long epochs with a one-hour draw window: time travel inside one test stays in one epoch
 * (deployments/config/hardhat.json uses the same). */
export const TEST_EPOCHS = { epochLength: 7 * 86_400, drawWindow: 3_600 } as const;

/** Mints `free + reserve`, stakes `free` and queues `reserve` into the juror reserve. */
export async function stakeAccount(
  stakeManager: StakeManager,
  token: TestToken,
  who: HardhatEthersSigner,
  free: bigint,
  reserve = 0n,
): Promise<void> {
  const sm = await stakeManager.getAddress();
  await token.mint(who.address, free + reserve);
  await token.connect(who).approve(sm, free + reserve);
  if (free > 0n) await stakeManager.connect(who).stake(free);
  if (reserve > 0n) await stakeManager.connect(who).stakeForJury(reserve);
}

/** Moves chain time to the start of the next epoch and applies every queued change due then. */
export async function enterNextEpoch(stakeManager: StakeManager): Promise<bigint> {
  const epoch = await stakeManager.currentEpoch();
  await time.increaseTo(await stakeManager.epochStart(epoch + 1n));
  const [signer] = await ethers.getSigners();
  await stakeManager.connect(signer).applyQueued(1_000);
  return epoch + 1n;
}

/** True inside `npm run coverage` (instrumented contracts run several times slower). */
export const UNDER_COVERAGE = (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;
