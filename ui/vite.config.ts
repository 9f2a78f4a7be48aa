import { defineConfig } from "vite";

// One script and one stylesheet under fixed names: the server embeds ui/dist as it is
// (crates/bayou-server/src/ui.rs), so names must not change from build to build.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // React, Arrow and protobuf: ~170 kB gzipped, served once and cached by the browser.
    chunkSizeWarningLimit: 800,
    cssCodeSplit: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/app[extname]",
        inlineDynamicImports: true,
      },
    },
  },
});
