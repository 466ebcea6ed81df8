#!/usr/bin/env bash
# Refresh the vendored JavaScript in rnn_widgets/static_js/ from the npm registry (pinned versions).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
(cd "$tmp" && npm pack --silent @jupyter-widgets/html-manager@1.0.15 requirejs@2.3.7 >/dev/null \
  && mkdir hm rj && tar xzf jupyter-widgets-html-manager-1.0.15.tgz -C hm && tar xzf requirejs-2.3.7.tgz -C rj)
cp "$tmp/hm/package/dist/embed-amd.js" "$tmp"/hm/package/dist/*.woff2 rnn_widgets/static_js/html-manager/
cp "$tmp/rj/package/require.js" rnn_widgets/static_js/requirejs/
rm -rf "$tmp"
echo "refreshed rnn_widgets/static_js/"
