"""A box for package code: a PEP 517 build backend's hooks run with no network, no view of the user's files,
an allow-listed environment and limits on time, memory and output.

What the code inside sees (both mechanisms build the same view):

- system directories read-only (``/usr``, ``/bin``, ``/lib*``, ``/sbin``, ``/etc``, ``/nix``) and the
  interpreter's own prefix read-only; ``/etc/pip.conf`` and ``/etc/netrc`` masked;
- one writable directory, the scratch directory nixgen made (the unpacked sdist, the build requirements, a
  temporary HOME); an empty ``/tmp``; a minimal ``/dev``; its own ``/proc`` (its own process namespace);
- no other file: the home directories, ``/root``, the project being resolved and nixgen's cache do not exist;
- a network namespace with only a loopback device of its own (nothing outside is reachable);
- ``PATH``, ``LANG``, ``LC_*``, ``SOURCE_DATE_EPOCH`` and a temporary ``HOME``, nothing else;
- ``RLIMIT_AS`` (4 GiB), ``RLIMIT_FSIZE``, no core files, a wall-clock timeout, output read only up to a cap.

Mechanisms: bubblewrap (``bwrap``) where it is installed, else util-linux ``unshare`` (user, network, mount
and PID namespaces) with a small init script of ours that builds the same view with ``mount(2)`` and
``pivot_root(2)`` and then enters a nested user namespace so that the code cannot undo those mounts.
Where neither works, :func:`probe` says why and the caller refuses unless the user allowed unboxed runs (then
only the environment allow-list and the limits apply).

The init script is ours rather than a library's because the PEP 517 runner of pyproject_hooks keeps its
control files in the host's temporary directory, which the box hides.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

Isolation = Literal["bwrap", "unshare", "unboxed"]

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/nix")
MASKED_FILES = ("/etc/pip.conf", "/etc/netrc", "/etc/xdg/pip/pip.conf")
ENV_ALLOWED = ("PATH", "LANG", "SOURCE_DATE_EPOCH")  # and LC_*; HOME is always the box's own
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True)
class Limits:
    """What a boxed run may take: wall time (s), address space and file size (bytes), output kept (bytes)."""

    timeout: float = 300.0
    memory: int = 4 << 30
    file_size: int = 1 << 30
    output: int = 64 << 10

    def describe(self) -> str:
        return f"{self.timeout:g} s, {self.memory / (1 << 30):g} GiB"


@dataclass(frozen=True)
class BoxRun:
    """How a boxed command ended, with the tail of what it wrote."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool


def box_env(home: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a boxed process gets: the allow-list only, with its own HOME and TMPDIR."""
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if k in ENV_ALLOWED or k.startswith("LC_")}
    env.setdefault("PATH", DEFAULT_PATH)
    env["HOME"] = str(home)
    env["TMPDIR"] = "/tmp"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# --- probing -------------------------------------------------------------------------------------------
_BWRAP_PROBE = ("--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--", "true")
_UNSHARE_PROBE = ("--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child", "--",
                  "true")


def _works(argv: Sequence[str]) -> str | None:
    """None when the command runs and exits 0; else why not, in a few words."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=20, env=box_env(Path("/")))
    except (OSError, subprocess.TimeoutExpired) as err:
        return str(err)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return None


BOX_CHOICES = ("auto", "bwrap", "unshare", "none")


def probe() -> tuple[Isolation | None, str]:
    """The isolation to use and, when there is none, why. ``$NIXGEN_BOX`` may name the mechanism (``bwrap``,
    ``unshare``) or ``none`` (behave as a machine without namespaces); the default ``auto`` takes bwrap where
    it works, else unshare."""
    choice = os.environ.get("NIXGEN_BOX", "auto")
    if choice not in BOX_CHOICES:
        from nixgen.errors import UsageError

        raise UsageError(f"NIXGEN_BOX={choice!r} is not one of {', '.join(BOX_CHOICES)}")
    return _probe(choice)


@cache
def _probe(choice: str) -> tuple[Isolation | None, str]:
    if choice == "none":
        return None, "NIXGEN_BOX=none"
    problems = []
    bwrap = shutil.which("bwrap")
    if choice in ("auto", "bwrap"):
        if bwrap is not None:
            why = _works([bwrap, *_BWRAP_PROBE])
            if why is None:
                return "bwrap", ""
            problems.append(f"bwrap: {why}")
        else:
            problems.append("bwrap is not installed")
    if choice in ("auto", "unshare"):
        unshare = shutil.which("unshare")
        if unshare is not None:
            why = _works([unshare, *_UNSHARE_PROBE])
            if why is None:
                return "unshare", ""
            problems.append(f"unshare: {why}")
        else:
            problems.append("unshare is not installed")
    return None, "; ".join(problems)


# --- the view inside ------------------------------------------------------------------------------------
Op = tuple[str, str, str]  # (kind, source, destination): ro, rw, symlink, tmpfs, mask


def view(work: Path, read_only: Sequence[Path]) -> list[Op]:
    """The mounts that make the box's file system: see the module docstring."""
    ops: list[Op] = []
    bound: list[str] = []
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            ops.append(("symlink", os.readlink(d), d))
        elif os.path.isdir(d):
            ops.append(("ro", d, d))
            bound.append(d)
    for p in read_only:
        real = os.path.realpath(p)
        if not any(real == b or real.startswith(b + "/") for b in bound):
            ops.append(("ro", real, real))
            bound.append(real)
    ops += [("mask", "/dev/null", f) for f in MASKED_FILES if os.path.isfile(f)]
    ops.append(("tmpfs", "", "/tmp"))
    ops.append(("rw", str(work), str(work)))
    return ops


def _bwrap_argv(bwrap: str, ops: Sequence[Op]) -> list[str]:
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--dev", "/dev", "--proc", "/proc"]
    flags = {"ro": "--ro-bind", "rw": "--bind", "mask": "--ro-bind"}
    for kind, src, dst in ops:
        if kind == "symlink":
            argv += ["--symlink", src, dst]
        elif kind == "tmpfs":
            argv += ["--tmpfs", dst]
        else:
            argv += [flags[kind], src, dst]
    return [*argv, "--"]


# Runs first inside the box, with the hook's interpreter (``-S -I``): builds the view (unshare only), sets
# the resource limits, then replaces itself with the command. Linux mount(2)/pivot_root(2) through ctypes.
INIT = r'''
import ctypes, json, os, platform, resource, sys

plan = json.load(open(sys.argv[1]))
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1, 2, 4, 8, 32, 4096, 16384, 1 << 18)
ST_FLAGS = {2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: 1024, 2048: 2048, 4096: 1 << 21}
libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, dst, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    check(libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {dst}")


def bind(src, dst, read_only):
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst):
            open(dst, "a").close()
    mount(src, dst, None, MS_BIND | MS_REC)
    if read_only:
        kept = os.statvfs(dst).f_flag
        extra = sum(v for k, v in ST_FLAGS.items() if kept & k)
        mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | extra)


if plan["ops"] is not None:
    root = plan["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    for kind, src, dst in plan["ops"]:
        target = root + dst
        if kind == "symlink":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.symlink(src, target)
        elif kind == "tmpfs":
            os.makedirs(target, exist_ok=True)
            mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
        else:
            bind(src, target, kind != "rw")
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755")
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        if os.path.exists("/dev/" + node):
            bind("/dev/" + node, f"{dev}/{node}", False)
    os.makedirs(dev + "/shm")
    mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):
        os.symlink(link, f"{dev}/{name}")
    os.makedirs(root + "/proc")
    try:  # our own PID namespace's /proc; never the host's (it shows other processes' environments)
        mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError:
        pass
    os.chdir(root)
    check(libc.syscall({"x86_64": 155, "aarch64": 41}[platform.machine()], b".", b"."), "pivot_root")
    check(libc.umount2(b".", 2), "umount the old root")  # MNT_DETACH
    os.chdir("/")
    # A nested user namespace without capabilities over this mount namespace: the code cannot unmount
    # what hides the host's files.
    check(libc.unshare(0x10000000), "unshare(CLONE_NEWUSER)")
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
limits = plan["limits"]
resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
os.chdir(plan["cwd"])
os.execv(plan["argv"][0], plan["argv"])
'''


def _tail(path: Path, limit: int) -> str:
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(0, size - limit))
        data = handle.read(limit)
    text = data.decode("utf-8", "replace")
    return (f"[{size - limit} bytes cut]\n" + text) if size > limit else text


