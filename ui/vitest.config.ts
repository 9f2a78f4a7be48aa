import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The end-to-end steps wait on real runs (the first builds a Python environment).
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
