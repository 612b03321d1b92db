import { AbiCoder, Interface, isError } from "ethers";
import { errorRegistry } from "./errorRegistry";

/** A decoded revert: `Error(string)`, `Panic(uint256)`, a custom error of a known interface, or raw. */
export interface DecodedRevert {
  /** Human-readable: the string reason, `Panic(0x11)`, `Name(arg, ...)`, or the selector. */
  reason: string;
  /** Custom-error or builtin name when known (`Error`, `Panic`, `StakeManagerInsufficient`, ...). */
  name?: string;
  args?: unknown[];
  /** Raw revert data, 0x-hex ("0x" when the node gave none). */
  data: string;
}

const ERROR_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";

/**
 * Decode revert data against the builtin errors, the given interfaces, then every custom error of
 * the project's ABIs (errorRegistry: its contracts' and OpenZeppelin's), so no known error is
 * logged as a bare selector.
 */
export function decodeRevertData(data: string, interfaces: readonly Interface[] = []): DecodedRevert {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(data) || data.length < 10) {
    return { reason: data === "0x" || data === "" ? "reverted without data" : `unrecognised revert data ${data}`, data };
  }
  const selector = data.slice(0, 10).toLowerCase();
  const coder = AbiCoder.defaultAbiCoder();
  try {
    if (selector === ERROR_SELECTOR) {
      const [message] = coder.decode(["string"], "0x" + data.slice(10));
      return { reason: String(message), name: "Error", args: [message], data };
    }
    if (selector === PANIC_SELECTOR) {
      const [code] = coder.decode(["uint256"], "0x" + data.slice(10));
      return { reason: `Panic(0x${(code as bigint).toString(16)})`, name: "Panic", args: [code], data };
    }
  } catch {
    return { reason: `malformed ${selector === ERROR_SELECTOR ? "Error" : "Panic"} revert data`, data };
  }
  for (const iface of [...interfaces, errorRegistry()]) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) {
        const args = Array.from(parsed.args);
        return { reason: `${parsed.name}(${args.map(String).join(", ")})`, name: parsed.name, args, data };
      }
    } catch {
      // not this interface's error
    }
  }
  return { reason: `unknown custom error ${selector}`, data };
}

/** Revert data of an ethers CALL_EXCEPTION, or undefined when the error is not a revert. */
export function revertDataOf(err: unknown): string | undefined {
  if (!isError(err, "CALL_EXCEPTION")) return undefined;
  return typeof err.data === "string" ? err.data : "0x";
}
