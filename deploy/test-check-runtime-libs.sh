#!/bin/bash
# The runtime-library check must fail on a Dockerfile that misses a library or installs an extra one.
# usage: deploy/test-check-runtime-libs.sh BINARY
set -euo pipefail
bin=${1:?usage: $0 BINARY}
broken=$(mktemp)
trap 'rm -f "$broken"' EXIT
sed -e 's/libnng1 //' -e 's/libbrotli1 /libbrotli1 curl /' deploy/Dockerfile > "$broken"
if out=$(deploy/check-runtime-libs.sh "$bin" "$broken"); then
    echo "the check passed a Dockerfile without libnng1 and with curl"; exit 1
fi
grep -q "MISSING from the runtime stage: libnng1" <<<"$out" || { echo "libnng1 not reported missing:"; echo "$out"; exit 1; }
grep -q "UNNEEDED in the runtime stage: curl" <<<"$out" || { echo "curl not reported unneeded:"; echo "$out"; exit 1; }
echo "runtime-library check rejects a broken Dockerfile: OK"
