#!/usr/bin/env bash
# check_portable.sh (npm run check:portable): proves native/ uses only libc
# interfaces that glibc 2.28 (RHEL 8, a Node 20 platform) and musl (Alpine)
# both have, so `npm install` builds there too.
#  1. every source but binding/ (the N-API layer) compiles with _GNU_SOURCE
#     undefined (POSIX 2008 + XSI and the default BSD/SVID set only), which
#     also selects the XSI strerror_r; binding/ cannot, because libstdc++'s
#     <mutex> (via napi.h) itself needs GNU pthread calls;
#  2. every source, binding/ included, compiles with the glibc-only
#     interfaces poisoned (portable_check.h).
set -euo pipefail
cd "$(dirname "$0")"
node_include="$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")"
napi_include="$(node -p "require('path').resolve(require('node-addon-api').include_dir)")"
base=(-std=c++17 -fsyntax-only -Wall -Wextra -Werror
      -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED
      -isystem "$node_include" -isystem "$napi_include")
n=0
for src in common/*.cc sockets/*.cc owners/*.cc owners/*/*.cc cgroups/*.cc; do
  g++ "${base[@]}" -U_GNU_SOURCE -D_XOPEN_SOURCE=700 -D_DEFAULT_SOURCE "$src"
  n=$((n + 1))
done
echo "ok - $n native sources compile without _GNU_SOURCE"
n=0
for src in binding/*.cc common/*.cc sockets/*.cc owners/*.cc owners/*/*.cc cgroups/*.cc; do
  g++ "${base[@]}" -include portable_check.h "$src"
  n=$((n + 1))
done
echo "ok - $n native sources compile with glibc-only interfaces poisoned"
