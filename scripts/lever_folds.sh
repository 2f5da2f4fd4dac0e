#!/usr/bin/env bash
# Issue 31's lever A/B on one leave-out fold ("fold G"): every config in configs/levers/ trained once per seed without
# three generators (FLUX, Stable Diffusion 1.5 and its identity pipelines, StyleGAN2), the DeepFaceLive pairs and two
# camera-photo sources, calibrated without them, then every left-out file judged as it is and re-sampled to
# 320 px / JPEG 90. Runs land in runs/g-<lever>-s<seed>; `scripts/lever_table.py runs/g-*` compares them.
# Training needs the machine to itself: nothing else may use the CPU while this runs (the run log marks any epoch
# under 30 faces/s as contended).   Usage: bash scripts/lever_folds.sh "genbal base chain" "0 1"
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${FORENSICS_VENV:-.venv}/bin/python
LEVERS=${1:-"genbal base chain safe mask npr effnet"}
SEEDS=${2:-"0 1"}
HOLDS=(--hold generator:flux --hold generator:sd15 --hold generator:stylegan2 --hold source:dfl_video
       --hold source:pixabay_portraits --hold source:dfl_photos)
for seed in $SEEDS; do
  for lever in $LEVERS; do
    OMP_WAIT_POLICY=PASSIVE "$PY" -m forensics --threads 2 leave-out --config "configs/levers/$lever.toml" \
      --name "g-$lever-s$seed" --seed "$seed" --normalise 320,90 --quiet "${HOLDS[@]}"
  done
done
