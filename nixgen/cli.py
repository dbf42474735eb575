"""The ``nixgen`` command line: parses options, runs the pipeline, maps errors to exit codes."""

from __future__ import annotations

import gc
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from nixgen import __version__
from nixgen.core.kinds import FORCED_PROVIDERS, OUTPUT_FORMATS, PREFERS, STRATEGIES, ForcedProvider, OutputFormat
from nixgen.errors import NixgenError, UsageError, exit_codes_help

F = TypeVar("F", bound=Callable[..., Any])


class DefaultGroup(click.Group):
    """A group whose first argument, when it is a file (an existing path, or a word with ``/`` or ``.``), is
    the input of ``generate``; a command name runs the command; anything else is click's "No such command",
    with its "Did you mean" (exit 2)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            first = args[0]
            if "/" in first or "." in first or Path(first).exists():
                args = ["generate", *args]
        return super().parse_args(ctx, args)


def _exclude_newer(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (2026-03-29) or an RFC 3339 time "
                                 "(2026-03-29T12:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _providers(_ctx: click.Context, _param: click.Parameter,
               values: tuple[str, ...]) -> dict[str, ForcedProvider]:
    from packaging.utils import canonicalize_name  # packaging loads for commands that resolve, not for --help

    out: dict[str, ForcedProvider] = {}
    for value in values:
        name, sep, provider = value.partition("=")
        forced = next((p for p in FORCED_PROVIDERS if p == provider), None)
        if not sep or not name or forced is None:
            raise click.BadParameter(f"{value!r}: expected NAME={'|'.join(FORCED_PROVIDERS)}")
        out[canonicalize_name(name)] = forced
    return out


def resolve_options(func: F) -> F:
    """The options every command that resolves shares."""
    decorators = [
        click.option("--index-url", "-i", "index_url", metavar="URL",
                     help="Package index (PEP 691). Default: pip's configuration, else the public index."),
        click.option("--extra-index-url", multiple=True, metavar="URL",
                     help="More indexes to search. The first index (in order) that has a project serves all "
                          "of its files; later ones cannot add to it."),
        click.option("--offline", is_flag=True, envvar="NIXGEN_OFFLINE",
                     help="Use only the local cache; fail on anything missing."),
        click.option("--exclude-newer", callback=_exclude_newer, metavar="DATE",
                     envvar="NIXGEN_EXCLUDE_NEWER",
                     help="Ignore files uploaded after DATE (a date means its midnight UTC). nixpkgs' versions are "
                          "kept (the binary cache does not move), and their dependencies read from their own files "
                          "whatever their upload date."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Cache directory (default: the user cache dir; env NIXGEN_CACHE_DIR)."),
        click.option("--prefer", type=click.Choice(PREFERS), default="nixpkgs", show_default=True,
                     envvar="NIXGEN_PREFER",
                     help="nixpkgs: keep the snapshot's version when it fits (a binary-cache hit); "
                          "latest: newest release."),
        click.option("--provider", "providers", multiple=True, callback=_providers, metavar="NAME=PROVIDER",
                     help="Force a provider for one package: nixpkgs, wheel or sdist."),
        click.option("--python", "python", metavar="X.Y|auto",
                     envvar="NIXGEN_PYTHON",
                     help="nixpkgs interpreter (default: python3); auto: the first that satisfies the pins."),
        click.option("--system", "systems", multiple=True, metavar="SYSTEM",
                     envvar="NIXGEN_SYSTEM",
                     help="Nix system to resolve for; repeat for several (default: all four). Each resolves "
                          "on its own; the flake has packages and shells for each that resolved."),
        click.option("--snapshot", "snapshot_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="A nixpkgs snapshot directory (default: the embedded one)."),
        click.option("--overrides", "override_files", multiple=True,
                     type=click.Path(dir_okay=False, path_type=Path),
                     envvar="NIXGEN_OVERRIDES",
                     help="Your own override rules (TOML), applied before nixgen's curated ones."),
        click.option("--strategy", type=click.Choice(STRATEGIES), default="min-build",
                     show_default=True,
                     envvar="NIXGEN_STRATEGY",
                     help="min-build: least estimated build time (wheels for nixpkgs packages that would "
                          "rebuild); latest: newest versions, and say what they cost."),
        click.option("--no-build-metadata", "no_build_metadata", is_flag=True,
                     help="Never run a package's build backend to learn its dependencies (PEP 517 hook)."),
        click.option("--allow-unboxed-builds", "allow_unboxed_builds", is_flag=True,
                     help="Where no box is possible (no user namespaces), run build backends anyway, with only "
                          "an environment allow-list."),
        click.option("--tests", is_flag=True, help="Run the tests of packages built from the index (default: off)."),
        click.option("--extra", "extras", multiple=True, metavar="NAME",
                     help="pyproject.toml: also install this optional-dependencies extra."),
        click.option("--group", "groups", multiple=True, metavar="NAME",
                     help="pyproject.toml: also install this PEP 735 dependency group."),
        click.option("--all-extras", "all_extras", is_flag=True, help="uv.lock: install every extra."),
        click.option("--all-groups", "all_groups", is_flag=True, help="uv.lock: install every dependency group."),
        click.option("--no-dev", "no_dev", is_flag=True,
                     help="uv.lock: leave out the dev group (installed by default, as uv does)."),
        click.option("--with", "with_groups", multiple=True, metavar="GROUP",
                     help="Poetry: also install this optional group (like --group)."),
        click.option("--without", "without_groups", multiple=True, metavar="GROUP",
                     help="Poetry: leave out this group."),
        click.option("--only", "only_groups", multiple=True, metavar="GROUP",
                     help="Poetry: install only these groups (`main` is the project itself)."),
        click.option("--no-relax", "no_relax", is_flag=True,
                     help="Refuse the upstream pins nixpkgs relaxes between its own packages and resolve strictly "
                          "(what that costs — the rebuilds it causes — shows in the summary)."),
        click.option("--full-search", "full_search", is_flag=True,
                     help="Resolve each system with a full resolvelib search, taking no shortcut (no resolution "
                          "found without a search, none carried over from another system): slower; where several "
                          "resolutions are valid, the one a search picks. Recorded in the lock."),
        click.option("--image-cmd", "image_cmd", metavar="COMMAND",
                     help="The command of the container image (packages.<linux-system>.image), as a shell would "
                          "split it (default: python3). Recorded in the lock."),
        click.option("--quiet", "-q", is_flag=True, help="No progress and no summary table on stderr."),
        click.option("--verbose", "-v", "verbose", count=True,
                     help="-v: every index request (credentials masked) and every package in the summary; -vv: "
                          "also each decision and why."),
        click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
                     help="Colour on stderr: auto (a terminal, unless NO_COLOR is set), always or never."),
        click.option("--allow-infeasible", "allow_infeasible", is_flag=True,
                     help="Write a plan even when the evidence says one of its builds from source cannot work "
                          "(otherwise exit 11 with the evidence and what would work)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=exit_codes_help())
@click.version_option(__version__, prog_name="nixgen")
def cli() -> None:
    """Turn Python requirements into a reproducible Nix flake.

    \b
        nixgen requirements.txt > flake.nix
        nixgen lock requirements.txt -o pylock.toml
    """


@contextmanager
def _progress(quiet: bool, verbose: int = 0) -> Iterator[Callable[[str, int], None] | None]:
    """A live line on stderr counting index requests (only on a terminal); with ``verbose``, a line per
    request instead (credentials masked)."""
    if verbose:
        from nixgen.pypi.urls import redact_url

        def log(url: str, nbytes: int) -> None:
            click.echo(f"nixgen: GET {redact_url(url)} ({nbytes} bytes)", err=True)

        yield log
        return
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    counts = {"requests": 0, "bytes": 0}
    with console.status("resolving…") as status:

        def on_fetch(url: str, nbytes: int) -> None:
            counts["requests"] += 1
            counts["bytes"] += nbytes
            name = url.rstrip("/").rsplit("/", 1)[-1]
            status.update(f"resolving… {counts['requests']} index requests, "
                          f"{counts['bytes'] / 1e6:.1f} MB — {name}")

        yield on_fetch


def _cache_dir(kwargs: dict[str, Any]) -> Path:
    """The run's cache directory: --cache-dir, else ``$NIXGEN_CACHE_DIR`` or the user cache directory."""
    from nixgen.pypi.cache import default_cache_dir

    return Path(kwargs["cache_dir"] or default_cache_dir())


