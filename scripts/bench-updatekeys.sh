#!/usr/bin/env bash
# Times adding a recipient to N small files: one `kura updatekeys
# --recursive --yes` against a shell loop calling `sops updatekeys --yes`
# on each file, on two identical copies of the same files.
#
#   scripts/bench-updatekeys.sh [N]      (default 1000; needs bin/kura and sops)
set -euo pipefail
n=${1:-1000}
kura=${KURA:-$PWD/bin/kura}
sops=${SOPS:-$(command -v sops || echo "$(go env GOPATH)/bin/sops")}
keys=$PWD/testdata/keys
[ -x "$kura" ] || { echo "build kura first: make build" >&2; exit 1; }
[ -x "$sops" ] || { echo "sops 3.13.2 is needed for the comparison" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
age1=$(cat "$keys/age1.pub")
age2=$(cat "$keys/age2.pub")
export SOPS_AGE_KEY_FILE=$keys/age1.txt SOPS_DISABLE_VERSION_CHECK=1

echo "making $n encrypted files..." >&2
mkdir -p "$work/kura" "$work/sops"
for i in $(seq 1 "$n"); do
	printf 'service: svc-%d\npassword: pw-%d-secret\nport: %d\n' "$i" "$i" $((8000 + i)) > "$work/kura/f$i.yaml"
done
printf 'creation_rules:\n  - age: %s\n' "$age1" > "$work/.sops.yaml"
(cd "$work" && "$kura" encrypt --age "$age1" -i kura/f1.yaml)
# Encrypt the rest through kura too (faster to set up); both tools read them.
for i in $(seq 2 "$n"); do (cd "$work" && "$kura" encrypt --age "$age1" -i "kura/f$i.yaml"); done
cp "$work"/kura/*.yaml "$work/sops/"
# The policy now names a second person.
printf 'creation_rules:\n  - age: %s,%s\n' "$age1" "$age2" > "$work/.sops.yaml"

cd "$work"
start=$(date +%s.%N)
"$kura" updatekeys --recursive --yes kura > /dev/null
kura_s=$(echo "$(date +%s.%N) - $start" | bc)
start=$(date +%s.%N)
for f in sops/*.yaml; do "$sops" updatekeys --yes "$f" > /dev/null 2>&1; done
sops_s=$(echo "$(date +%s.%N) - $start" | bc)

# Both copies now decrypt with the second key.
SOPS_AGE_KEY_FILE=$keys/age2.txt "$kura" decrypt kura/f$n.yaml > /dev/null
SOPS_AGE_KEY_FILE=$keys/age2.txt "$sops" decrypt sops/f$n.yaml > /dev/null

printf '| files | kura updatekeys --recursive --yes | shell loop of sops updatekeys --yes | speed-up |\n'
printf '| --- | --- | --- | --- |\n'
printf '| %d | %.2f s | %.2f s | %.0fx |\n' "$n" "$kura_s" "$sops_s" "$(echo "$sops_s / $kura_s" | bc -l)"
