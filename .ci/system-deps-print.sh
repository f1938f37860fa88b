#!/usr/bin/env bash
# System packages for the print test: LibreOffice Calc headless (committee workbook -> PDF),
# poppler-utils (pdfinfo page count, pdftoppm to look at the pages) and fonts with Vietnamese
# glyphs (Liberation Serif has the metrics of Times New Roman, the workbooks' font, so a page
# breaks where it would under Excel). Idempotent: installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing=()
for pkg in libreoffice-calc-nogui poppler-utils fonts-dejavu-core fonts-liberation2 fonts-crosextra-carlito; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "system-deps-print: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v soffice >/dev/null
command -v pdfinfo >/dev/null
echo "system-deps-print: ok ($(soffice --version 2>/dev/null | head -n1))"