def _options(kwargs: dict[str, Any]) -> Any:
    from packaging.utils import canonicalize_name

    from nixgen.pipeline import Options

    urls = ((kwargs["index_url"],) if kwargs["index_url"] else ()) + tuple(kwargs["extra_index_url"])
    if kwargs["extra_index_url"] and not kwargs["index_url"]:
        from nixgen.pypi import default_index_url

        urls = (default_index_url(), *urls)
    return Options(index_urls=urls, offline=kwargs["offline"], exclude_newer=kwargs["exclude_newer"],
                   cache_dir=kwargs["cache_dir"], prefer=kwargs["prefer"], providers=kwargs["providers"],
                   python=kwargs["python"], systems=tuple(kwargs["systems"]) or Options.systems,
                   snapshot_dir=kwargs["snapshot_dir"],
                   override_files=tuple(kwargs["override_files"]), tests=kwargs["tests"],
                   strategy=kwargs["strategy"], build_metadata=not kwargs["no_build_metadata"],
                   extras=tuple(kwargs.get("extras", ())), groups=tuple(kwargs.get("groups", ())),
                   all_extras=kwargs.get("all_extras", False), all_groups=kwargs.get("all_groups", False),
                   no_dev=kwargs.get("no_dev", False), with_groups=tuple(kwargs.get("with_groups", ())),
                   without_groups=tuple(kwargs.get("without_groups", ())),
                   only_groups=tuple(kwargs.get("only_groups", ())),
                   image_cmd=tuple(shlex.split(kwargs["image_cmd"])) if kwargs.get("image_cmd") else (),
                   allow_unboxed_builds=kwargs.get("allow_unboxed_builds", False),
                   no_relax=kwargs.get("no_relax", False), full_search=kwargs.get("full_search", False),
                   upgrade=kwargs.get("upgrade", False), allow_infeasible=kwargs.get("allow_infeasible", False),
                   upgrade_packages=frozenset(canonicalize_name(n) for n in kwargs.get("upgrade_packages", ())))


def _note(text: str) -> None:
    click.echo(f"note: {text}", err=True)


def _read_lock(path: Path) -> Any:
    """A nixgen pylock.toml, with a note for each recorded override file that is missing or changed."""
    from nixgen.lock.pylock import read_pylock
    from nixgen.session import override_changes

    lock = read_pylock(path)
    for f, how in override_changes(lock.overrides):
        _note(f"the overrides file {f.path} recorded in {path} is {how}; the lock's recipes are used as "
              "locked (re-lock to apply the file as it is now)")
    return lock


