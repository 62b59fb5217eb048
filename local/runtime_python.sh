# Sourced: RUNTIME_PYTHON, an interpreter of the functions' runtime (template.yaml's Globals Runtime), found on
# PATH or among pyenv's versions; RUNTIME_BIN, its folder, to put first on PATH for `sam build`.
runtime="$(sed -n 's/^ *Runtime: *python\([0-9.]*\) *$/\1/p' template.yaml | head -1)"
RUNTIME_PYTHON=""
for candidate in "python$runtime" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$runtime".*/bin/"python$runtime"; do
  if "$candidate" -c 'import sys' >/dev/null 2>&1; then
    RUNTIME_PYTHON="$("$candidate" -c 'import sys; print(sys.executable)')"
    break
  fi
done
if [ -z "$RUNTIME_PYTHON" ]; then
  echo "no python$runtime found (template.yaml's runtime): install it (e.g. pyenv install $runtime) or put it on PATH" >&2
  exit 1
fi
RUNTIME_BIN="$(dirname "$RUNTIME_PYTHON")"
export RUNTIME_PYTHON
