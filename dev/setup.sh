#!/usr/bin/env bash
# Prepare a development environment: .venv in the checkout (created if missing) with this
# package installed in editable mode and the extras of pyproject.toml that are asked for.
#
#   bash dev/setup.sh                 # the `dev` extra: test + docs + pre-commit
#   bash dev/setup.sh --extras test,docs
#   bash dev/setup.sh --extras ""     # the package only
#   bash dev/setup.sh --hooks         # also install the pre-commit git hook
#
# The extras are the development requirements (there is no separate requirements file).
# conda and libmambapy are not on PyPI. Beside ../shared/wheels (the project's machines and
# CI: wheels of the released conda, libmambapy and conda-libmamba-solver) they are installed
# from there, so the tests run the real things on both engines; without it (a user's
# checkout) tests that need them skip with the reason (see docs/real-conda.md).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
extras="dev"
hooks=0
while [ $# -gt 0 ]; do
    case "$1" in
        --extras) extras="$2"; shift 2 ;;
        --hooks) hooks=1; shift ;;
        *) echo "dev/setup.sh: unknown argument '$1' (use --extras LIST or --hooks)" >&2; exit 2 ;;
    esac
done
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
wheels="$(cd .. && pwd)/shared/wheels"
real_stack=()
if [ -d "$wheels" ]; then
    # the libmamba extra states the supported libmambapy range; conda and
    # conda-libmamba-solver come with it for the adapter tests and the comparisons
    extras="${extras:+$extras,}libmamba"
    real_stack=(--find-links "$wheels" "conda >=26.3" conda-libmamba-solver)
fi
target="."
if [ -n "$extras" ]; then
    target=".[$extras]"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e "$target" "${real_stack[@]}"
if [ "$hooks" = 1 ]; then
    .venv/bin/python -m pre_commit install
fi
# A second conda for the conda-facing tests where conda's main branch differs from the
# release (exclude-newer, the solver class and its capability flags, shards): beside
# ../shared/wheels, .venv-conda-main is a venv holding only that conda, layered over .venv
# (a .pth adds .venv's site-packages after its own), so everything else is the same
# install and the package stays editable. pip never picks this conda unless asked by version.
main_wheel=("$wheels"/conda-*.dev*-py3-none-any.whl)
if [ -f "${main_wheel[0]}" ]; then
    if [ ! -x .venv-conda-main/bin/python ]; then
        .venv/bin/python -m venv .venv-conda-main
    fi
    .venv-conda-main/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
        "${main_wheel[0]}"
    base_site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    main_site="$(.venv-conda-main/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "import site; site.addsitedir('$base_site')" > "$main_site/zz_conda_solver_plus_base.pth"
fi
