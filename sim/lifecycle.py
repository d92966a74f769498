"""A run's lifecycle: it owns its folder, beats while it runs, dies cleanly, and can be resumed.

**The folder is locked, then cleared.** :class:`FolderLock` takes an exclusive ``fcntl.flock`` on
``<run folder>/.sim/lock`` (non-blocking) and holds it until :func:`sim.run.execute` returns. A second run into a
folder whose lock is held stops at once with one line (:class:`RunFolderBusy`, exit status 1) and writes nothing.
The run that holds the lock then removes what an earlier run left (:func:`clear_outputs`: the files of the
contract, :data:`OUTPUT_FILES`, our temporary files and the checkpoints unless resuming); anything else in the
folder is left alone (``hydra.run.dir=.`` must not delete a work tree). Hydra writes ``.hydra/`` and
``<job>.log`` into the folder before the job starts, so a command that loses the race has already overwritten
``.hydra/``: the winner writes ``.hydra/`` again from its own Hydra state when it starts and when it ends
(:func:`own_hydra_files`), and keeps a copy in ``.sim/hydra/``, from which a refused resume puts it back. A
refusal of a non-empty folder would not work here: the folder is never empty when the job starts. ``flock`` is
local to one machine (not reliable on NFS).

**The manifest beats.** :class:`Manifest` holds ``manifest.json``: ``pid``, ``host``, ``heartbeat`` (rewritten
every :data:`HEARTBEAT_SECONDS` by a timer thread and after every chunk), ``progress`` and ``status``, which is
``running`` while the run lives and ``complete``, ``failed`` or ``interrupted`` once it ends. A run killed with
SIGKILL (or by the OOM killer, or a power cut) cannot write its end: :func:`run_status` tells
``running-and-alive`` from ``dead`` (on this host: the pid lives and holds the folder's lock, read from
``/proc/locks`` without touching the lock; elsewhere: a heartbeat younger than :data:`STALE_SECONDS`).

**Signals end a run in one line.** :func:`interruptible` turns SIGINT and SIGTERM into :class:`RunInterrupted`
(a ``SystemExit`` with status 130 / 143) in the main thread; ``execute`` marks the manifest ``interrupted``, writes
one line to stderr and lets it propagate (a library caller may catch it). :func:`worker_init` runs in every pool
worker: it dies with its parent (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux), ignores SIGINT (a terminal sends
Ctrl-C to the whole process group; the parent stops the pool) and takes SIGTERM's default action.

**Checkpoints.** Every chunk, once computed, is written to ``checkpoints/chunk-<first block>.npz``
(:class:`Checkpoints`; plain arrays, no pickle, written atomically, the hist sparse) with the spec's fingerprint
(:func:`fingerprint`: every spec field except those that change no result: ``run.resume``, ``run.workers``,
``run.report``, ``run.executor``, ``run.ray`` and the overrides' spelling). ``resume=true`` on the folder of a
run that did not complete refuses a folder whose ``spec.json`` holds another spec (:class:`ResumeMismatch`, one
line, exit status 2), reuses the checkpoints whose fingerprint and blocks match the new chunk plan, runs only the
missing chunks and merges all in chunk order: the files are byte-identical to an uninterrupted run's. The checkpoints are removed once the run
completed (report included). ``resume=true`` on an empty folder simply runs.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.chunk import ChunkResult
from sim.io import atomic_write, write_json

if TYPE_CHECKING:
    from sim.spec import RunSpec

STATE_DIR = ".sim"                 #: our state in the run folder: the lock and a copy of the run's Hydra files
LOCK_FILE = f"{STATE_DIR}/lock"
CHECKPOINT_DIR = "checkpoints"
HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 30.0
#: Files a run writes (the README's "Outputs"); a new run into the folder removes those an earlier run left.
OUTPUT_FILES = ("manifest.json", "spec.json", "outcomes.parquet", "parameters.parquet", "trajectories.parquet",
                "trajectory_quantiles.parquet", "events.parquet", "summary.json", "report.html")
HYDRA_FILES = ("config.yaml", "hydra.yaml", "overrides.yaml")
#: Run settings that change no result: a resume may differ in them.
NEUTRAL_SETTINGS = ("resume", "workers", "report", "executor", "ray")
FINAL = ("complete", "failed", "interrupted")


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


# --- ends told in one line ----------------------------------------------------------------------------------
class RunEnded(SystemExit):
    """A run that could not start or was stopped: :attr:`line` for stderr, ``code`` the exit status."""

    def __init__(self, line: str, code: int):
        super().__init__(code)
        self.line = " ".join(line.splitlines())

    def __str__(self) -> str:
        return self.line


class RunFolderBusy(RunEnded):
    """Another live run holds the folder's lock."""