def _previous(output: Path | None) -> Any:
    """The lock already at ``output`` (re-locking prefers its pins), or None."""
    from nixgen.errors import InputError
    from nixgen.inputs.detect import is_pylock
    from nixgen.lock.pylock import read_pylock

    if output is None or not is_pylock(output) or not output.is_file():
        return None
    try:
        return read_pylock(output)
    except InputError as err:
        _note(f"{output} is not a lock this nixgen can read ({err.message.splitlines()[0]}); "
              "resolving without its pins")
        return None


def _relock_input(lock: Any, path: Path, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Re-locking from a lock: its recorded sources and options (the command line's --upgrade flags on top)."""
    from nixgen.inputs.detect import read_input

    options = lock.options
    if not options.sources:
        raise UsageError(f"{path} records no sources to lock again from",
                         hint="run `nixgen lock` on the requirements file instead")
    missing = [f.path for f in lock.overrides.files if not Path(f.path).is_file()]
    if missing:
        raise UsageError(f"the overrides file(s) {', '.join(missing)} recorded in {path} are missing",
                         hint="restore them, or lock again from the sources without them: "
                              f"`nixgen lock {options.sources[0]} -o {path}`")
    merged = {**kwargs, "python": options.python, "systems": options.systems, "prefer": options.prefer,
              "strategy": options.strategy, "providers": dict(options.providers), "tests": options.tests,
              "no_build_metadata": not options.build_metadata, "exclude_newer": options.exclude_newer,
              "override_files": tuple(Path(f.path) for f in lock.overrides.files), "extras": options.extras,
              "groups": options.groups, "no_relax": options.no_relax,
              "full_search": options.full_search, "all_extras": options.all_extras,
              "all_groups": options.all_groups, "no_dev": options.no_dev, "with_groups": options.with_groups,
              "without_groups": options.without_groups, "only_groups": options.only_groups,
              "image_cmd": shlex.join(options.image_cmd) if options.image_cmd else None,
              "snapshot_dir": Path(options.snapshot) if options.snapshot else kwargs["snapshot_dir"],
              "index_url": options.index_urls[0] if options.index_urls and "****" not in options.index_urls[0]
              else kwargs["index_url"]}
    return read_input(Path(options.sources[0]), options.extras, options.groups, all_extras=options.all_extras,
                      all_groups=options.all_groups, no_dev=options.no_dev, with_groups=options.with_groups,
                      without_groups=options.without_groups, only_groups=options.only_groups), merged


def _locked(path: Path, kwargs: dict[str, Any], *, relock: bool = False, previous: Any = None) -> Any:
    """The lock for FILE: read as it is (a pylock.toml), or resolved now (re-resolved, for ``relock``)."""
    from nixgen.inputs.detect import is_pylock, read_input
    from nixgen.pipeline import lock
    from nixgen.session import Session

    if is_pylock(path):
        existing = _read_lock(path)
        if not relock:
            return existing
        reqset, kwargs = _relock_input(existing, path, kwargs)
        previous = previous or existing
    else:
        kwargs = _with_project_defaults(path, kwargs)
        reqset = read_input(path, kwargs.get("extras", ()), kwargs.get("groups", ()),
                            all_extras=kwargs.get("all_extras", False), all_groups=kwargs.get("all_groups", False),
                            no_dev=kwargs.get("no_dev", False), with_groups=kwargs.get("with_groups", ()),
                            without_groups=kwargs.get("without_groups", ()),
                            only_groups=kwargs.get("only_groups", ()))
    options = _options(kwargs)
    session = Session.load(options.snapshot_dir, options.override_files)
    with _progress(kwargs["quiet"], kwargs.get("verbose", 0)) as on_fetch:
        made = lock(reqset, session, options, on_fetch, previous)
    if kwargs.get("verbose", 0) >= 2:
        _decisions(made)
    return made


_DEFAULTS = {"python": "python", "systems": "systems", "overrides": "override_files"}


def _with_project_defaults(path: Path, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``[tool.nixgen]`` of the input's pyproject.toml (or the one beside a requirements file): ``python``,
    ``systems`` and ``overrides`` (paths relative to it), for the options neither the command line nor a
    ``NIXGEN_*`` environment variable set (precedence: command line > environment > pyproject)."""
    import tomllib

    from nixgen.errors import InputError

    pyproject = path if path.name == "pyproject.toml" else path.parent / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return kwargs  # no project file, or one the input reader reports on
    table = data.get("tool", {}).get("nixgen") if isinstance(data.get("tool"), dict) else None
    if table is None:
        return kwargs
    where = f"{pyproject}: [tool.nixgen]"
    if not isinstance(table, dict):
        raise InputError(f"{where} must be a table")
    unknown = sorted(set(table) - set(_DEFAULTS))
    if unknown:
        raise InputError(f"{where} has unknown key(s) {', '.join(unknown)}", hint="known: python, systems, overrides")
    ctx = click.get_current_context(silent=True)
    out = dict(kwargs)
    for key, param in _DEFAULTS.items():
        if key not in table:
            continue
        source = ctx.get_parameter_source(param) if ctx is not None else None
        if source not in (None, click.core.ParameterSource.DEFAULT):
            continue  # given on the command line or in the environment
        value = table[key]
        if key == "python":
            if not isinstance(value, str):
                raise InputError(f"{where}.python must be a string like \"3.13\" or \"auto\"")
            out["python"] = value
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where}.{key} must be a list of strings")
        elif key == "systems":
            out["systems"] = tuple(value)
        else:
            out["override_files"] = tuple(pyproject.parent / v for v in value)
    return out


def _decisions(made: Any) -> None:
    """-vv: each package's provider and why, per system."""
    from nixgen.emit import words

    for plan in made.plans:
        for p in plan.packages:
            click.echo(f"nixgen: {plan.system}: {p.name} {p.version} from {p.provider}: {words.reason(p)}", err=True)


def _writable(output: Path | None) -> None:
    """Refuse an ``-o`` that cannot be written before any resolution starts: a directory, a path below a file,
    a place where no file can be created (read-only, /proc)."""
    if output is None or (output.exists() and not output.is_file() and not output.is_dir()):
        return  # stdout, or a device or FIFO written in place
    import tempfile

    if output.is_dir():
        raise UsageError(f"-o {output} is a directory", hint="name the file to write")
    ancestor = output.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"-o {output}: {ancestor} is not a directory", hint="choose another output path")
    try:
        if ancestor == output.parent:
            with tempfile.NamedTemporaryFile(dir=ancestor, prefix=".nixgen-probe-"):
                pass
        else:
            Path(tempfile.mkdtemp(dir=ancestor, prefix=".nixgen-probe-")).rmdir()
    except OSError as err:
        raise UsageError(f"-o {output}: cannot write in {ancestor}: {err.strerror or err}",
                         hint="choose a directory you can write to") from None


def _emit(text: str, output: Path | None, check: bool, what: str) -> None:
    """Write ``text`` (atomically) or print it; with ``check``, compare with ``output`` and write nothing."""
    if check:
        from nixgen.errors import CheckWouldChange

        if output is None:
            raise UsageError("--check needs -o FILE: the file to compare with")
        try:
            old = output.read_text(encoding="utf-8")
        except OSError:
            old = None
        if old == text:
            click.echo(f"{output} is up to date", err=True)
            return
        raise CheckWouldChange(f"{output} would change: {_difference(old, text, what)}",
                               hint="run the same command without --check to write it")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from nixgen.fsutil import write_atomic

    write_atomic(output, text)


def _difference(old: str | None, new: str, what: str) -> str:
    """A short summary of how ``new`` differs from ``old``."""
    if old is None:
        return "it does not exist yet"
    if what == "lock":
        import tomllib

        def pins(text: str) -> dict[str, str]:
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                return {}
            out = {str(p.get("name")): str(p.get("version")) for p in data.get("packages", [])}
            for p in data.get("tool", {}).get("nixgen", {}).get("nixpkgs-only", []):
                out[str(p.get("name"))] = str(p.get("version"))
            return out

        before, after = pins(old), pins(new)
        changes = [f"+{n} {after[n]}" for n in sorted(set(after) - set(before))]
        changes += [f"-{n} {before[n]}" for n in sorted(set(before) - set(after))]
        changes += [f"{n} {before[n]} → {after[n]}" for n in sorted(set(before) & set(after))
                    if before[n] != after[n]]
        if changes:
            return ", ".join(changes[:12]) + (f" (and {len(changes) - 12} more)" if len(changes) > 12 else "")
    import difflib

    diff = [d for d in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if d[:1] in "+-" and not d.startswith(("+++", "---"))]
    return f"{sum(d.startswith('+') for d in diff)} line(s) added, {sum(d.startswith('-') for d in diff)} removed"


def _summary(lock: Any, kwargs: dict[str, Any], quiet: bool = False) -> None:
    if quiet or kwargs["quiet"]:
        return
    from nixgen.emit.report import print_summary

    print_summary(lock, color=kwargs.get("color", "auto"), every=bool(kwargs.get("verbose")))


_CHECK_HELP = ("Compare with the file at -o instead of writing it: exit 0 when up to date, 8 when it would change. "
               "A flake made without a lock or --exclude-newer can change whenever the index does.")


@cli.command()
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Write the flake here (atomically) instead of stdout; with --format nix, the directory (or "
                   "default.nix path) for default.nix and shell.nix; with --format overlay, the overlay.nix path.")
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="flake", show_default=True,
              help="flake: a self-contained flake.nix; nix: default.nix and shell.nix for nix-build/nix-shell "
                   "without flakes (nixpkgs pinned by fetchTarball); overlay: one overlay.nix for your own flake "
                   "or nixpkgs import (a pylock.toml is written beside it, to make it again).")
@click.option("--check", is_flag=True, help=_CHECK_HELP)
@resolve_options
def generate(input_file: Path, output: Path | None, fmt: OutputFormat, check: bool, **kwargs: Any) -> None:
    """Write a flake.nix for FILE (requirements.txt, pyproject.toml, uv.lock, poetry.lock or pylock.toml)."""
    from nixgen.inputs.detect import is_pylock
    from nixgen.pipeline import render_files

    if fmt == "nix" and output is None:
        raise UsageError("--format nix writes two files, default.nix and shell.nix",
                         hint="give the directory for them: -o DIR (or -o DIR/default.nix)")
    out_dir = None if output is None else output.parent if output.suffix == ".nix" else output
    if not check:
        _writable(output if fmt != "nix" or output is None or output.suffix == ".nix" else output / "default.nix")
    locked = _locked(input_file, kwargs)
    files = render_files(locked, fmt, out_dir, _cache_dir(kwargs))
    if fmt == "flake":
        _emit(files["flake.nix"], output, check, "flake")
    elif fmt == "overlay":
        _emit(files["overlay.nix"], output, check, "overlay")
        if output is not None and not is_pylock(input_file) and not check:
            from nixgen.emit.header import command
            from nixgen.lock.pylock import write_pylock

            assert out_dir is not None
            _emit(write_pylock(locked, out_dir, command(locked, lock=True)), out_dir / "pylock.toml", False, "lock")
    else:
        assert out_dir is not None
        for name, text in files.items():
            _emit(text, out_dir / name, check, "nix")
    _summary(locked, kwargs, check)


@cli.command()
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the lock here (atomically) instead of stdout; name it pylock.toml. An existing "
                   "nixgen lock there is re-locked: its index pins are kept where they still fit.")
