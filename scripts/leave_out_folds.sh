#!/usr/bin/env bash
# The leave-source-out folds behind the model card's headline table (forensics.training.leave_out). Each fold trains
# the default recipe once without its groups (20-40 min on the 2-core CPU), calibrates without them and reports
# every left-out file, as the files are and re-sampled to 320 px / JPEG 90; the last line writes the table into the
# card of the shipped default. Usage: bash scripts/leave_out_folds.sh [CONFIG]   (default configs/from-imagenet.toml: a fold cannot start from weights that saw its sources)
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${1:-configs/from-imagenet.toml}
PY=${FORENSICS_VENV:-.venv}/bin/python
# fold A: a stock-photo source, the paired DeepFaceLive swaps (their swapped-in models too), all diffusion faces
"$PY" -m forensics leave-out --config "$CONFIG" --name lso-a --normalise 320,90 \
  --hold source:pixabay_portraits --hold source:dfl_video --hold kind:diffusion
# fold B: celebrity photos, CelebA-HQ photos, and the ciplab family (camera originals and their Photoshop edits)
"$PY" -m forensics leave-out --config "$CONFIG" --name lso-b --normalise 320,90 \
  --hold source:dfl_photos --hold source:stargan_celebahq --hold family:ciplab
"$PY" -m forensics leave-out --table runs/lso-a runs/lso-b --card ffd-mobilenetv2
