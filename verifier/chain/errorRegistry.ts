import { ErrorFragment, Interface, type InterfaceAbi } from "ethers";
import * as factories from "../../typechain-types/factories";

/**
 * Every custom error of every ABI the project compiles (its contracts, libraries, interfaces and
 * the OpenZeppelin ones they inherit, e.g. `ERC20InsufficientBalance`), by selector. Built once from
 * the typechain factories, so a revert from any contract the daemons touch decodes by name.
 */

/** A typechain factory: a class with a static `abi`. */
interface AbiHolder {
  abi: InterfaceAbi;
}

function isAbiHolder(v: unknown): v is AbiHolder {
  return typeof v === "function" && Array.isArray((v as { abi?: unknown }).abi);
}

/** The ABIs reachable from a typechain factories namespace (nested namespaces walked). */
function factoryAbis(ns: unknown = factories): InterfaceAbi[] {
  const out: InterfaceAbi[] = [];
  const walk = (node: unknown): void => {
    if (isAbiHolder(node)) out.push(node.abi);
    else if (node !== null && typeof node === "object") for (const v of Object.values(node)) walk(v);
  };
  walk(ns);
  return out;
}

/** One Interface holding each distinct custom error once (first ABI wins; same signature = same error). */
function buildErrorInterface(abis: readonly InterfaceAbi[]): Interface {
  const bySelector = new Map<string, ErrorFragment>();
  for (const abi of abis) {
    for (const f of new Interface(abi).fragments) {
      if (f instanceof ErrorFragment && !bySelector.has(f.selector)) bySelector.set(f.selector, f);
    }
  }
  return new Interface([...bySelector.values()]);
}

let registry: Interface | undefined;

/** The project-wide error registry (lazy: built on first use). */
export function errorRegistry(): Interface {
  return (registry ??= buildErrorInterface(factoryAbis()));
}
