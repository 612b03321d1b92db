// solidity-coverage settings for `npm run coverage` (contracts/ only; test helpers are not measured).
module.exports = {
  skipFiles: ["test/"],
  // Instrumented contracts are slower and larger; the invariant suite shrinks itself under coverage.
  mocha: { timeout: 1_200_000 },
};