class ResumeMismatch(RunEnded):
    """``resume=true`` on a folder that holds a run of another spec."""


class RunInterrupted(RunEnded):
    """SIGINT or SIGTERM during a run (exit status 128 + the signal's number)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.signame = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.signame}", 128 + signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise :class:`RunInterrupted` once (later ones are ignored while the run ends).

    Only in the main thread (elsewhere signal handlers cannot be set: nothing changes); the previous handlers are
    restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        if fired:
            return
        fired.append(signum)
        raise RunInterrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    _FIRED.append(fired)
    try:
        yield
    finally:
        _FIRED.remove(fired)
        for s, h in previous.items():
            signal.signal(s, h)


#: The signals caught by the :func:`interruptible` blocks now open (innermost last).
_FIRED: list[list[int]] = []


def check_interrupted() -> None:
    """Raise :class:`RunInterrupted` again if a signal was caught but its exception did not end the run.

    A handler's exception that surfaces where Python cannot propagate it (a ``__del__``, a weakref or garbage
    collector callback) is printed as "Exception ignored" and lost; later signals are ignored by design, so without
    this check the run would go on to the end. The run calls it after every chunk.
    """
    if _FIRED and _FIRED[-1]:
        raise RunInterrupted(_FIRED[-1][0])


# --- workers ------------------------------------------------------------------------------------------------
_HELD_LOCKS: set[int] = set()      # descriptors of the folder locks this process holds (closed in workers)
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def worker_init(parent: int) -> None:
    """Initializer of every pool worker (forked from the run's process ``parent``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()
    if os.getppid() != parent:              # the parent died before prctl took effect
        os._exit(1)
    for fd in list(_HELD_LOCKS):            # the folder is held by the parent alone
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


# --- the folder ---------------------------------------------------------------------------------------------
class FolderLock:
    """``with FolderLock(run_dir):`` holds the folder's exclusive lock, or raises :class:`RunFolderBusy`."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise RunFolderBusy(f"error: hydra.run.dir={self.run_dir}: the folder is in use by another run"
                                f"{' (' + holder + ')' if holder else ''}; wait for it to end or choose another "
                                "hydra.run.dir", 1) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {now()}\n".encode(), 0)
        self.fd = fd
        _HELD_LOCKS.add(fd)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            _HELD_LOCKS.discard(self.fd)
            os.close(self.fd)                # releases the lock; the file stays (unlinking would race)
            self.fd = None


def clear_outputs(run_dir: Path, *, keep_checkpoints: bool) -> None:
    """Remove what an earlier run left in the folder: the contract's files, our temporary files, the checkpoints
    (unless ``keep_checkpoints``). Hydra's own files and anything else are left alone."""
    for name in OUTPUT_FILES:
        (run_dir / name).unlink(missing_ok=True)
        for tmp in run_dir.glob(f".{name}.*.tmp"):
            tmp.unlink(missing_ok=True)
    if not keep_checkpoints:
        shutil.rmtree(run_dir / CHECKPOINT_DIR, ignore_errors=True)
    else:
        for tmp in (run_dir / CHECKPOINT_DIR).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)


