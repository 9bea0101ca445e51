#!/usr/bin/env bash
# Re-fetches the vendored client libraries from the npm registry at their
# pinned versions and checks them against SHA256SUMS. Run from anywhere:
#   examples/board/web/vendor/fetch.sh
# htmx-ext-sse 2.2.4 declares htmx.org ^2.0.2; htmx.org 2.0.11 is the newest
# 2.x (4.x streams natively and drops this extension).
set -euo pipefail
HTMX=2.0.11
HTMX_SSE=2.2.4
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "htmx.org@$HTMX" "htmx-ext-sse@$HTMX_SSE" >/dev/null
mkdir htmx sse
tar xzf "htmx.org-$HTMX.tgz" -C htmx
tar xzf "htmx-ext-sse-$HTMX_SSE.tgz" -C sse
cp htmx/package/dist/htmx.min.js "$here/htmx.min.js"
cp sse/package/dist/sse.min.js "$here/sse.min.js"
cd "$here"
sha256sum -c SHA256SUMS
