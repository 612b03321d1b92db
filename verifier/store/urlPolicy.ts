/**
 * Which URLs a worker or verifier may fetch because a job or result index names them (protocol v3
 * V8.4). A hostile index could otherwise point the daemon at its own metrics port, a cloud metadata
 * service or anything else on the operator's network. Rules: `http(s)` only; no userinfo, query or
 * fragment (a `?` in a base turns the appended `/artifacts/<sha256>` into a query); at most
 * MAX_ARTIFACT_BASES bases; loopback, link-local, private, CGNAT, unspecified, multicast and
 * IPv4-mapped addresses refused unless the operator allows private artifacts. Literal addresses
 * are checked here; host names are checked on the addresses they resolve to, by the `lookup` the
 * connection itself uses (so a DNS answer that changes between check and connect cannot slip by).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, isIPv6, type LookupFunction } from "node:net";
import { ArtifactUrlRefusedError } from "./errors";

/** Most artifact base URLs a result index may name; more and none of them is used. */
export const MAX_ARTIFACT_BASES = 8;
/** Longest artifact URL accepted (bases and full artifact URLs). */
const MAX_ARTIFACT_URL_LENGTH = 2048;

export interface ArtifactUrlPolicy {
  /** Allow loopback, link-local, private and other non-public addresses (tests, a local demo). */
  readonly allowPrivate: boolean;
}

export type AddressClass =
  "public" | "unspecified" | "loopback" | "private" | "cgnat" | "link-local" | "unique-local" | "multicast" | "reserved" | "ipv4-mapped";

const RANGES: readonly (readonly [Exclude<AddressClass, "public">, string, number, "ipv4" | "ipv6"])[] = [
  ["unspecified", "0.0.0.0", 8, "ipv4"],
  ["private", "10.0.0.0", 8, "ipv4"],
  ["cgnat", "100.64.0.0", 10, "ipv4"],
  ["loopback", "127.0.0.0", 8, "ipv4"],
  ["link-local", "169.254.0.0", 16, "ipv4"],
  ["private", "172.16.0.0", 12, "ipv4"],
  ["reserved", "192.0.0.0", 24, "ipv4"],
  ["private", "192.168.0.0", 16, "ipv4"],
  ["reserved", "198.18.0.0", 15, "ipv4"],
  ["multicast", "224.0.0.0", 4, "ipv4"],
  ["reserved", "240.0.0.0", 4, "ipv4"],
  ["unspecified", "::", 128, "ipv6"],
  ["loopback", "::1", 128, "ipv6"],
  // Any IPv4 address in IPv6 clothing: a legitimate mirror never needs it, and it dodges v4 rules.
  ["ipv4-mapped", "::ffff:0:0", 96, "ipv6"],
  ["reserved", "::", 96, "ipv6"],
  ["unique-local", "fc00::", 7, "ipv6"],
  ["link-local", "fe80::", 10, "ipv6"],
  ["private", "fec0::", 10, "ipv6"],
  ["multicast", "ff00::", 8, "ipv6"],
];

const LISTS = RANGES.map(([cls, net, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { cls, family, list };
});

/** The class of an IP address; "public" for anything not in a refused range. */
export function classifyAddress(address: string): AddressClass {
  const family = isIPv6(address) ? "ipv6" : "ipv4";
  for (const { cls, family: f, list } of LISTS) {
    // BlockList also matches IPv4 rules against IPv4-mapped IPv6: compare like with like.
    if (f === family && list.check(address, family)) return cls;
  }
  return "public";
}

/**
 * Checks one artifact URL (a base or a full `<base>/artifacts/<sha256>`) and returns it parsed;
 * throws ArtifactUrlRefusedError naming the rule. Host names pass here: see guardedLookup.
 */
export function checkArtifactUrl(uri: string, policy: ArtifactUrlPolicy): URL {
  if (typeof uri !== "string" || uri.length === 0 || uri.length > MAX_ARTIFACT_URL_LENGTH) {
    throw new ArtifactUrlRefusedError(String(uri), "malformed", `must be a URL of 1-${MAX_ARTIFACT_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ArtifactUrlRefusedError(uri, "malformed", "not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ArtifactUrlRefusedError(uri, "scheme", `scheme '${url.protocol}' is not http: or https:`);
  // The raw text, not url.search/hash: a bare trailing `?` or `#` leaves those empty yet still swallows the appended path.
  if (url.username !== "" || url.password !== "" || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(uri))
    throw new ArtifactUrlRefusedError(uri, "userinfo", "must not carry a user name or password");
  if (uri.includes("?")) throw new ArtifactUrlRefusedError(uri, "query", "must not carry a query");
  if (uri.includes("#")) throw new ArtifactUrlRefusedError(uri, "fragment", "must not carry a fragment");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (isIP(host) !== 0) checkAddress(uri, host, policy);
  return url;
}

/** Checks the bases of a result index: at most MAX_ARTIFACT_BASES, each one a valid artifact URL. */
export function checkArtifactBases(bases: readonly string[], policy: ArtifactUrlPolicy): readonly string[] {
  if (bases.length > MAX_ARTIFACT_BASES) {
    throw new ArtifactUrlRefusedError(
      bases[0] ?? "",
      "too-many-bases",
      `${bases.length} bases named, at most ${MAX_ARTIFACT_BASES} allowed`,
    );
  }
  for (const b of bases) checkArtifactUrl(b, policy);
  return bases;
}

/**
 * A `lookup` for node:http(s) that refuses a host name resolving to any non-public address (all
 * of them checked: a name with one private answer could be steered to it). Used for the very
 * connection, so the address checked is the address connected to.
 */
export function guardedLookup(uri: string, policy: ArtifactUrlPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, "", 0);
      if (!policy.allowPrivate) {
        for (const a of addresses) {
          const cls = classifyAddress(a.address);
          if (cls !== "public")
            return callback(new ArtifactUrlRefusedError(uri, "address", `host ${hostname} resolves to ${cls} address ${a.address}`), "", 0);
        }
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), "", 0);
      callback(null, first.address, first.family);
    });
  };
}

function checkAddress(uri: string, address: string, policy: ArtifactUrlPolicy): void {
  if (policy.allowPrivate) return;
  const cls = classifyAddress(address);
  if (cls !== "public")
    throw new ArtifactUrlRefusedError(uri, "address", `${cls} address ${address} (allow with --allow-private-artifacts)`);
}