@click.option("--check", is_flag=True, help=_CHECK_HELP)
@click.option("--upgrade", "-U", is_flag=True, help="Re-locking: drop the preference for every locked pin.")
@click.option("--upgrade-package", "-P", "upgrade_packages", multiple=True, metavar="NAME",
              help="Re-locking: drop the preference for NAME's locked pin (repeatable).")
@resolve_options
def lock(input_file: Path, output: Path | None, check: bool, **kwargs: Any) -> None:
    """Resolve FILE and write the result as a PEP 751 lock (pylock.toml).

    FILE may be a pylock.toml nixgen wrote: it is locked again from the sources and options it records.
    """
    from nixgen.emit.header import command
    from nixgen.inputs.detect import is_pylock
    from nixgen.lock.pylock import write_pylock

    if not check:
        _writable(output)
    previous = _previous(output)
    locked = _locked(input_file, kwargs, relock=True, previous=previous)
    # Paths in the lock are relative to where it is written; on stdout, to the lock it was made from (or here).
    directory = output.parent if output is not None else input_file.parent if is_pylock(input_file) else Path.cwd()
    _emit(write_pylock(locked, directory, command(locked, lock=True)), output, check, "lock")
    _summary(locked, kwargs, check)


@cli.command()
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@resolve_options
def report(input_file: Path, as_json: bool, **kwargs: Any) -> None:
    """What comes from the binary cache, what is fetched or built, why, and the estimated build time."""
    from nixgen.emit.report import print_summary, report_json

    locked = _locked(input_file, {**kwargs, "quiet": kwargs["quiet"] or as_json})
    systems = tuple(kwargs["systems"])
    if as_json:
        click.echo(report_json(locked, systems), nl=False)
    else:
        print_summary(locked, stdout=True, systems=systems, color=kwargs["color"])


