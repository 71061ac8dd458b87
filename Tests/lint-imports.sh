#!/bin/sh
# lint-imports.sh -- the house rules on imports, checked (run by `make lint`):
#   - only Sources/SocketCore/System/ imports Glibc or the C shim: every system call and errno lives there;
#   - no Foundation in SocketCore or sockettool (the binary stays lean; tests may use it).
# Prints each file that breaks a rule, with the rule, and exits 1 if there is any.
cd "$(dirname "$0")/.." || exit 2
status=0
for file in $(find Sources/SocketCore -name '*.swift' -not -path 'Sources/SocketCore/System/*' | sort); do
    if grep -Eq '^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*import[[:space:]]+(Glibc|CSocketShim)([[:space:]]|$)' "$file"; then
        echo "$file: imports Glibc or CSocketShim; only Sources/SocketCore/System/ may (put the call in System/)"
        status=1
    fi
done
for file in $(find Sources/SocketCore Sources/sockettool -name '*.swift' | sort); do
    if grep -Eq '^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*import[[:space:]]+(Foundation|FoundationEssentials)([[:space:]]|$)' "$file"; then
        echo "$file: imports Foundation; SocketCore and sockettool do without it"
        status=1
    fi
done
exit $status
