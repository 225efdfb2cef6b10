#!/usr/bin/env bash
# Print the path of a CPython X.Y interpreter (python3.13 on PATH, else pyenv's), or nothing when there is none.
# pyenv's shims answer only with PYENV_VERSION set, so its versions are found through `pyenv root` instead.
set -uo pipefail
want=${1:?usage: find_python.sh X.Y}
works() { "$1" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$want')" 2>/dev/null; }
for candidate in "$(command -v "python$want" 2>/dev/null)" /usr/bin/python"$want" /usr/local/bin/python"$want"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && works "$candidate"; then echo "$candidate"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for candidate in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
  if works "$candidate/bin/python$want"; then echo "$candidate/bin/python$want"; exit 0; fi
done