def _default_substituter() -> str:
    """The first of Nix's configured substituters (``nix show-config``), as Nix itself would ask."""
    import subprocess

    from nixgen.nixcmd import flake_command

    nix = flake_command()
    if nix is not None:
        try:
            proc = subprocess.run([*nix, "show-config"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            proc = None
        for line in proc.stdout.splitlines() if proc is not None else ():
            key, _, value = line.partition("=")
            if key.strip() == "substituters" and value.split():
                return value.split()[0]
    raise UsageError("no binary cache to ask: Nix is not installed or has no substituters configured",
                     hint="pass --substituter URL")


@cli.command("verify")
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--substituter", metavar="URL",
              help="A Nix binary cache (HTTP) to ask (default: the first of Nix's configured substituters, "
                   "`nix show-config`).")
@click.option("--nixpkgs", "nixpkgs_ref", metavar="FLAKEREF",
              help="Evaluate against this nixpkgs instead of the pinned one (a checkout: path:/src/nixpkgs).")
@click.option("--eval/--no-eval", "evaluate", default=True, show_default=True,
              help="Evaluate the generated flake with Nix for every package's out path; --no-eval checks only "
                   "the packages predicted cached, by the snapshot's out paths.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@resolve_options
def verify_command(input_file: Path, substituter: str | None, nixpkgs_ref: str | None, evaluate: bool,
                   as_json: bool, **kwargs: Any) -> None:
    """Compare the predicted cache hits with what the binary cache actually holds, for each system
    (``--system`` selects).

    Exits 9 when a package predicted to come from the cache would have to be built, 10 when Nix cannot
    evaluate the flake.
    """
    import json

    from nixgen.errors import PredictionWrong
    from nixgen.lock.schema import encode
    from nixgen.nixcmd import flake_command
    from nixgen.nixpkgs.snapshot import Snapshot
    from nixgen.pipeline import choose_target, render
    from nixgen.verify import ask_cache, compare, evaluate_out_paths, render_checks, snapshot_out_paths

    locked = _locked(input_file, {**kwargs, "quiet": True})
    substituter = substituter or _default_substituter()
    text = render(locked, input_file.resolve().parent, _cache_dir(kwargs))
    if evaluate and flake_command() is None:
        click.echo("note: nix is not on PATH; checking the packages predicted cached by the snapshot's out "
                   "paths (install Nix for exact out paths)", err=True)
        evaluate = False
    snapshot = Snapshot.load(kwargs["snapshot_dir"])
    wanted = tuple(kwargs["systems"])
    results = []
    wrong = False
    for plan in locked.plans:
        if wanted and plan.system not in wanted:
            continue
        _target, pyset = choose_target(snapshot, plan.python_version, plan.system)
        if evaluate:
            out_paths = evaluate_out_paths(text, plan, nixpkgs=nixpkgs_ref)
            method = f"out paths from nix eval of the flake for {plan.system}"
        else:
            out_paths = snapshot_out_paths(plan, pyset)
            method = f"out paths from the snapshot for {plan.system}"
        in_cache = ask_cache([path for path, _ in out_paths.values() if path is not None], substituter)
        checks = compare(plan, out_paths, in_cache, pyset)
        wrong = wrong or any(c.surprise for c in checks)
        if as_json:
            results.append({"system": plan.system, "method": method, "checks": [
                {**encode(c), "agrees": c.agrees, "surprise": c.surprise, "changed": c.changed} for c in checks]})
        else:
            click.echo(render_checks(checks, method))
    if as_json:
        click.echo(json.dumps({"substituter": substituter, "systems": results}, indent=2, sort_keys=True))
    if wrong:
        raise PredictionWrong("a package predicted to come from the binary cache would have to be built",
                              hint="see the DIFF lines above")


@cli.command("smoke")
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout.")
@click.option("--timeout", "step_timeout", type=float, default=600, show_default=True,
              help="Seconds one install, build or import may take.")
@click.option("--keep", "keep_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the virtual environments and builds here (default: a temporary directory).")
@resolve_options
def smoke_command(input_file: Path, as_json: bool, step_timeout: float, keep_dir: Path | None,
                  **kwargs: Any) -> None:
    """A pre-flight where nothing from Nix is built: install FILE's runtime pins (a pylock.toml, or any input,
    locked now) at their versions from the index into a throwaway venv of a host CPython of the target's minor
    version (uv), build its sdists with its build pins in the box, `uv pip check`, import the roots.

    It tests the version set, not nixpkgs' builds; only the host's system is tried, and what cannot be tried
    (no such CPython, wheels for a newer glibc) is said on stderr and in the JSON. Exits 12 when a step fails.
    """
    from nixgen.emit.smoke import render_json, render_text
    from nixgen.errors import SmokeFailed
    from nixgen.pypi.client import Index
    from nixgen.pypi.config import default_index_url
    from nixgen.smoke import smoke_lock

    locked = _locked(input_file, {**kwargs, "quiet": True})
    wanted = tuple(kwargs["systems"])
    plans = [p for p in locked.plans if not wanted or p.system in wanted]
    urls = tuple(_options(kwargs).index_urls) or tuple(locked.options.index_urls) or (default_index_url(),)
    cache_dir = _cache_dir(kwargs)
    # --exclude-newer bounds what build requirements resolve to; the plan's pins are taken whatever their date.
    with Index(urls, cache_dir=cache_dir, offline=kwargs["offline"], exclude_newer=kwargs["exclude_newer"]) as index:
        results = smoke_lock(plans, index=index, index_urls=urls, cache_dir=cache_dir / "uv",
                             offline=kwargs["offline"], timeout=step_timeout,
                             allow_unboxed=kwargs["allow_unboxed_builds"],
                             keep=keep_dir.resolve() if keep_dir is not None else None)
    if as_json:
        click.echo(render_json(results), nl=False)
    text = render_text(results)
    if not (kwargs["quiet"] and all(r.outcome == "passed" for r in results)):
        click.echo(text, err=True, nl=False)
    failed = [r.system for r in results if r.outcome == "failed"]
    if failed:
        raise SmokeFailed(f"the smoke failed on {', '.join(failed)}", hint="the failed steps and their reasons "
                          "are above; `nixgen explain NAME FILE` tells why a pin is in the plan")


@cli.command("rodeo")
@click.argument("matrix_file", metavar="MATRIX", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=int, default=2, show_default=True, help="Cells run at once.")
@click.option("--timeout", "cell_timeout", type=float, default=600, show_default=True,
              help="Seconds one cell may take.")
@click.option("--build", is_flag=True, help="Also nix build each cell and run its import checks (needs Nix).")
@click.option("--smoke", is_flag=True,
              help="Also run `nixgen smoke` on each cell of the host's system: its pins installed, its sdists "
                   "built and its roots imported on a host CPython of the cell's Python (tests the version set, "
                   "not nixpkgs' builds).")
@click.option("--only", "only", multiple=True, metavar="SET/PYTHON/SYSTEM", help="Run only these cells.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where cells keep their files (default: a temporary directory).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Results as JSON.")
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False, path_type=Path), help="Results as Markdown.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Results as HTML.")
@click.option("--github-actions", "gha_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a GitHub Actions workflow running the matrix as a CI matrix, and run nothing.")
@click.option("--index-url", "-i", "index_url", metavar="URL", help="Package index the cells resolve against.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cache directory the cells share (default: the user cache dir; env NIXGEN_CACHE_DIR).")
@click.option("--exclude-newer", metavar="DATE", help="Ignore files uploaded after DATE, in every cell.")
@click.option("--offline", is_flag=True, help="Cells use only the local cache.")
@click.option("--quiet", "-q", is_flag=True, help="No line per finished cell on stderr.")
def rodeo(matrix_file: Path, jobs: int, cell_timeout: float, build: bool, smoke: bool, only: tuple[str, ...],
          workdir: Path | None, json_out: Path | None, md_out: Path | None, html_out: Path | None,
          gha_out: Path | None, index_url: str | None, cache_dir: Path | None, exclude_newer: str | None,
          offline: bool, quiet: bool) -> None:
    """Run a matrix of package sets x Pythons x systems and report each cell's outcome."""
    import json
    import tempfile

    from nixgen.emit.rodeo import render_html, render_markdown, render_workflow
    from nixgen.fsutil import write_atomic
    from nixgen.rodeo import Matrix, read_matrix, results_json, run_matrix

    matrix = read_matrix(matrix_file)
    if only:
        wanted = set(only)
        matrix = Matrix(matrix.name, tuple(c for c in matrix.cells if f"{c.set}/{c.python}/{c.system}" in wanted))
        if not matrix.cells:
            raise UsageError(f"--only matches no cell of {matrix_file}", hint="cells are SET/PYTHON/SYSTEM")
    if gha_out is not None:
        write_atomic(gha_out, render_workflow(matrix, str(matrix_file)))
        click.echo(f"wrote {gha_out}: {len(matrix.cells)} jobs and a report job", err=True)
        return
    common = [a for k, v in (("--index-url", index_url), ("--cache-dir", cache_dir),
                             ("--exclude-newer", exclude_newer)) if v is not None for a in (k, str(v))]
    if offline:
        common.append("--offline")

    def show(result: Any) -> None:
        if quiet:
            return
        where = f" at {result.failed_stage}: {result.error.splitlines()[0] if result.error else ''}" \
            if result.failed_stage else ""
        click.echo(f"{result.set} py{result.python} {result.system}: {result.status}{where} "
                   f"({result.seconds:g} s)", err=True)
        if result.smoke is not None and result.smoke["outcome"] in ("not tried", "incomplete"):
            for what in result.smoke["not-tried"]:
                click.echo(f"  smoke {what}", err=True)

    with tempfile.TemporaryDirectory(prefix="nixgen-rodeo-") as tmp:
        results, complete = run_matrix(matrix, workdir or Path(tmp), common, jobs=jobs, timeout=cell_timeout,
                                       build=build, on_result=show, smoke=smoke)
    text = results_json(matrix, results, complete)
    data = json.loads(text)
    if json_out is not None:
        write_atomic(json_out, text)
    if md_out is not None:
        write_atomic(md_out, render_markdown(data))
    if html_out is not None:
        write_atomic(html_out, render_html(data))
    if json_out is None and md_out is None and html_out is None:
        click.echo(render_markdown(data), nl=False)
    if not complete:
        sys.exit(130)


