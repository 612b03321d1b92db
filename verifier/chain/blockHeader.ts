/**
 * Rebuilds the RLP of a block header from `eth_getBlockByNumber`, so that anyone can prove a
 * block's mixHash (prevrandao) to PrevrandaoRandomness / L1OriginRandomness with `reveal(T, rlp)`
 * (docs/randomness.md). keccak256 of the result is the block hash; `fetchProvenHeader` checks it.
 */
import { encodeRlp, getBytes, keccak256, toBeArray, type BytesLike } from "ethers";
import { UPowError } from "../errors";

/** A block as the JSON-RPC returns it (the fields the header is made of). */
export type RpcBlock = Record<string, string | string[] | unknown[] | null | undefined> & { hash: string; number: string; mixHash: string };

export class BlockHeaderRebuildError extends UPowError {
  override readonly name = "BlockHeaderRebuildError";
}

/** Header fields in consensus order; the ones after baseFeePerGas exist from their hardfork on. */
const FIXED = ["parentHash", "sha3Uncles", "miner", "stateRoot", "transactionsRoot", "receiptsRoot", "logsBloom"] as const;
const QUANTITIES = ["difficulty", "number", "gasLimit", "gasUsed", "timestamp"] as const;
/** Optional trailing fields: [name, kind]. A later one present needs all earlier ones present. */
const OPTIONAL: [string, "bytes" | "quantity"][] = [
  ["baseFeePerGas", "quantity"], // London
  ["withdrawalsRoot", "bytes"], // Shanghai
  ["blobGasUsed", "quantity"], // Cancun
  ["excessBlobGas", "quantity"], // Cancun
  ["parentBeaconBlockRoot", "bytes"], // Cancun
  ["requestsHash", "bytes"], // Prague
];

/** Integers are minimal big-endian bytes; zero is the empty string. */
function quantity(hex: string): Uint8Array {
  return toBeArray(BigInt(hex));
}

function field(block: RpcBlock, name: string): string {
  const v = block[name];
  if (typeof v !== "string") throw new BlockHeaderRebuildError(`block has no ${name}`, { details: { number: block.number } });
  return v;
}

/** The RLP list of the header fields present in `block`. */
export function headerRlp(block: RpcBlock): string {
  const items: BytesLike[] = [...FIXED.map((k) => getBytes(field(block, k))), ...QUANTITIES.map((k) => quantity(field(block, k)))];
  items.push(getBytes(field(block, "extraData")), getBytes(field(block, "mixHash")), getBytes(field(block, "nonce")));
  let missing: string | undefined;
  for (const [name, kind] of OPTIONAL) {
    const v = block[name];
    if (v === undefined || v === null) {
      missing ??= name;
      continue;
    }
    if (missing !== undefined)
      throw new BlockHeaderRebuildError(`block has ${name} but not ${missing}`, { details: { number: block.number } });
    items.push(kind === "bytes" ? getBytes(v as string) : quantity(v as string));
  }
  return encodeRlp(items);
}

/** The one JSON-RPC call the header fetch needs (an ethers JsonRpcProvider, a Hardhat provider). */
export interface RpcSend {
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** The block `n` (a number or "latest") as the node reports it. */
export async function fetchRpcBlock(rpc: RpcSend, n: bigint | "latest"): Promise<RpcBlock> {
  const tag = n === "latest" ? n : `0x${n.toString(16)}`;
  const block = (await rpc.send("eth_getBlockByNumber", [tag, false])) as RpcBlock | null;
  if (block === null) throw new BlockHeaderRebuildError("no such block", { details: { tag } });
  return block;
}

/** The header RLP of block `n`, checked: its keccak256 is the block hash the node reports. */
export async function fetchProvenHeader(rpc: RpcSend, n: bigint | "latest"): Promise<{ rlp: string; block: RpcBlock }> {
  const block = await fetchRpcBlock(rpc, n);
  const rlp = headerRlp(block);
  if (keccak256(rlp) !== block.hash) {
    throw new BlockHeaderRebuildError("rebuilt header does not hash to the block hash", {
      details: { number: block.number, hash: block.hash, rebuilt: keccak256(rlp) },
    });
  }
  return { rlp, block };
}
