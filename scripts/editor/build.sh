#!/usr/bin/env bash
# Rebuild static/vendor/codemirror/pine-editor.js from the npm registry packages pinned in package.json.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --silent
mkdir -p ../../static/vendor/codemirror
npx esbuild pine-editor.js --bundle --minify --format=iife --target=es2019 \
  --outfile=../../static/vendor/codemirror/pine-editor.js
echo "built static/vendor/codemirror/pine-editor.js"
