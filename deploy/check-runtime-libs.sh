#!/bin/bash
# Compares the shared libraries a release binary needs (ldd, mapped to Debian packages with dpkg -S)
# with the packages the Dockerfile's runtime stage installs. Fails on a missing or an unneeded one.
# usage: deploy/check-runtime-libs.sh BINARY [DOCKERFILE]
#        deploy/check-runtime-libs.sh --list [DOCKERFILE]   (only print the runtime stage's packages)
set -euo pipefail
bin=${1:?usage: $0 BINARY [DOCKERFILE] | --list [DOCKERFILE]}
dockerfile=${2:-deploy/Dockerfile}
[ -f "$dockerfile" ] || { echo "$0: no Dockerfile $dockerfile" >&2; exit 2; }
# Packages every Debian image has (priority required): not listed in the Dockerfile.
base="libc6"

# Package names (without any =version) on the apt-get install lines of the runtime stage: the words
# after `install` up to the `&&` that ends the command, options left out.
installed=$(awk '/^FROM .* AS runtime/ {rt=1; next} /^FROM / {rt=0} rt' "$dockerfile" \
    | sed -n '/apt-get install/,/&&/p' | tr ' \\' '\n\n' \
    | awk '/^&&/ && on {exit} on && /^[a-z0-9]/ {print} $0 == "install" {on=1}' | cut -d= -f1 | sort -u)
if [ "$bin" = --list ]; then echo "$installed"; exit 0; fi

needed=$(ldd "$bin" | awk '/=>/ {print $3} /^\s*\/lib/ {print $1}' | while read -r lib; do
    [ -e "$lib" ] || { echo "MISSING-FILE:$lib"; continue; }
    real=$(readlink -f "$lib")
    pkg=""
    for p in "$lib" "$real" "/usr$lib" "${lib#/usr}" "/usr$real" "${real#/usr}"; do
        pkg=$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$pkg" ] && break
    done
    echo "${pkg:-UNKNOWN:$lib}"
done | sort -u | grep -vxF -f <(tr ' ' '\n' <<<"$base") || true)

missing=$(comm -23 <(echo "$needed") <(echo "$installed"))
unneeded=$(comm -13 <(echo "$needed") <(echo "$installed"))
echo "needed by $(basename "$bin"): $(echo $needed)"
echo "installed by the runtime stage: $(echo $installed)"
status=0
if [ -n "$missing" ]; then echo "MISSING from the runtime stage: $(echo $missing)"; status=1; fi
if [ -n "$unneeded" ]; then echo "UNNEEDED in the runtime stage: $(echo $unneeded)"; status=1; fi
[ $status -eq 0 ] && echo "runtime libraries: OK"
exit $status