def _hydra_state(run_dir: Path) -> dict[str, str] | None:
    """The texts Hydra wrote into ``.hydra/`` for the job this process runs in ``run_dir`` (else None)."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf, open_dict, read_write

        if not HydraConfig.initialized():
            return None
        state: Any = HydraConfig.instance().cfg     # {hydra: ...}, whose parent is the job's whole config
        hc = state.hydra
        if hc.output_subdir is None or Path(hc.runtime.output_dir).resolve() != run_dir.resolve():
            return None
        task = copy.deepcopy(hc._get_parent())      # as Hydra's run_job: the config without its hydra node
        with read_write(task), open_dict(task):
            del task["hydra"]
        return {"config.yaml": OmegaConf.to_yaml(task), "hydra.yaml": OmegaConf.to_yaml(state),
                "overrides.yaml": OmegaConf.to_yaml(hc.overrides.task)}
    except Exception:  # noqa: BLE001 - Hydra's internals changed: leave .hydra/ as Hydra wrote it
        return None


def _put_texts(folder: Path, texts: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            _write_text(path, text)


def _write_text(path: Path, text: str) -> None:
    def write(p: Path) -> None:
        p.write_text(text, encoding="utf-8")
    atomic_write(path, write)


def own_hydra_files(run_dir: Path) -> None:
    """Write ``.hydra/`` (and its copy in ``.sim/hydra/``) from this process's Hydra job, if it runs this folder:
    a command that lost the race for the folder may have overwritten it. Call with the lock held."""
    texts = _hydra_state(run_dir)
    if texts is None:
        return
    sub = Path(run_dir) / ".hydra"
    _put_texts(sub, texts)
    _put_texts(Path(run_dir) / STATE_DIR / "hydra", texts)


def restore_hydra_files(run_dir: Path) -> None:
    """Put back the folder's own run's ``.hydra/`` from ``.sim/hydra/`` (after a refused resume)."""
    copy = Path(run_dir) / STATE_DIR / "hydra"
    texts = {n: (copy / n).read_text(encoding="utf-8") for n in HYDRA_FILES if (copy / n).is_file()}
    if texts:
        _put_texts(Path(run_dir) / ".hydra", texts)


# --- what identifies a run's results ------------------------------------------------------------------------
def identity(document: dict[str, Any]) -> dict[str, Any]:
    """A spec's ``model_dump(mode="json")`` without what changes no result (the overrides, neutral settings)."""
    doc = {k: v for k, v in document.items() if k != "overrides"}
    doc["run"] = {k: v for k, v in (doc.get("run") or {}).items() if k not in NEUTRAL_SETTINGS}
    return doc


def fingerprint(spec: RunSpec) -> str:
    return hashlib.sha256(json.dumps(identity(spec.model_dump(mode="json")), sort_keys=True).encode()).hexdigest()


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first dotted path at which two plain documents differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}{k}", a.get(k, "(absent)"), b.get(k, "(absent)")
            d = first_difference(a[k], b[k], f"{path}{k}.")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for n, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}{n}.")
            if d:
                return d
        return None
    return None if a == b else (path.rstrip(".") or "spec", a, b)


def recorded_spec(spec: RunSpec) -> RunSpec:
    """The spec as the folder records it: ``resume`` is how the run was started, not what it computed."""
    run = spec.run.model_copy(update={"resume": False}) if getattr(spec.run, "resume", False) else spec.run
    overrides = [o for o in spec.overrides if o.lstrip("+~").split("=", 1)[0] != "resume"]
    return spec.model_copy(update={"run": run, "overrides": overrides})


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def prepare_folder(run_dir: Path, spec: RunSpec) -> str | None:
    """With the lock held: refuse a resume onto another spec, clear the earlier run's files. Returns the earlier
    run's :func:`run_status` (None if the folder held none)."""
    resume = bool(getattr(spec.run, "resume", False))
    old = _read_json(run_dir / "spec.json")
    if resume and isinstance(old, dict) and isinstance(old.get("spec"), dict):
        diff = first_difference(identity(old["spec"]), identity(spec.model_dump(mode="json")))
        if diff:
            restore_hydra_files(run_dir)
            where, theirs, ours = diff
            raise ResumeMismatch(
                f"error: resume=true: {run_dir} holds a run of another spec ({where}: {_short(theirs)} in the "
                f"folder, {_short(ours)} in this command); rerun without resume=true to start afresh, or choose "
                "another hydra.run.dir", 2)
    previous = run_status(run_dir) if (run_dir / "manifest.json").exists() else None
    clear_outputs(run_dir, keep_checkpoints=resume)
    own_hydra_files(run_dir)
    return previous


