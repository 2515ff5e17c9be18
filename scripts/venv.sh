# Sourced by scripts/demo and scripts/test: makes .venv (Python 3.11+) if it is
# missing and installs the project into it, with the extras named ("" for none).
# Expects say and die to be defined by the caller.

python_is_recent() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }

ensure_venv() {
    local spec=. python=""
    [[ -z ${1:-} ]] || spec=".[$1]"

    if [[ ! -x .venv/bin/python ]]; then
        for candidate in python3 python3.13 python3.12 python3.11; do
            if command -v "$candidate" >/dev/null && python_is_recent "$candidate"; then
                python=$candidate
                break
            fi
        done
        [[ -n $python ]] || die "no Python 3.11 or newer found (tried python3, python3.13, python3.12, python3.11)"
        say "creating .venv with $python ($("$python" --version 2>&1))"
        "$python" -m venv .venv || die "could not create .venv with '$python -m venv' (on Debian: apt-get install python3-venv)"
    fi
    python_is_recent .venv/bin/python ||
        die ".venv has $(.venv/bin/python --version 2>&1); 3.11+ is needed: remove .venv and run again"

    say "pip install -e '$spec'"
    # pip warns, harmlessly, about each package missing from this machine's extra
    # local index locations; the filter keeps every other line.
    .venv/bin/pip install -q -e "$spec" 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; } ||
        die "pip install -e '$spec' failed"
}
