"""Parse untrusted bytes in a throwaway subprocess with a timeout and memory/CPU limits.

GDAL is C code that fuzzers regularly crash; a crash in the Streamlit process would end every
user's session. Here the upload is written into a private temporary directory, a fresh Python
(``python -m geo.io.sandbox DIR``) sets its own resource limits *before* importing pyogrio,
registers only the GDAL driver the sniffed format needs (every other vector driver is listed
in ``GDAL_SKIP``), has no network — enforced by the kernel: a seccomp filter makes every
``socket()`` of an Internet or packet family fail with EACCES (:func:`forbid_network`), so a
GeoJSON ``crs`` link or any URL GDAL might follow goes nowhere; ``GDAL_HTTP_PROXY`` to the
discard port stays as a second fence — parses the bytes and writes an Arrow IPC file (geometry as WKB) plus ``meta.json``.
Nothing is unpickled: the parent reads only Arrow and JSON. A crash, a hang or running out of
memory becomes a one-line :class:`ParseFailed`; the app carries on.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from geo.errors import KeyedError
from geo.io.safety import SANDBOX_GDAL_CONFIG, SKIPPED_DRIVERS, Format, Limits

_REPO_ROOT = str(Path(__file__).resolve().parents[2])
#: The command that runs the worker; the directory is appended.
# Once its files are written the worker leaves at once (``os._exit``): tearing down the native
# libraries' threads at interpreter exit aborted about one parse of GeoParquet in 50 under load
# ("terminate called without an active exception", SIGABRT), refusing a good file as a crash.
WORKER_COMMAND = [sys.executable, "-I", "-c",
                  f"import os, sys; sys.path.insert(0, {_REPO_ROOT!r}); "
                  "from geo.io.sandbox import worker_main; worker_main(sys.argv[1]); "
                  "sys.stdout.flush(); sys.stderr.flush(); os._exit(0)"]


class ParseFailed(KeyedError):
    """The parsing subprocess failed: corrupt file, crash, timeout or memory limit (keys ``import.refused.*``)."""


@dataclass
class Parsed:
    """What came back from the subprocess: attributes, geometry (shapely array or None), meta."""

    frame: object  # pandas.DataFrame of attributes
    geometry: object  # numpy array of shapely geometries, or None for plain tables
    meta: dict


def _all_vector_drivers() -> set[str]:
    import pyogrio

    return set(pyogrio.list_drivers())


def sandbox_env(fmt: Format, workdir: str, limits: Limits) -> dict[str, str]:
    """The worker's complete environment: nothing inherited but what Python needs."""
    skip = (_all_vector_drivers() | set(SKIPPED_DRIVERS)) - set(fmt.drivers)
    env = {
        "PATH": os.defpath, "HOME": workdir, "TMPDIR": workdir, "CPL_TMPDIR": workdir,
        "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1",
        "PARKATLAS_SANDBOX_MEMORY": str(limits.memory_bytes),
        "PARKATLAS_SANDBOX_CPU_S": str(int(limits.timeout_s) + 5),
        **SANDBOX_GDAL_CONFIG,
        "GDAL_SKIP": ",".join(sorted(skip)),
    }
    return env


