#!/usr/bin/env bash
# Regenerate the speech test clips in this folder from their reference texts.
#
# The <name>.txt files are the single source: each is synthesised with the
# voice listed in CLIPS below, then converted to 16 kHz mono 16-bit FLAC with
# a short silence added before and after the speech so nothing is clipped.
#
# Usage:  FFMPEG=/path/to/ffmpeg ./make_clips.sh [name ...]
#   With no names, all clips are rebuilt.  FFMPEG defaults to `ffmpeg` on PATH.
# Needs:  festival, festvox-us-slt-hts, festvox-kdlpc16k, festvox-kallpc16k, flite,
#         espeak-ng (Debian).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FFMPEG="${FFMPEG:-ffmpeg}"

# name  engine  voice
CLIPS=(
  "kindness_programme         festival  cmu_us_slt_arctic_hts"
  "bridges_across_difference  flite     rms"
  "practice_of_kindness       flite     awb"
  "belong_library             festival  ked_diphone"
  "crossroads_after_lockdown  festival  cmu_us_slt_arctic_hts"
  "beyond_us_and_them         flite     slt"
  "intergroup_relations       flite     kal16"
  "tracking_cohesion          espeak-ng en-gb-x-rp"
  "arts_and_empathy           festival  kal_diphone"
  "kindness_in_local_government espeak-ng en-us"
)

need() { command -v "$1" >/dev/null 2>&1 || { echo "make_clips.sh: '$1' not found ($2)" >&2; exit 1; }; }
need "$FFMPEG" "set FFMPEG or put ffmpeg on PATH"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

synth() {  # engine voice text.txt out.wav
  local engine="$1" voice="$2" txt="$3" wav="$4"
  case "$engine" in
    festival)
      need text2wave "apt-get install festival festvox-us-slt-hts festvox-kdlpc16k"
      text2wave -eval "(voice_${voice})" -o "$wav" "$txt" ;;
    flite)
      need flite "apt-get install flite"
      flite -voice "$voice" -f "$txt" -o "$wav" ;;
    espeak-ng)
      need espeak-ng "apt-get install espeak-ng"
      espeak-ng -v "$voice" -s 160 -f "$txt" -w "$wav" ;;
    *) echo "make_clips.sh: unknown engine '$engine'" >&2; exit 1 ;;
  esac
}

wanted=("$@")
for spec in "${CLIPS[@]}"; do
  read -r name engine voice <<<"$spec"
  if ((${#wanted[@]})) && [[ " ${wanted[*]} " != *" $name "* ]]; then
    continue
  fi
  txt="$here/$name.txt"
  [[ -f "$txt" ]] || { echo "make_clips.sh: missing $txt" >&2; exit 1; }
  synth "$engine" "$voice" "$txt" "$tmp/$name.wav"
  "$FFMPEG" -hide_banner -loglevel error -y -i "$tmp/$name.wav" \
    -af "adelay=400:all=1,apad=pad_dur=0.6,aresample=16000" \
    -ac 1 -sample_fmt s16 -compression_level 8 \
    -map_metadata -1 -fflags +bitexact -flags:a +bitexact \
    "$here/$name.flac"
  echo "wrote $name.flac ($engine $voice)"
done
