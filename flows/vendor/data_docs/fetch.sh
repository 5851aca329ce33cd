#!/usr/bin/env bash
# Re-creates this folder's vendored copies of the scripts, styles and fonts Great Expectations'
# Data Docs templates load from CDNs, from the npm registry (`npm pack`, never a CDN), at the
# versions GX's templates name (vega@5, vega-lite@5, vega-embed@6: the newest of that major when
# vendored). Each package's licence file comes along. vendor.json maps every CDN address GX's
# templates use to its copy here; flows/data_docs.py points the pages at them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
take() {  # take PACKAGE@VERSION LICENCE FILE...: copy FILEs (paths inside the package) and LICENCE
  local spec="$1" licence="$2"; shift 2
  local dir="$work/${spec//\//_}"
  mkdir -p "$dir" && (cd "$dir" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz)
  local name="${spec#@}"; local dest="$here/${name//\//_}"  # @scope/pkg@1.0 -> scope_pkg@1.0
  find "$dest" -mindepth 1 ! -name LICENSE -delete 2>/dev/null || true; mkdir -p "$dest"
  for f in "$licence" "$@"; do
    [ -n "$f" ] || continue
    mkdir -p "$dest/$(dirname "$f")" && cp "$dir/package/$f" "$dest/$f"
  done
  echo "$spec"
}
take bootstrap@4.3.1 LICENSE dist/css/bootstrap.min.css dist/js/bootstrap.min.js
take jquery@3.7.1 LICENSE.txt dist/jquery.min.js
take popper.js@1.12.9 "" dist/umd/popper.min.js  # ships no licence file: see its LICENSE here
take bootstrap-table@1.19.1 LICENSE dist/bootstrap-table.min.css dist/bootstrap-table.min.js \
  dist/extensions/filter-control/bootstrap-table-filter-control.min.js
take bootstrap-table@1.19.0 LICENSE dist/extensions/filter-control/bootstrap-table-filter-control.css \
  dist/extensions/filter-control/bootstrap-table-filter-control.min.css
take bootstrap-datepicker@1.9.0 LICENSE dist/css/bootstrap-datepicker.min.css dist/js/bootstrap-datepicker.min.js
take @forevolve/bootstrap-dark@1.1.0 LICENSE dist/css/bootstrap-prefers-dark.css
take @fortawesome/fontawesome-free@6.6.0 LICENSE.txt css/all.min.css \
  webfonts/fa-brands-400.woff2 webfonts/fa-brands-400.ttf webfonts/fa-regular-400.woff2 \
  webfonts/fa-regular-400.ttf webfonts/fa-solid-900.woff2 webfonts/fa-solid-900.ttf \
  webfonts/fa-v4compatibility.woff2 webfonts/fa-v4compatibility.ttf
take vega@5.33.1 "" build/vega.min.js  # ships no licence file: see its LICENSE here
take vega-lite@5.23.0 LICENSE build/vega-lite.min.js
take vega-embed@6.29.0 LICENSE build/vega-embed.min.js