def run(argv: Sequence[str], *, python: str, work: Path, cwd: Path, read_only: Sequence[Path],
        isolation: Isolation, limits: Limits, environ: Mapping[str, str] | None = None) -> BoxRun:
    """Run ``argv`` (its first item an absolute path inside the box's view) in the box.

    ``python`` runs the init script; ``work`` is the one writable directory (it holds HOME, the logs and
    the plan), ``cwd`` a directory inside it. ``read_only`` adds host paths the command needs (its
    interpreter's prefix)."""
    control = work / ".box"
    control.mkdir(exist_ok=True)
    home = work / "home"
    home.mkdir(exist_ok=True)
    ops = view(work, read_only)
    plan = {"argv": list(argv), "cwd": str(cwd), "root": str(control / "root"),
            "ops": ops if isolation == "unshare" else None,
            "limits": {"memory": limits.memory, "file_size": limits.file_size}}
    if isolation == "unshare":
        (control / "root").mkdir(exist_ok=True)
    (control / "init.py").write_text(INIT)
    (control / "plan.json").write_text(json.dumps(plan))
    init = [python, "-S", "-I", str(control / "init.py"), str(control / "plan.json")]
    if isolation == "bwrap":
        command = [*_bwrap_argv(shutil.which("bwrap") or "bwrap", ops), *init]
    elif isolation == "unshare":
        command = [shutil.which("unshare") or "unshare", *_UNSHARE_PROBE[:-1], *init]
    else:
        command = init
    out_path, err_path = control / "stdout", control / "stderr"
    timed_out = False
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=str(cwd),
                                env=box_env(home, environ), start_new_session=True)
        try:
            proc.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            if proc.returncode is None:
                # The PID namespace (bwrap, unshare --kill-child) takes the rest with it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.kill()
                proc.wait()
    return BoxRun(proc.returncode, _tail(out_path, limits.output), _tail(err_path, limits.output), timed_out)


def describe(isolation: Isolation, limits: Limits) -> str:
    """The isolation in a few words, for the line that says package code runs."""
    if isolation == "unboxed":
        return f"NOT boxed: environment allow-list only, {limits.describe()}"
    return f"{isolation}: no network, no home, {limits.describe()}"


def inside(base: Path, relative: str) -> Path:
    """A path the boxed code named under ``base``, refusing symlinks and paths that leave ``base`` (the code
    could otherwise make nixgen read a host file for it)."""
    rel = Path(relative)
    if not rel.parts or rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"{relative!r} is not a plain relative path")
    path = base
    for part in rel.parts:
        path = path / part
        if path.is_symlink():
            raise ValueError(f"{relative!r} is a symbolic link")
    return path


def read_inside(base: Path, relative: str, limit: int = 16 << 20) -> bytes:
    """The bytes of a file the boxed code wrote under ``base`` (see :func:`inside`), at most ``limit``."""
    fd = os.open(inside(base, relative), os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{relative!r} is larger than {limit} bytes")
    return data