def parse_in_sandbox(data: bytes, fmt: Format, *, limits: Limits, encoding: str | None = None,
                     layer_hint: str | None = None, gdal_encoding: str | None = None,
                     display_name: str = "the upload") -> Parsed:
    """Parse ``data`` as ``fmt`` in a subprocess; returns :class:`Parsed` or raises :class:`ParseFailed`."""
    import pandas as pd
    import pyarrow as pa
    import shapely

    with tempfile.TemporaryDirectory(prefix="parkatlas-import-") as workdir:
        (Path(workdir) / "upload.bin").write_bytes(data)
        request = {"format": fmt.key, "drivers": list(fmt.drivers), "encoding": encoding,
                   "layer_hint": layer_hint, "gdal_encoding": gdal_encoding}
        (Path(workdir) / "request.json").write_text(json.dumps(request))
        proc = subprocess.Popen(WORKER_COMMAND + [workdir], env=sandbox_env(fmt, workdir, limits),
                                cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise ParseFailed("import.refused.parse_timeout", f"parsing {display_name} took longer than "
                              f"{limits.timeout_s:.0f} s and was stopped; the file is probably malformed",
                              file=display_name, seconds=f"{limits.timeout_s:.0f}") from None
        failure = Path(workdir) / "error.json"
        if failure.exists():
            error = json.loads(failure.read_text())
            raise ParseFailed(f"import.refused.read.{error.get('key', 'failed')}",
                              f"cannot read {display_name} as {fmt.label}: {error['message']}",
                              **{k: str(v) for k, v in (error.get("values") or {}).items()}, file=display_name)
        if proc.returncode != 0:
            raise _exit_failure(proc.returncode, stderr, display_name, limits)
        meta = json.loads((Path(workdir) / "meta.json").read_text())
        with pa.memory_map(str(Path(workdir) / "table.arrow")) as source:
            table = pa.ipc.open_file(source).read_all()
        geometry = None
        if "geometry" in table.column_names:
            wkb = table.column("geometry").to_numpy(zero_copy_only=False)
            geometry = shapely.from_wkb(wkb, on_invalid="fix")  # unfixable → None, reported as empty
            meta["unreadable_geometries"] = int((shapely.is_missing(geometry) & (wkb != None)).sum())  # noqa: E711
            table = table.drop_columns(["geometry"])
        frame = table.to_pandas() if table.num_columns else \
            pd.DataFrame(index=pd.RangeIndex(table.num_rows))
        return Parsed(frame, geometry, meta)


def _exit_failure(code: int, stderr: bytes, name: str, limits: Limits) -> ParseFailed:
    if code < 0:
        signame = signal.Signals(-code).name
        if -code in (signal.SIGKILL, signal.SIGXCPU):
            return ParseFailed("import.refused.parse_limit", f"parsing {name} was stopped ({signame}) at the CPU or "
                               "memory limit; the file is probably malformed", file=name, signal=signame)
        return ParseFailed("import.refused.parse_crash", f"the parser crashed ({signame}) on {name}; the file is "
                           "probably corrupt (the app is unaffected)", file=name, signal=signame)
    if b"MemoryError" in stderr or b"std::bad_alloc" in stderr:
        memory = f"{limits.memory_bytes / 2 ** 20:.0f}"
        return ParseFailed("import.refused.parse_memory", f"parsing {name} needed more than {memory} MB of memory "
                           "and was stopped; the file is probably malformed or too large", file=name, limit=memory)
    return ParseFailed("import.refused.parse_exit", f"the parser failed on {name} (exit status {code}); the file is "
                       "probably corrupt", file=name, code=code)


# --- inside the subprocess ----------------------------------------------------------------------
def _apply_limits() -> None:
    import resource

    memory = int(os.environ["PARKATLAS_SANDBOX_MEMORY"])
    cpu = int(os.environ["PARKATLAS_SANDBOX_CPU_S"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (memory, memory))
    forbid_network()


#: seccomp: architecture id and ``socket`` syscall numbers (x86_64 also has the x32 ABI's).
_SECCOMP_ARCH = {"x86_64": (0xC000003E, (41, 0x40000000 | 41)), "aarch64": (0xC00000B7, (198,))}
_BLOCKED_FAMILIES = (2, 10, 17)  # AF_INET, AF_INET6, AF_PACKET


def forbid_network() -> None:
    """From now on this process (and its children) cannot open an Internet or packet socket.

    A classic-BPF seccomp filter (installed with ``prctl``, no privileges needed once
    ``no_new_privs`` is set): ``socket(family, …)`` with a blocked family returns EACCES, other
    system calls are untouched, and a system call of a foreign architecture kills the process.
    Raises ``OSError`` when the kernel refuses the filter, so parsing never runs unfenced.
    """
    import ctypes
    import platform
    import struct

    machine = platform.machine()
    if machine not in _SECCOMP_ARCH:
        raise OSError(f"no seccomp network filter for {machine}; refusing to parse without one")
    arch, socket_calls = _SECCOMP_ARCH[machine]
    ld, jeq, ret = 0x20, 0x15, 0x06
    allow, deny, kill = 0x7FFF0000, 0x00050000 | 13, 0x80000000  # ALLOW, ERRNO(EACCES), KILL_PROCESS
    n_calls, n_families = len(socket_calls), len(_BLOCKED_FAMILIES)
    program = [(ld, 0, 0, 4)]
    program.append((jeq, 0, 2 + n_calls + 1 + n_families + 2, arch))  # foreign architecture → kill
    program.append((ld, 0, 0, 0))
    for i, number in enumerate(socket_calls):  # a socket call → check its family, else allow
        program.append((jeq, n_calls - i, 0, number))
    program.append((ret, 0, 0, allow))
    program.append((ld, 0, 0, 16))  # args[0], the family (low 32 bits)
    for i, family in enumerate(_BLOCKED_FAMILIES):
        program.append((jeq, n_families - i, 0, family))
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny), (ret, 0, 0, kill)]
    filters = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) != 0 or \
            libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the seccomp network filter")


#: What pyogrio imports whenever it finds it installed (about 0.5 s of CPU per parse, more than reading
#: 100,000 parcels); GDAL formats are read straight to Arrow without any of it.
_ANALYSIS_STACK = ("geopandas", "pandas", "shapely", "pyproj")
#: Formats not read by GDAL (:mod:`geo.io.readers`): pyarrow (which looks for pandas) and pandas.
_NOT_GDAL_FORMATS = ("parquet", "csv", "xlsx")


def worker_main(workdir: str) -> None:
    """Entry point of the subprocess: limits first, then parse, then write Arrow + JSON."""
    _apply_limits()
    directory = Path(workdir)
    request = json.loads((directory / "request.json").read_text())
    if request["format"] not in _NOT_GDAL_FORMATS:
        sys.modules.update(dict.fromkeys(_ANALYSIS_STACK))  # None: `import pandas` fails, pyogrio carries on
    import pyarrow as pa

    from geo.io.readers import ReadError, read_upload_bytes

    data = (directory / "upload.bin").read_bytes()
    try:
        table, meta = read_upload_bytes(data, request)
    except ReadError as exc:
        (directory / "error.json").write_text(json.dumps({"message": str(exc), "key": exc.key, "values": exc.values}))
        return
    except MemoryError:
        raise
    except Exception as exc:  # a reader bug or a library error on a corrupt file: say which, briefly
        first_line = (str(exc).splitlines() or [""])[0][:120]
        (directory / "error.json").write_text(json.dumps({"message": f"{type(exc).__name__}: {first_line}"}))
        return
    with pa.OSFile(str(directory / "table.arrow"), "wb") as sink:
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    (directory / "meta.json").write_text(json.dumps(meta))
