#!/usr/bin/env bash
# Makes the pictures in docs/images from the current code: each is a screenshot, in
# headless Chromium, of the html page one attnsim command writes to standard output.
# Each PNG carries two text chunks, `attnsim-command` (the command, run from the
# repository's root) and `attnsim-page-fnv1a64` (the 64-bit FNV-1a hash of the page it
# shows, in hex), so that DocImagesTests can tell when an image no longer shows what the
# code writes.
#
#   scripts/screenshots.sh [BINARY]     default .build/debug/attnsim (swift build first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-.build/debug/attnsim}"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}"
if [ -z "$chromium" ]; then echo "no Chromium: apt-get install -y chromium" >&2; exit 1; fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# name|height|command (arguments of attnsim, run from the repository root)
shots=(
  "run|1500|run scenarios/standard-vs-flash.json --format html --output -"
  "roofline|1150|roofline --model qwen3-8b --context 1k,4k,16k,32k --format html --output -"
  "model|1650|model --model qwen3-8b --context 1k,4k,16k --batch 8 --format html --output -"
  "paged|1450|paged --model opt-13b --hardware a100-40gb-sxm --trace sharegpt --rate 0.5,1,2 --requests 300 --format html --output -"
  "validate|1500|validate docs/data/h100-sdpa.csv docs/data/h100-triton-d64.csv docs/data/h100-triton-paged.csv --format html --output -"
)
for shot in "${shots[@]}"; do
  IFS='|' read -r name height command <<< "$shot"
  # shellcheck disable=SC2086
  "$bin" $command > "$scratch/$name.html" 2>/dev/null
  "$chromium" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$scratch/profile" --window-size=1200,"$height" \
    --screenshot="$scratch/$name.png" "file://$scratch/$name.html" > /dev/null 2>&1
  python3 - "$scratch/$name.png" "docs/images/$name.png" "attnsim $command" "$scratch/$name.html" <<'PY'
import struct, sys, zlib
source, target, command, page = sys.argv[1:5]
data = open(source, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
digest = 0xcbf29ce484222325
for byte in open(page, "rb").read():
    digest = ((digest ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
digest = "%016x" % digest
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
# After the IHDR chunk (8-byte signature + 25-byte chunk).
extra = chunk(b"tEXt", b"attnsim-command\0" + command.encode()) + chunk(b"tEXt", b"attnsim-page-fnv1a64\0" + digest.encode())
open(target, "wb").write(data[:33] + extra + data[33:])
print("wrote " + target)
PY
done
