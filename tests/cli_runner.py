"""Run ``cli.py`` the way a shell would, but inside the test process (no Python start-up per call).

Starting a Python process that imports pandas, GeoPandas and GDAL costs 2-3 s of CPU; the suite
runs the CLI a few hundred times, so :func:`run_cli` calls the same entry point as ``cli.py``
(``commands.build_parser`` then ``commands.run``) in-process, with what the process would have
had as its own: the given environment and working directory, an empty stdin (or ``input``),
captured stdout and stderr, Python's default warning filters (a warning is printed to stderr as
the interpreter would), an uncaught exception printed as a traceback with exit status 1, and
``SystemExit`` (argparse) turned into the exit status. The result is a
``subprocess.CompletedProcess`` like ``subprocess.run(..., capture_output=True, text=True)``.

Keep :func:`run_cli_process` (a real ``python cli.py``) where the process boundary is the point:
start-up time and lazy imports, resource limits, signals, an environment without the test's.
"""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _process_like(env: dict | None, cwd: Path | str | None, stdin: str):
    """The environment, working directory, standard streams and warning filters of a fresh process."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    out, err = io.StringIO(), io.StringIO()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update({str(k): str(v) for k, v in env.items()})
            from geo.io.safety import apply_gdal_config

            apply_gdal_config()  # what ``import geo`` does in a fresh process
        os.chdir(cwd if cwd is not None else ROOT)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
        with warnings.catch_warnings(record=True) as caught:
            warnings.resetwarnings()  # the interpreter's defaults, not pytest's filters
            warnings.simplefilter("default")
            for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.filterwarnings("ignore", category=category)
            try:
                yield out, err
            finally:
                for w in caught:
                    err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        os.chdir(saved_cwd)
        if env is not None:
            os.environ.clear()
            os.environ.update(saved_env)


def run_cli(*args, env: dict | None = None, cwd: Path | str | None = None, input: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess:
    """``python cli.py *args`` in-process; the signature of ``subprocess.run`` (``timeout`` is not enforced:
    pytest-timeout bounds the test)."""
    from commands import build_parser, run

    argv = [str(a) for a in args]
    with _process_like(env, cwd, input or "") as (out, err):
        try:
            code = run(build_parser(argv), argv)
        except SystemExit as exc:  # argparse: --help, usage errors
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except Exception:  # noqa: BLE001 - what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
    return subprocess.CompletedProcess(["cli.py", *argv], code, out.getvalue(), err.getvalue())


def run_cli_process(*args, env: dict | None = None, cwd: Path | str | None = None, input: str | None = None,
                    timeout: float = 300) -> subprocess.CompletedProcess:
    """A real ``python cli.py *args`` process (see the module's docstring for when to use it)."""
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], env=env, cwd=cwd or ROOT,
                          input=input, capture_output=True, text=True, timeout=timeout)
