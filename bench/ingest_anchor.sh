#!/usr/bin/env bash
# Ingest throughput of Quiver beside its anchor, milvus-lite 3.2.2 through pymilvus 3.0.2,
# measured in one run on this machine, with the ratios Quiver / milvus-lite.
#
#   bench/ingest_anchor.sh [WORK_DIR]
#
# WORK_DIR (default: a new directory under /tmp) holds the Python venv, which is created and
# kept there when missing, and the scratch data of both sides, which is removed afterwards.
# Environment: QUIVER_ARGS and ANCHOR_ARGS add options to each side (for example
# ANCHOR_ARGS="--rows-per-run 20000"); ANCHOR_FSYNC=0 skips the second anchor pass with
# milvus-lite's WAL fsyncing every write (see bench/milvus_lite_ingest.py).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d /tmp/quiver-ingest.XXXXXX)}
mkdir -p "$work"
venv=$work/venv
batches=1,100,5000,10000

if ! "$venv/bin/python" -c 'import pymilvus, milvus_lite, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        pymilvus==3.0.2 milvus-lite==3.2.2 numpy
fi

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), $(git -C "$root" rev-parse --short HEAD)"
echo "# data on: $(df -h "$work" | awk 'NR==2 {print $1, $6, $4 " free"}')"
out=$work/results.txt
: >"$out"
cd "$root"
# shellcheck disable=SC2086 # the *_ARGS variables are word lists on purpose
cargo run --quiet --release -p quiver-bench -- ingest --data-dir "$work/quiver" \
    --batch-sizes "$batches" --writers 1,8 ${QUIVER_ARGS:-} | tee -a "$out"
# shellcheck disable=SC2086
"$venv/bin/python" bench/milvus_lite_ingest.py --db-dir "$work/lite" \
    --batch-sizes "$batches" --writers 1,8 ${ANCHOR_ARGS:-} | tee -a "$out"
if [ "${ANCHOR_FSYNC:-1}" != 0 ]; then
    # shellcheck disable=SC2086
    "$venv/bin/python" bench/milvus_lite_ingest.py --db-dir "$work/lite" \
        --batch-sizes "$batches" --writers 1 --wal-sync batch ${ANCHOR_ARGS:-} | tee -a "$out"
fi

# Ratios of the medians, per batch size and writer count that both sides measured.
awk '
    $1 == "ingest" {
        key = ""; anchor = "quiver"; rate = 0
        for (i = 2; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "batch" || kv[1] == "writers") key = key " " $i
            if (kv[1] == "rows_per_s_median") rate = kv[2]
            if (kv[1] == "anchor") anchor = kv[2]
        }
        median[anchor, key] = rate
        if (anchor != "quiver") anchors[anchor] = 1
        if (!(key in seen)) { seen[key] = 1; keys[++n] = key }
    }
    END {
        for (i = 1; i <= n; i++) for (a in anchors) {
            q = median["quiver", keys[i]]; m = median[a, keys[i]]
            if (q > 0 && m > 0)
                printf "ratio%s quiver=%d %s=%d quiver/%s=%.1f\n", keys[i], q, a, m, a, q / m
        }
    }' "$out"
rm -rf "$work/quiver" "$work/lite"
