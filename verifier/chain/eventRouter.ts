/**
 * Contract logs → typed handlers, by event and argument NAME (issue 20): each handler is registered
 * with the typechain event it wants (`jobMarket.getEvent("JobCreated")`) and gets that event's
 * named, typed arguments (`a.specURI`), never `args[7]`. Both daemons' monitors route their
 * EventCursor logs through one of these; `filter()` is the cursor's getLogs filter.
 */
import type { BaseContract, Log } from "ethers";
import type { TypedContractEvent, TypedLogDescription } from "../../typechain-types/common";
import { UPowError } from "../errors";

/** The named (and positional) arguments of one typechain event. */
export type EventArgs<E extends TypedContractEvent> = TypedLogDescription<E>["args"];

type Handler = (args: never, log: Log) => Promise<void> | void;

interface Route {
  readonly contract: BaseContract;
  readonly handler: Handler;
}

class EventRouterError extends UPowError {
  override readonly name = "EventRouterError";
}

export class EventRouter {
  /** address (lower case) → topic → route. */
  readonly #routes = new Map<string, Map<string, Route>>();

  /** Calls `handler` with the named arguments of every `event` log that `contract` emits. */
  on<E extends TypedContractEvent>(
    contract: BaseContract,
    event: E,
    handler: (args: EventArgs<E>, log: Log) => Promise<void> | void,
  ): this {
    if (typeof contract.target !== "string")
      throw new EventRouterError("the contract must be connected at an address", { details: { event: event.name } });
    const address = contract.target.toLowerCase();
    const topic = event.fragment.topicHash;
    const byTopic = this.#routes.get(address) ?? new Map<string, Route>();
    if (byTopic.has(topic)) throw new EventRouterError("event already routed", { details: { event: event.name, address } });
    byTopic.set(topic, { contract, handler });
    this.#routes.set(address, byTopic);
    return this;
  }

  /** The getLogs filter of every routed event: their addresses, any of their topics. */
  filter(): { address: string[]; topics: [string[]] } {
    const address = [...this.#routes.keys()];
    const topics = [...new Set([...this.#routes.values()].flatMap((m) => [...m.keys()]))];
    return { address, topics: [topics] };
  }

  /** Decodes `log` with its contract's ABI and calls its handler; a log no route names is ignored. */
  async handle(log: Log): Promise<void> {
    const route = this.#routes.get(log.address.toLowerCase())?.get(log.topics[0] ?? "");
    if (!route) return;
    const parsed = route.contract.interface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return;
    // The topic matched this route's fragment, so the arguments are that event's (typechain's own cast).
    await route.handler(parsed.args as never, log);
  }
}
