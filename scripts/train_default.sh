#!/usr/bin/env bash
# The shipped default detector, reproduced end to end (issue 31 / 33): the leave-out folds of its recipe, then the
# detector itself (trained on everything, calibrated on validation with the folds' findings: low edge, unseen-kind
# misses, likelihood-ratio bounds), its novelty model, its evaluation and the card's headline table.
# Training needs the machine to itself (about 2 h on 2 cores): run nothing else meanwhile.
# Usage: bash scripts/train_default.sh            (FORENSICS_VENV as for scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${FORENSICS_VENV:-.venv}/bin/python
export OMP_WAIT_POLICY=PASSIVE
CONFIG=configs/default.toml
# fold G: three generators (FLUX, Stable Diffusion 1.5 and its identity pipelines, StyleGAN2), the DeepFaceLive pairs
# and two camera-photo sources left out; two seeds
for seed in 0 1; do
  "$PY" -m forensics --threads 2 leave-out --config "$CONFIG" --name "fold-g-s$seed" --seed "$seed" \
    --normalise 320,90 --quiet --hold generator:flux --hold generator:sd15 --hold generator:stylegan2 \
    --hold source:dfl_video --hold source:pixabay_portraits --hold source:dfl_photos
done
# fold D: the DeepFaceLive live swaps of six swapped-in models (and their original frames) left out, five kept
"$PY" -m forensics --threads 2 leave-out --config "$CONFIG" --name fold-d-s0 --seed 0 --normalise 320,90 --quiet \
  --hold "name:Ava_de_Addario_*|David_Kovalniy_*|Tim_Chrys_*|Zahar_Lupin_*|Keanu_Reeves_*|Tina_Shift_*"
# the detector ([calibration] leave_out_runs names the folds above), exported into weights/
"$PY" -m forensics --threads 2 train --config "$CONFIG" --quiet
"$PY" -m forensics --threads 2 fit-novelty --detector ffd-mobilenetv2 --data ../shared/data/train --out weights
"$PY" -m forensics --threads 2 evaluate ../shared/data/val --detector ffd-mobilenetv2 --normalise 256,75 \
  --bootstrap 500 --out runs/eval_default --update-card ffd-mobilenetv2
"$PY" -m forensics leave-out --table runs/fold-g-s0 runs/fold-g-s1 runs/fold-d-s0 --card ffd-mobilenetv2
