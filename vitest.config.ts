import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // cluster tests start real processes; give them room but never forever
    testTimeout: 240_000,
    hookTimeout: 120_000,
    // two cores: running heavy cluster files side by side only slows each down
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default']
  }
})
