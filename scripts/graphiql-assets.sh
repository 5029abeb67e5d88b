#!/usr/bin/env bash
# graphiql-assets.sh — refresh the GraphiQL files that httpapi/graphiql embeds.
#
#   scripts/graphiql-assets.sh
#
# The npm packages and their exact versions are pinned in
# httpapi/graphiql/assets/package.json and package-lock.json. This script runs
# `npm ci` on those two files in a temporary directory and copies the prebuilt,
# minified files the page needs into httpapi/graphiql/assets/vendor/:
#
#   react.production.min.js       react@18 UMD (global React)
#   react-dom.production.min.js   react-dom@18 UMD (global ReactDOM)
#   graphiql.min.js               graphiql@4 UMD (global GraphiQL); it bundles
#                                 @graphiql/react, @graphiql/toolkit (as
#                                 GraphiQL.createFetcher) and graphql-ws
#   graphiql.min.css              its stylesheet, with the fonts and images it
#                                 inlines as data: URIs moved out to
#                                 graphiql-css/<sha256>.<ext> (so that the CSP
#                                 needs no data: source)
#   *.LICENSE.txt                 the packages' licenses
#
# Two edits are made on the way, both mechanical: the data: URIs above, and
# the `//# sourceMappingURL=` comment dropped from graphiql.min.js (the map is
# not shipped). The files in vendor/ are committed: the server serves them
# from the Go binary, so neither Node nor the network is needed to run it.
# To upgrade, edit package.json, run `npm install --package-lock-only` on a
# copy to refresh package-lock.json, then run this script, then the tests
# (go test ./httpapi/... and make test-browser), and commit the result.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PIN="$ROOT/httpapi/graphiql/assets"
OUT="$PIN/vendor"
command -v npm >/dev/null || { echo "graphiql-assets: npm is required" >&2; exit 1; }
command -v node >/dev/null || { echo "graphiql-assets: node is required" >&2; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-graphiql-assets.XXXXXX")"
trap 'rm -rf -- "$TMP"' EXIT
cp "$PIN/package.json" "$PIN/package-lock.json" "$TMP/"
(cd "$TMP" && npm ci --ignore-scripts --no-audit --no-fund >&2)
NM="$TMP/node_modules"

NEW="$TMP/vendor"
mkdir -p "$NEW"
cp "$NM/react/umd/react.production.min.js" "$NEW/"
cp "$NM/react-dom/umd/react-dom.production.min.js" "$NEW/"
cp "$NM/react/LICENSE" "$NEW/react.LICENSE.txt"
cp "$NM/react-dom/LICENSE" "$NEW/react-dom.LICENSE.txt"
cp "$NM/graphiql/LICENSE" "$NEW/graphiql.LICENSE.txt"
sed '/^\/\/# sourceMappingURL=/d' "$NM/graphiql/graphiql.min.js" >"$NEW/graphiql.min.js"

# Move the stylesheet's data: URIs out into files of their own.
node - "$NM/graphiql/graphiql.min.css" "$NEW" <<'JS'
const fs = require('fs'), path = require('path'), crypto = require('crypto');
const [src, out] = process.argv.slice(2);
const ext = { 'font/woff2': 'woff2', 'font/woff': 'woff', 'image/png': 'png', 'image/gif': 'gif', 'image/svg+xml': 'svg' };
const dir = path.join(out, 'graphiql-css');
fs.mkdirSync(dir, { recursive: true });
let n = 0;
const css = fs.readFileSync(src, 'utf8').replace(
  /url\(\s*(["']?)data:([a-z0-9.+\/-]+);base64,([A-Za-z0-9+\/=]+)\1\s*\)/gi,
  (_, q, mime, data) => {
    const e = ext[mime.toLowerCase()];
    if (!e) throw new Error(`graphiql-assets: no file extension for ${mime}`);
    const buf = Buffer.from(data, 'base64');
    const name = crypto.createHash('sha256').update(buf).digest('hex').slice(0, 16) + '.' + e;
    fs.writeFileSync(path.join(dir, name), buf);
    n++;
    return `url(graphiql-css/${name})`;
  });
if (/data:/.test(css)) throw new Error('graphiql-assets: the stylesheet still has data: URIs this script does not handle');
fs.writeFileSync(path.join(out, 'graphiql.min.css'), css);
console.error(`graphiql-assets: moved ${n} data: URIs out of graphiql.min.css`);
JS

rm -rf -- "$OUT"
cp -r "$NEW" "$OUT"
versions="$(cd "$TMP" && node -e 'for (const p of ["graphiql","react","react-dom"]) console.log(p + "@" + require(p + "/package.json").version)')"
echo "graphiql-assets: $OUT now holds the files of:" >&2
printf '  %s\n' $versions >&2
du -sh "$OUT" >&2
