#!/usr/bin/env bash
# Installs the npm dependencies once per package-lock.json. lmdb is rebuilt from source with the
# LMDB 0.9 (v1) data format: the prebuilt binary uses a newer on-disk format and cannot read
# databases written by Python's py-lmdb.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.eeg-sae-setup
deps_hash() { { cat package.json; cat package-lock.json 2>/dev/null || true; } | sha256sum | cut -d' ' -f1; }
want=$(deps_hash)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup: npm is required (install Node.js and npm)" >&2; exit 1; }
echo "setup: installing npm dependencies (first run only)..." >&2
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
else
  npm install --no-audit --no-fund --loglevel=error >&2
fi
echo "setup: building lmdb from source with the v1 (py-lmdb compatible) data format..." >&2
npm rebuild lmdb --build-from-source --use_data_v1=true --loglevel=error >&2
want=$(deps_hash)
echo "$want" >"$stamp"
