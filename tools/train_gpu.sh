#!/usr/bin/env bash
# Train both presets side by side on one GPU within a fixed wall-clock budget:
#   1. render PAGES pages of the built-in synthetic source (16 processes),
#   2. fine-tune the shipped tiny model without label smoothing, and train the 5m preset from nothing at two peak
#      learning rates, all three at once, each for the minutes left (`--max_minutes`: the cosine is fitted to them),
#   3. pack the runs' weights, configs and curves into OUT (pieces of at most 15 MB: `cat runs-gpu.tgz.* | tar xz`).
#   STAGE=2: fine-tune those runs' weights (carried in runs/gpu-init/{tiny,5m}) on fresh pages without the shifts, which
#      cost the models their hold on the grid on table pages (load_page puts a page on the grid before it is read).
# Usage: OUT=/some/folder BUDGET=560 tools/train_gpu.sh        (DEVICE=cpu PAGES=2000 BUDGET=120 for a dry run)
# Python packages missing on the machine can travel as wheels in .whl/ (installed into /tmp/site first).
set -u
T0=$(date +%s)
OUT=${OUT:-runs/gpu-out}; BUDGET=${BUDGET:-560}; PAGES=${PAGES:-240000}; DEVICE=${DEVICE:-cuda}; BATCH=${BATCH:-128}; PY=${PY:-python3}
STAGE=${STAGE:-1}; RUN=${RUN:-runs/gpu}; DATA=${DATA:-data/gpu-v4}; SEED=7
[ $STAGE = 2 ] && { RUN=${RUN}2; DATA=${DATA}b; SEED=8; }
mkdir -p "$OUT" "$RUN"
exec > >(tee -a "$OUT/log.txt") 2>&1
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
say() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

if [ -z "${SKIP_WHEELS:-}" ] && compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
$PY - <<'EOF' || exit 1
import torch, datasets, pyarrow, faker, rapidfuzz, fastcore, imagetextslot
print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '',
      '| datasets', datasets.__version__, '| pyarrow', pyarrow.__version__, '| imagetextslot', imagetextslot.__version__)
EOF
say "packages ready"

cli() { local f=$1; shift; $PY -c "import sys; from imagetextslot.cli import $f; sys.argv[0] = '$f'; $f()" "$@"; }
[ -f $DATA/dataset_dict.json ] || cli data_main $DATA --pages $PAGES --seed $SEED --num_proc $(nproc) --quiet || exit 1
say "rendered $PAGES pages"

# the shipped tiny model without its label smoothing; the 5m preset's sizes with the tiny preset's counter, losses and dropout
mkdir -p $RUN/tiny-init && cp imagetextslot/weights/tiny/model.safetensors $RUN/tiny-init/
$PY - <<EOF || exit 1
import json
from imagetextslot.configs import preset_config
c = json.load(open('imagetextslot/weights/tiny/config.json')); c['label_smoothing'] = 0.0
json.dump(c, open('$RUN/tiny-init/config.json', 'w'), indent=2)
c = {'model_type': 'imagetextslot', **preset_config('5m').to_dict(), 'label_smoothing': 0.0, 'counter_loss_weight': 1.0}
c['counter'].update(pooling='presence', grad_scale=1.0, dropout=0.0); c['slot_attention']['dropout'] = 0.0 # as tiny's
json.dump(c, open('$RUN/5m.json', 'w'), indent=2)
EOF

# minutes of training each run gets: what is left, less loading the pages (~30 s), the last evaluation and packing
MIN=$($PY -c "print(round(($(left) - ${MARGIN:-80}) / 60, 2))")
say "training for $MIN minutes each"
SHIFT=0.3; EVERY=1000; [ $STAGE = 2 ] && { SHIFT=0; EVERY=500; }
AUG="--aug_shift $SHIFT --aug_levels 0.2 --aug_jpeg 0.4 --aug_blur 0.05 --aug_noise 0.05"
COMMON="--data $DATA --batch_size $BATCH --min_lr 1e-5 --max_steps 100000 --max_minutes $MIN --eval_every $EVERY --eval_pages 512 --save_every $EVERY --preload --device $DEVICE --threads 3 --quiet $AUG"
KILL=$(( $(left) - 20 ))
train() { local name=$1; shift; timeout -k 10 $KILL $PY -c "import sys; from imagetextslot.cli import train_main; sys.argv[0] = 'imagetextslot-train'; train_main()" \
  --out $RUN/$name "$@" $COMMON > $RUN/$name.log 2>&1 & PIDS+=($!); }
PIDS=()
if [ $STAGE = 1 ]; then
  RUNS="tiny 5m-lr2e-3 5m-lr5e-3"
  train tiny --init $RUN/tiny-init --lr 3e-4 --warmup_ratio 0.02 --seed 3
  train 5m-lr2e-3 --preset $RUN/5m.json --lr 2e-3 --warmup_ratio 0.05 --seed 0
  train 5m-lr5e-3 --preset $RUN/5m.json --lr 5e-3 --warmup_ratio 0.05 --seed 0
else
  RUNS="tiny 5m"
  train tiny --init runs/gpu-init/tiny --lr 1e-4 --warmup_ratio 0.02 --seed 4
  train 5m --init runs/gpu-init/5m --lr 5e-4 --warmup_ratio 0.02 --seed 1
fi
(while sleep 60; do say "$(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null)"; for r in $RUNS; do tail -c 300 $RUN/$r/metrics.jsonl 2>/dev/null | tail -1 | cut -c1-160; done; done) &
MON=$!
wait "${PIDS[@]}"; kill $MON 2>/dev/null
say "training done"
for r in $RUNS; do echo "== $r"; tail -n 25 $RUN/$r.log; done

# pack: every run's metrics, curves and best checkpoint; tiny's last too (the 5m weights are 19 MB each)
cd $RUN && tar czf - --exclude=training_state.pt \
  */metrics.jsonl */curves.png */checkpoints/best $([ $STAGE = 2 ] && echo 5m/checkpoints/last) tiny/checkpoints/last *.log $(ls -d 5m.json tiny-init/config.json 2>/dev/null) \
  | split -b 15M - "$OUT/runs-gpu.tgz."
cd - > /dev/null; ls -la "$OUT"; say "done"