@cli.command("rodeo-merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Merged results as JSON.")
@click.option("--markdown", "md_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Merged results as Markdown.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Merged results as HTML.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on stdout when no output file is given.")
def rodeo_merge(files: tuple[Path, ...], json_out: Path | None, md_out: Path | None, html_out: Path | None,
                quiet: bool) -> None:
    """Merge the JSON results of single cells (e.g. CI jobs' artifacts) into one report."""
    import json

    from nixgen.emit.rodeo import render_html, render_markdown
    from nixgen.fsutil import write_atomic

    cells: list[Any] = []
    name = "rodeo"
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            cells.extend(data["cells"])
            name = data.get("matrix", name)
        except (OSError, ValueError, KeyError) as err:
            raise UsageError(f"{path} is not a rodeo result file: {err}") from None
    cells.sort(key=lambda c: (c["set"], c["python"], c["system"]))
    from nixgen.core.kinds import RODEO_STAGES

    merged = {"matrix": name, "complete": True, "stages": list(RODEO_STAGES),
              "cells": cells}
    text = json.dumps(merged, indent=2, sort_keys=True) + "\n"
    if json_out is not None:
        write_atomic(json_out, text)
    if md_out is not None:
        write_atomic(md_out, render_markdown(merged))
    if html_out is not None:
        write_atomic(html_out, render_html(merged))
    if json_out is None and md_out is None and html_out is None and not quiet:
        click.echo(render_markdown(merged), nl=False)