# --- the manifest -------------------------------------------------------------------------------------------
class Manifest:
    """``manifest.json``, written atomically by the run's thread and by a heartbeat thread (under one lock)."""

    def __init__(self, path: Path, data: dict[str, Any]):
        self.path = Path(path)
        self.data = {**data, "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": now(),
                     "heartbeat_seconds": HEARTBEAT_SECONDS}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def set(self, **changes: Any) -> None:
        """Set top-level keys without writing (the next write or heartbeat writes them)."""
        with self._lock:
            self.data.update(changes)

    def update(self, **changes: Any) -> None:
        """Set top-level keys (replace values, never mutate them in place) and write the manifest."""
        with self._lock:
            self.data.update(changes)
            self._write()

    def _write(self) -> None:
        self.data["heartbeat"] = now()
        write_json(self.path, self.data)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                if self._stop.is_set():
                    return
                with contextlib.suppress(OSError):       # a full disk: the run's own writes will tell
                    self._write()

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._beat, name="manifest-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _lock_holders(path: Path) -> set[int] | None:
    """Pids holding a flock on ``path`` per ``/proc/locks`` (None where it cannot be read)."""
    try:
        st = os.stat(path)
        text = Path("/proc/locks").read_text()
    except OSError:
        return set() if Path("/proc/locks").exists() else None
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 6 or parts[1] == "->" or parts[1] != "FLOCK":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == want:
                pids.add(int(parts[4]))
        except ValueError:
            continue
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_status(run_dir: Path | str) -> str:
    """How the run in ``run_dir`` stands: ``complete`` / ``failed`` / ``interrupted`` (it ended and said so),
    ``running-and-alive`` (its process is still at it), ``dead`` (its manifest says running but the process is gone:
    killed, or its heartbeat is older than :data:`STALE_SECONDS` on another host) or ``missing`` (no readable
    manifest)."""
    run_dir = Path(run_dir)
    m = _read_json(run_dir / "manifest.json")
    if not isinstance(m, dict):
        return "missing"
    status = m.get("status")
    if status in FINAL:
        return str(status)
    pid, host = m.get("pid"), m.get("host")
    if isinstance(pid, int) and host == socket.gethostname():
        if not _alive(pid):
            return "dead"
        holders = _lock_holders(run_dir / LOCK_FILE)
        if holders is not None:
            return "running-and-alive" if pid in holders else "dead"
    try:
        beat = datetime.fromisoformat(str(m.get("heartbeat")))
    except ValueError:
        return "dead"
    age = (datetime.now(timezone.utc) - beat).total_seconds()
    return "running-and-alive" if age < STALE_SECONDS else "dead"


# --- checkpoints --------------------------------------------------------------------------------------------
_EVENT_INTS = ("replica", "step", "rung_before", "rung_after")


def chunk_arrays(res: ChunkResult) -> dict[str, np.ndarray]:
    """A chunk result as named plain arrays (no pickled objects); the histogram sparse (most bins are empty)."""
    out: dict[str, np.ndarray] = {
        "replica": res.replica, "sums": res.sums, "counts": res.counts, "traj_replica": res.traj_replica,
        "traj_outcome": res.traj_outcome, "traj_rung": res.traj_rung, "traj_deal": res.traj_deal,
        "outcome_names": np.array(list(res.outcomes), dtype=str),
        "parameter_paths": np.array(list(res.parameter_paths), dtype=str),
        "event_columns": np.array(list(res.events), dtype=str),
    }
    for n, col in enumerate(res.outcomes.values()):
        out[f"outcome_{n}"] = col
    if res.hist is not None:
        flat = res.hist.ravel()
        idx = np.flatnonzero(flat)
        out["hist_shape"] = np.array(res.hist.shape, np.int64)
        out["hist_index"] = idx.astype(np.int64)
        out["hist_count"] = flat[idx]
    if res.parameters is not None:
        out["parameters"] = res.parameters
    for n, (name, values) in enumerate(res.events.items()):
        out[f"event_{n}"] = np.array(values, dtype=np.int64 if name in _EVENT_INTS else str)
    return out


