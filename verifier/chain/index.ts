/** The chain-access layer: one import for the daemons. */
export * from "./rpc";
export * from "./journal";
export * from "./revert";
export * from "./tx-sender";
export * from "./events";
export * from "./keys";
export * from "./instance-lock";
export * from "./metrics";
export { startRpcProxy, RpcProxyError } from "./rpc-proxy";
export type { RpcProxy, RpcFault, RpcFaultRule, RpcProxyRequest, StartRpcProxyParameters } from "./rpc-proxy";