@cli.command("explain")
@click.argument("name")
@click.argument("input_file", metavar="FILE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output on stdout.")
@resolve_options
def explain_command(name: str, input_file: Path, as_json: bool, **kwargs: Any) -> None:
    """Why NAME is in FILE's closure, which provider was chosen and why, and what it costs (per system)."""
    from packaging.utils import canonicalize_name

    from nixgen.emit.report import explain, explain_json
    from nixgen.errors import ProjectNotFound

    locked = _locked(input_file, {**kwargs, "quiet": True})
    systems = tuple(kwargs["systems"])
    plans = [p for p in locked.plans if not systems or p.system in systems]
    texts = [t for p in plans if (t := explain(p, name)) is not None]
    if not texts:
        raise ProjectNotFound(f"{canonicalize_name(name)} is not in this resolution",
                              hint=f"`nixgen report {input_file}` lists every package")
    click.echo(explain_json(locked, plans, name) if as_json else "\n".join(texts), nl=not as_json)


@cli.group()
def nixpkgs() -> None:
    """Build or inspect nixpkgs snapshots."""


@nixpkgs.command("import-nix-index")
@click.argument("database", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the snapshot to.")
@click.option("--rev", required=True, help="The nixpkgs revision the database was generated from.")
@click.option("--nar-hash", default="", help="narHash of that revision (pins it in generated flakes).")
@click.option("--last-modified", type=int, default=0, help="lastModified of that revision.")
@click.option("--rev-note", default="", help="How the revision relates to the database (provenance).")
@click.option("--system", default=None, metavar="SYSTEM",
              help="The system the database must describe (default: the one its entries name).")
def import_nix_index(database: Path, output: Path, rev: str, nar_hash: str, last_modified: int,
                     rev_note: str, system: str | None) -> None:
    """Read a nix-index DATABASE (or a wheel holding one) into its system's part of a snapshot directory."""
    from nixgen.nixpkgs.importer import import_nix_index as run

    snap = run(database, output, nixpkgs_rev=rev, nar_hash=nar_hash, last_modified=last_modified,
               rev_note=rev_note, system=system)
    for name in snap.systems:
        part = snap.for_system(name)
        assert part is not None
        pyset = part.python_set()
        click.echo(f"{output}/{name}: {pyset.packages_attr} has {len(pyset.packages)} packages "
                   f"(python3 = {pyset.python_version}; from {part.meta.source})", err=True)


@nixpkgs.command("import-nixpkgs")
@click.argument("source", metavar="PATH|FLAKEREF")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory to write the snapshot to.")
@click.option("--set", "package_set", default="python313Packages", show_default=True,
              help="The package set to evaluate.")
@click.option("--system", default="x86_64-linux", show_default=True, help="The Nix system to evaluate it for.")
@click.option("--rev", default="", help="The revision (pinned in generated flakes; a flake's locked one if not given).")
@click.option("--nar-hash", default="", help="Its narHash (a flake's locked one if not given).")
def import_nixpkgs_command(source: str, output: Path, package_set: str, system: str, rev: str,
                           nar_hash: str) -> None:
    """Evaluate the Python set of a nixpkgs checkout (PATH) or flake (FLAKEREF, e.g.
    github:NixOS/nixpkgs/<rev>) with Nix into a snapshot with exact out paths and dependency edges."""
    from nixgen.nixpkgs.importer import import_nixpkgs

    snap = import_nixpkgs(source, output, package_set=package_set, system=system, nixpkgs_rev=rev,
                          nar_hash=nar_hash)
    pyset = snap.python_set()
    click.echo(f"wrote {output}: {pyset.packages_attr} has {len(pyset.packages)} packages with "
               f"{sum(len(e) for e in pyset.edges.values())} edges", err=True)


@nixpkgs.command("show")
@click.argument("name", required=False)
@click.option("--snapshot", "snapshot_dir", type=click.Path(file_okay=False, path_type=Path),
              help="A snapshot directory (default: the embedded one).")
@click.option("--python", "python", metavar="X.Y", help="Whose package set (default: python3's).")
def show(name: str | None, snapshot_dir: Path | None, python: str | None) -> None:
    """Show the snapshot's provenance, or what it has for the project NAME."""
    from nixgen.nixpkgs.snapshot import Snapshot
    from nixgen.pipeline import choose_target

    snap = Snapshot.load(snapshot_dir)
    target, pyset = choose_target(snap, python, "x86_64-linux")
    if name is None:
        meta = snap.meta
        click.echo(f"nixpkgs {meta.nixpkgs_rev} ({meta.nixpkgs_rev_note})\nsource: {meta.source}\n"
                   f"python3: {meta.python3}\ninterpreters: "
                   + ", ".join(f"{k} {v}" for k, v in sorted(snap.interpreters.items())))
        return
    found = pyset.attrs_for(name) if pyset is not None else []
    if not found:
        raise UsageError(f"{target.packages_attr} in the snapshot has no package installing {name}")
    for pkg in found:
        click.echo(f"{target.packages_attr}.{pkg.attr}\t{pkg.pypi_name} {pkg.version}\t{pkg.out_path}")


@cli.group("overrides")
def overrides_group() -> None:
    """Inspect the overrides layer."""


@overrides_group.command("show")
@click.argument("name")
@click.option("--version", "version", metavar="VERSION", help="Only the rules for this version.")
@click.option("--overrides", "override_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Your own override rules (TOML), shown before the curated ones.")
@click.option("--snapshot", "snapshot_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The snapshot that validates native inputs (default: the embedded one).")
def overrides_show(name: str, version: str | None, override_files: tuple[Path, ...],
                   snapshot_dir: Path | None) -> None:
    """Print the override rules that apply to the project NAME."""
    from nixgen.nixpkgs.snapshot import Snapshot
    from nixgen.overrides import describe, load_overrides

    snap = Snapshot.load(snapshot_dir)
    click.echo(describe(name, load_overrides(snap.knows_toplevel, override_files), version))


def _collect_rarely() -> None:
    """Run the cyclic garbage collector rarely: a run makes hundreds of thousands of objects that live to its
    end (pages, files, candidates, requirements) and few cycles, so the default thresholds set off hundreds
    of passes that free next to nothing and each walk what is alive (a tenth of a warm run). What exists now
    (the modules) is moved out of the collector's sight; a young pass comes after 200,000 allocations."""
    gc.freeze()
    gc.set_threshold(200_000, 20, 20)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the process: run the CLI; a NixgenError becomes its message and exit code, never a
    traceback. When the command is done, what is left is frozen too: the interpreter's last collection at
    exit would otherwise walk every object of the run (40 ms of a warm run) to free what exit frees anyway
    (every file is closed by then; temporary directories go by their atexit finalizers)."""
    _collect_rarely()
    try:
        _main(argv)
    finally:
        gc.freeze()


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, prog_name="nixgen", standalone_mode=False)
    except NixgenError as err:
        click.echo(err.render(), err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except BrokenPipeError:
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
