#!/usr/bin/env bash
# Installs the Debian packages the hall software needs, or names them when we may not install.
# Why a script and not a README paragraph: `make demo` and `make test` must work on a fresh machine.
set -euo pipefail

PACKAGES=(python3 python3-venv libzbar0 libusb-1.0-0 xvfb fonts-wqy-microhei fonts-hanazono socat
          libmtdev1 libegl1 libgl1 libgles2 libgl1-mesa-dri  # Kivy's window (SDL2 offscreen or X11)
          espeak-ng sox  # the voice announcer's generated segments, and checking them by their statistics
          postgresql postgresql-client  # the county hub's store (a throwaway cluster in tests and the demo)
          chromium chromium-driver)  # the county hub's web pages, driven by the browser tests

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# A Python from pyenv or similar already carries venv; don't demand Debian's python3 then.
if python3 -c 'import venv, ensurepip' 2>/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do
    [[ "$p" == python3 || "$p" == python3-venv ]] || filtered+=("$p")
  done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "This is not a Debian-like system; please install the equivalents of: ${missing[*]}" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
