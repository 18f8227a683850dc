#!/usr/bin/env bash
# make demo: kura's main job on a built-in example, with a throwaway key.
set -euo pipefail
kura=${KURA:-bin/kura}
example=examples/secrets.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -t 1 ]; then bold=$(printf "\033[1m") plain=$(printf "\033[0m"); else bold="" plain=""; fi
step() { printf "\n%s== %s%s\n" "$bold" "$*" "$plain"; }

step "1. A throwaway age key (age-keygen, from filippo.io/age)"
go tool age-keygen -o "$work/key.txt" 2>/dev/null
recipient=$(grep -o 'age1[0-9a-z]*' "$work/key.txt" | head -n1)
echo "public key: $recipient"

step "2. The example file, $example"
cat "$example"

step "3. kura encrypt --age $recipient $example"
"$kura" encrypt --age "$recipient" "$example" > "$work/secrets.enc.yaml"
cat "$work/secrets.enc.yaml"

step "4. kura decrypt (SOPS_AGE_KEY_FILE points at the key)"
SOPS_AGE_KEY_FILE="$work/key.txt" "$kura" decrypt "$work/secrets.enc.yaml" | tee "$work/decrypted.yaml"

step "5. One value: kura decrypt --extract '[\"database\"][\"password\"]'"
SOPS_AGE_KEY_FILE="$work/key.txt" "$kura" decrypt --extract '["database"]["password"]' "$work/secrets.enc.yaml"
echo

step "6. Without the key, decryption fails and says why"
if SOPS_AGE_KEY_FILE=/dev/null HOME="$work" "$kura" decrypt "$work/secrets.enc.yaml"; then
	echo "unexpected: decrypted without the key" >&2
	exit 1
else
	echo "(exit code $?)"
fi
echo
echo "The decrypted file holds the example's values; only comments and formatting are sops's own."
