// Tests run as native ESM (the host uses import.meta.url to find its .wasm files); @swc/jest
// only strips types, so `tsc -p tests` type-checks them separately.
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "es6" } }] },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/tests/**/*.test.ts"],
  testTimeout: 120000,
};
