"""Compiled problem functions for a CasADi NLP solver, cached per machine.

CasADi evaluates an SX solver's problem functions (objective, constraints, their derivatives and
the Lagrangian Hessian) in its virtual machine. :func:`compiled_library` generates them as C (the
same expression graphs in the same operation order), compiles them once into a shared library in
a cache directory, and returns its path, which ``casadi.nlpsol(name, plugin, path, opts)`` loads
in place of the SX expressions (or ``casadi.external`` loads one function, e.g. the real-time
iteration's QP data, :mod:`cav_stack.control.rti`). The cache key is a hash of the generated C, the compiler command
and flags, and the CasADi version: a changed problem compiles anew, an unchanged one loads from
the cache in milliseconds, in any process. Compiling the MPC's functions takes ~18 s with gcc -O2.

Without a working C compiler the caller keeps the interpreted solver; the problem is reported
with one :class:`RuntimeWarning` per distinct cause (Python's default warning filter).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import casadi as ca

#: Compiler flags: optimised position-independent shared library. No -ffast-math and no
#: -march: the compiled functions round exactly like CasADi's virtual machine.
CFLAGS = ("-O2", "-fPIC", "-shared")
#: Libraries linked after the source (the generated C calls libm).
LDLIBS = ("-lm",)
#: Subdirectory of the user cache directory used when no cache directory is configured.
CACHE_SUBDIR = Path("cav_stack") / "nlp"
#: Lock file in the cache directory held while a library is built.
LOCK_FILE = ".build.lock"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/cav_stack/nlp``, or ``~/.cache/cav_stack/nlp`` without XDG_CACHE_HOME."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CACHE_SUBDIR


def solver_functions(solver: ca.Function) -> list[ca.Function]:
    """An nlpsol's problem functions: its oracle ``nlp`` (inputs x, p; outputs f, g) and every
    function the solver derived from it (``nlp_f``, ``nlp_jac_g``, ``nlp_hess_l``, ...), under the
    names the solver looks them up by."""
    return [solver.oracle(), *(solver.get_function(name) for name in solver.get_function())]


def functions_source(functions: list[ca.Function]) -> str:
    """C source of ``functions``, each under its own name."""
    gen = ca.CodeGenerator("nlp_functions.c", {"with_header": False})
    for function in functions:
        gen.add(function)
    return gen.dump()


def compiled_library(name: str, functions: list[ca.Function], compiler: str, cache_dir: Path) -> Path | None:
    """Path of a shared library ``<name>_<hash>.so`` holding ``functions`` compiled by ``compiler``
    (a command name or path), built on the first request and found in ``cache_dir`` afterwards.
    Load it with ``casadi.nlpsol(name, plugin, path, opts)`` (the :func:`solver_functions` of a
    solver) or ``casadi.external(function_name, path)``.
    Concurrent processes wait for one build (file lock). Returns None, with a RuntimeWarning,
    when the library cannot be built (compiler missing or failing, cache directory not writable)."""
    source = functions_source(functions)
    version = ca.__version__  # type: ignore[attr-defined]  # casadi's stubs omit __version__
    key = hashlib.sha256("\n".join([version, compiler, *CFLAGS, *LDLIBS, source]).encode()).hexdigest()
    library = cache_dir / f"{name}_{key[:24]}.so"
    if library.exists():
        return library
    if shutil.which(compiler) is None:
        _warn(f"C compiler {compiler!r} not found")
        return None
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with open(cache_dir / LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not library.exists():
                _build(source, compiler, library)
    except subprocess.CalledProcessError as exc:
        tail = " ".join(exc.stderr.decode(errors="replace").strip().splitlines()[-3:])
        _warn(f"C compiler {compiler!r} failed with exit status {exc.returncode}: {tail}")
        return None
    except OSError as exc:
        _warn(f"cannot write the compiled problem functions to {cache_dir}: {exc}")
        return None
    return library


def _build(source: str, compiler: str, library: Path) -> None:
    """Compile ``source`` into ``library`` atomically (a partial file never has its name)."""
    with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
        c_file = Path(tmp) / "nlp_functions.c"
        c_file.write_text(source)
        out = Path(tmp) / library.name
        subprocess.run([compiler, *CFLAGS, str(c_file), "-o", str(out), *LDLIBS],
                       check=True, capture_output=True)
        os.replace(out, library)


def _warn(problem: str) -> None:
    warnings.warn(f"{problem}; the NLP functions stay interpreted by CasADi (slower solves)",
                  RuntimeWarning, stacklevel=3)