def chunk_from_arrays(z: Any) -> ChunkResult:
    """The inverse of :func:`chunk_arrays` (``z``: a mapping of arrays, e.g. ``np.load``'s)."""
    hist = None
    if "hist_shape" in z:
        shape = tuple(int(s) for s in z["hist_shape"])
        flat = np.zeros(int(np.prod(shape)), np.int64)
        flat[z["hist_index"]] = z["hist_count"]
        hist = flat.reshape(shape)
    names = [str(s) for s in z["outcome_names"]]
    events = {str(c): z[f"event_{n}"].tolist() for n, c in enumerate(z["event_columns"])}
    return ChunkResult(
        replica=z["replica"], outcomes={name: z[f"outcome_{n}"] for n, name in enumerate(names)}, hist=hist,
        sums=z["sums"], counts=z["counts"], traj_replica=z["traj_replica"], traj_outcome=z["traj_outcome"],
        traj_rung=z["traj_rung"], traj_deal=z["traj_deal"], events=events,
        parameters=z["parameters"] if "parameters" in z else None,
        parameter_paths=tuple(str(s) for s in z["parameter_paths"]))


assert {f.name for f in fields(ChunkResult)} == {
    "replica", "outcomes", "hist", "sums", "counts", "traj_replica", "traj_outcome", "traj_rung", "traj_deal",
    "events", "parameters", "parameter_paths"}, "a new ChunkResult field: add it to chunk_arrays/chunk_from_arrays"


class Checkpoints:
    """The completed chunks of a run, one ``checkpoints/chunk-<first block>.npz`` each (see the module doc)."""

    def __init__(self, run_dir: Path, spec: RunSpec):
        self.dir = Path(run_dir) / CHECKPOINT_DIR
        self.key = fingerprint(spec)

    def path(self, blocks: list[int]) -> Path:
        return self.dir / f"chunk-{blocks[0]:07d}.npz"

    def save(self, blocks: list[int], res: ChunkResult) -> None:
        self.dir.mkdir(exist_ok=True)
        arrays = {"key": np.array(self.key), "blocks": np.array(blocks, np.int64), **chunk_arrays(res)}

        def write(p: Path) -> None:
            with open(p, "wb") as f:
                np.savez(f, **arrays)                       # type: ignore[arg-type]
        atomic_write(self.path(blocks), write)

    def _matches(self, blocks: list[int], z: Any) -> bool:
        return str(z["key"]) == self.key and z["blocks"].tolist() == list(blocks)

    def available(self, chunks: list[list[int]]) -> set[int]:
        """First blocks of the chunks of this plan whose checkpoint is present and of this spec; checkpoints that
        are not (another chunk size or spec, unreadable) are removed."""
        wanted = {self.path(b).name: b for b in chunks}
        found: set[int] = set()
        for p in sorted(self.dir.glob("chunk-*.npz")) if self.dir.is_dir() else []:
            blocks = wanted.get(p.name)
            try:
                with np.load(p, allow_pickle=False) as z:
                    ok = blocks is not None and self._matches(blocks, z)
            except Exception:  # noqa: BLE001 - a damaged file: run that chunk again
                ok = False
            if ok:
                found.add(blocks[0])        # type: ignore[index]
            else:
                p.unlink(missing_ok=True)
        return found

    def load(self, blocks: list[int]) -> ChunkResult | None:
        """The checkpointed result of this chunk, or None if it cannot be read."""
        try:
            with np.load(self.path(blocks), allow_pickle=False) as z:
                if not self._matches(blocks, z):
                    return None
                return chunk_from_arrays({k: z[k] for k in z.files})
        except Exception:  # noqa: BLE001 - damaged since available() looked: computed again by the caller
            return None

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
