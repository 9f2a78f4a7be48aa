#!/usr/bin/env bash
# The web UI's checks (ui/): its TypeScript types, its unit tests, that the checked-in build
# (ui/dist, embedded in the server) and API code (ui/src/gen) are what the sources make, then
# the page end to end in headless Chromium against a real server.
#
# Usage: dev/test-ui.sh BAYOU_BINARY   (node and npm on PATH; installs Chromium when missing)
set -euo pipefail
bayou="$(realpath "$1")" # before the cd: the path may be relative to the caller's directory
cd "$(dirname "$0")/../ui"

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    echo "error: chromium is missing: install it, e.g. sudo apt-get install chromium" >&2
    exit 1
  fi
fi

npm ci --no-audit --no-fund --loglevel=error
npx tsc --noEmit
npm test

fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx vite build --logLevel error --outDir "$fresh/dist"
if ! diff -r dist "$fresh/dist" >/dev/null; then
  echo "error: ui/dist is not what the sources build: run \`npm run build\` in ui/ and commit ui/dist" >&2
  exit 1
fi
npx buf generate ../crates/bayou-proto/proto --template buf.gen.yaml -o "$fresh"
npx buf generate proto --template buf.gen.yaml -o "$fresh"
if ! diff -r src/gen "$fresh/src/gen" >/dev/null; then
  echo "error: ui/src/gen is not what the protos make: run \`npm run gen\` in ui/ and commit it" >&2
  exit 1
fi

BAYOU_BIN="$bayou" npm run e2e
