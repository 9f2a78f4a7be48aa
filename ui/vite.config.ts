import { defineConfig } from "vite";

// One script and one stylesheet under fixed names: the server embeds ui/dist as it is
// (crates/bayou-server/src/ui.rs), so names must not change from build to build.
// `npm run dev` serves the page with live reload and sends its API calls to a running
// `bayou server` (BAYOU_SERVER, default http://127.0.0.1:8181).
const server = process.env.BAYOU_SERVER ?? "http://127.0.0.1:8181";

export default defineConfig({
  base: "/",
  server: {
    proxy: {
      "/bayou.v1.Lake": server,
      "/arrow.flight.protocol.FlightService": server,
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    // React, Arrow and protobuf: ~170 kB gzipped, served once and cached by the browser.
    chunkSizeWarningLimit: 800,
    cssCodeSplit: false,
    rolldownOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/app[extname]",
        codeSplitting: false,
      },
    },
  },
});
