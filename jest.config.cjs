/** Jest runs the TypeScript sources directly: swc strips types and emits CommonJS for the test VM. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'commonjs' },
    }],
  },
  // pkijs 4, asn1js 4 and their helpers ship only ES modules: compile them too for the CommonJS test VM.
  transformIgnorePatterns: ['/node_modules/(?!(pkijs|asn1js|bytestreamjs|@peculiar/utils|@noble/hashes)/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 60000,
  // The default output, then one summary of the interop tools that were missing (skipped tests),
  // then the scan of every log line the run wrote for secrets, which fails the run on a finding.
  reporters: ['default', '<rootDir>/test/helpers/missing-tools-reporter.cjs', '<rootDir>/test/helpers/log-scan-reporter.cjs'],
};
