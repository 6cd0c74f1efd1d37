#!/usr/bin/env bash
# The check step of the cmcflex GitHub Action (action.yml): one check per dossier, annotations on
# standard output (verdict first), SARIF, Markdown and JSON reports in CMCFLEX_OUTPUT_DIR, the
# Markdown in the job summary, and the highest exit code as the step's own.
# Inputs arrive as environment variables, never spliced into the script, so no input can run code.
set -uo pipefail

cmcflex="${CMCFLEX_BIN:-cmcflex}"
out="${CMCFLEX_OUTPUT_DIR:-cmcflex-reports}"
mkdir -p "$out"

args=(--fail-on "${CMCFLEX_FAIL_ON_INPUT:-major}" -f github)
[ -n "${CMCFLEX_TARGET:-}" ] && args+=(--target "$CMCFLEX_TARGET")
[ -n "${CMCFLEX_AS_OF:-}" ] && args+=(--as-of "$CMCFLEX_AS_OF")
[ "${CMCFLEX_SARIF_INFO:-false}" = "true" ] || args+=(--sarif-no-info)
if [ -n "${CMCFLEX_ACTION_REPOSITORY:-}" ] && [ -n "${CMCFLEX_ACTION_REF:-}" ]; then
  # rule help links point at this action's own documentation, at the version in use
  export CMCFLEX_DOCS_URL="${CMCFLEX_SERVER_URL:-https://github.com}/$CMCFLEX_ACTION_REPOSITORY/blob/$CMCFLEX_ACTION_REF/docs"
fi

set -f  # folder names are split at spaces and new lines, never expanded as patterns
mapfile -t dossiers < <(printf '%s\n' ${CMCFLEX_DOSSIERS:-} | sed '/^$/d')
set +f
if [ "${#dossiers[@]}" -eq 0 ]; then
  echo "::error title=cmcflex::the dossiers input names no folder"
  exit 2
fi

worst=0
sarif=()
for dossier in "${dossiers[@]}"; do
  name="$(basename "$(cd "$dossier" 2>/dev/null && pwd || echo "$dossier")")"
  "$cmcflex" check "$dossier" "${args[@]}" \
    -o "sarif:$out/$name.sarif" -o "markdown:$out/$name.md" -o "json:$out/$name.json"
  code=$?
  [ "$code" -gt "$worst" ] && worst=$code
  [ -f "$out/$name.sarif" ] && sarif+=("$out/$name.sarif")
  if [ -f "$out/$name.md" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$out/$name.md" >> "$GITHUB_STEP_SUMMARY"
  fi
done

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$worst"
    if [ "${#dossiers[@]}" -eq 1 ] && [ "${#sarif[@]}" -eq 1 ]; then
      echo "sarif=${sarif[0]}"
    elif [ "${#sarif[@]}" -gt 0 ]; then
      echo "sarif=$out"
    fi
    echo "markdown=$out"
    echo "json=$out"
  } >> "$GITHUB_OUTPUT"
fi
exit "$worst"
