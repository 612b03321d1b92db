/**
 * The layering of the off-chain code (issue 20), checked by `npm run lint:deps` and by
 * test/architecture/layering.test.ts:
 * - no import cycles, type-only imports included (a reader still has to hold both files at once);
 * - verifier/protocol/ is the bottom layer: encodings, hashing, canonical JSON, the audit-sample
 *   rule, the on-chain enums. Every other folder may import it; it imports only Node built-ins
 *   and npm packages, so the rules both sides of the chain agree on never depend on a daemon;
 * - verifier/sdk/ is the integrators' entry (the package's "main"): it builds on protocol, engine,
 *   store, requester and chain (never a daemon, worker or the CLI directly), and nothing in the
 *   repository imports it but examples/ and test/ (it is a leaf, so it can change without the daemons);
 * - verifier/dashboard/ (issue 16) is a leaf: only the CLI starts it, nothing else depends on it;
 *   its browser code (client/) takes nothing from the server side but the view model's types;
 * - verifier/runtime/ (lock, journal, signer, sender, metrics, loop, signals) is what both daemons
 *   run on: it never imports a daemon (worker/, daemon/) or the CLI above them;
 * - the worker (verifier/worker/) and the verifier (verifier/daemon/) never import each other:
 *   what both need lives below them (runtime/, chain/, protocol/);
 * - the worker's service reaches no adversarial module (cheats, numericCheats, publishCheats,
 *   adversary): tests, the demo, the bench and the CLI's --cheat wire those in from outside;
 * - verifier/cli/ is the top: flags, config files and prompts turn into validated configs there, and
 *   nothing else in verifier/ imports it (what a daemon and its command share lives in runtime/);
 * - verifier/engine/ computes and does no I/O of the chain or the network: it imports protocol/ only;
 *   chain/ and store/ are I/O below every role: they import neither a role, runtime/ nor the CLI.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "An import cycle: move the piece both sides need into a module below them (types into their own file, rules into verifier/protocol/).",
      from: { path: "^(verifier|scripts|bin|bench)/" },
      to: { circular: true },
    },
    {
      name: "protocol-is-bottom",
      severity: "error",
      comment:
        "verifier/protocol/ is the bottom layer: it may import Node built-ins, npm packages and itself, nothing else of the repository.",
      from: { path: "^verifier/protocol/" },
      to: { pathNot: ["^verifier/protocol/", "node_modules"], dependencyTypesNot: ["core"] },
    },
    {
      name: "sdk-builds-on-libraries",
      severity: "error",
      comment:
        "verifier/sdk/ may import protocol, engine, store, requester and chain (and itself), not the daemons, the worker or the CLI.",
      from: { path: "^verifier/sdk/" },
      to: { path: "^verifier/(daemon|worker|cli|account)/" },
    },
    {
      name: "nothing-imports-sdk",
      severity: "error",
      comment: "verifier/sdk/ is the integrators' entry: only examples/ and test/ import it.",
      from: { path: "^(verifier|scripts|bin|bench)/", pathNot: "^verifier/sdk/" },
      to: { path: "^verifier/sdk/" },
    },
    {
      name: "dashboard-is-a-leaf",
      severity: "error",
      comment: "verifier/dashboard/ is a leaf: only verifier/cli/ may import it (move what others need below it).",
      from: { path: "^verifier/", pathNot: ["^verifier/dashboard/", "^verifier/cli/"] },
      to: { path: "^verifier/dashboard/" },
    },
    {
      name: "dashboard-client-is-browser-code",
      severity: "error",
      comment:
        "verifier/dashboard/client/ runs in the browser: it may import npm packages (bundled), itself, and the view model's types (import type); no Node built-ins, nothing else.",
      from: { path: "^verifier/dashboard/client/" },
      to: {
        pathNot: ["^verifier/dashboard/client/", "node_modules"],
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "runtime-below-daemons",
      severity: "error",
      comment: "verifier/runtime/ is shared by both daemons: it may not import verifier/worker/, verifier/daemon/ or verifier/cli/.",
      from: { path: "^verifier/runtime/" },
      to: { path: "^verifier/(worker|daemon|cli)/" },
    },
    {
      name: "daemons-apart",
      severity: "error",
      comment:
        "The worker and the verifier daemon do not import each other: move the shared piece into verifier/runtime/ or verifier/chain/.",
      from: { path: "^verifier/(worker|daemon)/" },
      to: { path: "^verifier/(worker|daemon)/", pathNot: "^verifier/$1/" },
    },
    {
      name: "worker-service-is-honest",
      severity: "error",
      comment:
        "The production worker never reaches a cheat: pass a WorkerBehaviour (worker/adversary.ts withCheat) in RunWorkerOptions instead.",
      from: { path: "^verifier/worker/service\\.ts$" },
      to: { path: "^verifier/worker/(cheats|numericCheats|publishCheats|adversary)\\.ts$", reachable: true },
    },
    {
      name: "engine-is-computation",
      severity: "error",
      comment: "verifier/engine/ computes: it may import verifier/protocol/ (and itself), not chain, store, runtime or any role.",
      from: { path: "^verifier/engine/" },
      to: { path: "^verifier/", pathNot: ["^verifier/engine/", "^verifier/protocol/", "^verifier/errors\\.ts$"] },
    },
    {
      name: "io-below-roles",
      severity: "error",
      comment:
        "verifier/chain/ and verifier/store/ are the I/O layer: they may not import runtime/, a role (worker, daemon, requester, account, dashboard, sdk) or the CLI.",
      from: { path: "^verifier/(chain|store)/" },
      to: { path: "^verifier/(runtime|worker|daemon|requester|account|dashboard|sdk|cli)/" },
    },
    {
      name: "cli-is-top",
      severity: "error",
      comment:
        "verifier/cli/ is the top layer: only it (and bin/, scripts/) may import it; move what a daemon shares with its command into verifier/runtime/.",
      from: { path: "^verifier/", pathNot: "^verifier/cli/" },
      to: { path: "^verifier/cli/" },
    },
  ],
  options: {
    // Third-party code is not ours to layer; its own cycles (hardhat, ts-node …) are not reported.
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^bench/results/" },
  },
};
