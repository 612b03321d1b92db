/**
 * Block headers of the in-process network for tests of contracts/randomness/BlockHeader.sol; the
 * rebuild itself is production code (verifier/chain/blockHeader.ts, used by the daemon's keeper).
 */
import { network } from "hardhat";
import { fetchProvenHeader, fetchRpcBlock, type RpcBlock, type RpcSend } from "../../verifier/chain/blockHeader";

export { BlockHeaderRebuildError, headerRlp, type RpcBlock } from "../../verifier/chain/blockHeader";

const hardhat: RpcSend = { send: (method, params) => network.provider.send(method, params) };

/** The block `n` (a number or "latest") from the in-process network. */
export function rpcBlock(n: bigint | "latest"): Promise<RpcBlock> {
  return fetchRpcBlock(hardhat, n);
}

/** The header RLP of block `n`, checked: its keccak256 is the block hash the node reports. */
export function provenHeader(n: bigint | "latest"): Promise<{ rlp: string; block: RpcBlock }> {
  return fetchProvenHeader(hardhat, n);
}
