// `npm run test:quick`: the loop while you work. Every suite but those that start other programs
// or soak: they stay in `npm test`, which CI runs.
import base from "./jest.config.js";

export default {
  ...base,
  testPathIgnorePatterns: [
    "/node_modules/",
    "/tests/collect", // Azurite, collectors killed and restarted
    "/tests/geo/collect", // collect --geo against Azurite
    "/tests/fluent-bit-real", // a real Fluent Bit, and its million-record soak
    "/tests/fluent-bit-soak", // a million calls of the filter ABI
    "/tests/fluent-bit-lua", // both Lua peers and the module through a real Fluent Bit
    "/tests/fluent-bit-trusted", // the filter's trusted input fuzzed through a real Fluent Bit
    "/tests/fuzz", // 30,000 fuzzed records through every ABI (npm run fuzz is the fuzzer at scale)
  ],
};
