"""Render a :class:`~nixgen.plan.Plan` as a self-contained flake.nix (jinja2 template, nixfmt-like layout)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from nixgen import __version__
from nixgen.core.nix import nix_attr, nix_attr_path, nix_comment, nix_interpolated, nix_string, sri_sha256
from nixgen.core.paths import nix_path
from nixgen.emit import words
from nixgen.emit.devshell import nix_indented, shell_hook
from nixgen.lock.model import NixpkgsPin
from nixgen.plan.model import Plan, PlannedPackage


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """jinja2's cache of compiled templates in a directory; one that cannot be written only costs time."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _template_cache(cache_dir: Path | None, html: bool) -> jinja2.BytecodeCache | None:
    """Compiled templates kept under ``cache_dir/templates``: jinja2 checks each against its template's
    source, but not against jinja2's version or the environment's options, so each has its own directory."""
    if cache_dir is None:
        return None
    directory = cache_dir / "templates" / f"jinja2-{jinja2.__version__}-{'html' if html else 'text'}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(str(directory))


def _environment(html: bool = False, cache_dir: Path | None = None) -> jinja2.Environment:
    """The template environment: Nix and YAML text (values escaped by filters), or HTML (autoescaped);
    with ``cache_dir`` (the run's cache directory), templates are compiled once, not on every run."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nixgen.emit", "templates"),
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=_template_cache(cache_dir, html),
    )
    env.filters.update(nixstr=nix_string, attr=nix_attr, attrpath=nix_attr_path, sri=sri_sha256,
                       comment=nix_comment, nixinterp=nix_interpolated, reason=words.reason,
                       inherited=words.inherited)
    return env


@dataclass(frozen=True)
class Parts:
    """The pieces every output format is made of, rendered once."""

    header: list[str]
    overlay: str
    environment: str
    image: str
    dev_environment: str = ""  # the environment less the local projects (they are editable in the dev shell)
    shell_hook: str = ""  # the dev shell's hook that makes them editable (Nix indented-string body)


def _parts(templates: jinja2.Environment, plans: Sequence[Plan], nixpkgs: NixpkgsPin, header: Sequence[str],
           flake_dir: Path | None, image_cmd: Sequence[str]) -> Parts:
    first = plans[0]
    lines = [*header]
    for plan in plans:
        counts = ", ".join(f"{n} {k}" for k, n in plan.counts().items())
        lines.append(f"target: {plan.interpreter} ({plan.python_version}) on {plan.system}: {counts}")
    lines.append(f"nixpkgs: {nixpkgs.rev} ({nixpkgs.note})")
    local_src = {pkg.attr: nix_path(pkg.source_path, flake_dir or Path.cwd())
                 for plan in plans for pkg in plan.packages if pkg.source_path is not None}
    envs = [p.environment for p in plans]
    others = [set(e) for e in envs[1:]]
    shared_env = [a for a in envs[0] if all(a in e for e in others)]
    shared = set(shared_env)
    system_env = [(p.system, [a for a in env if a not in shared]) for p, env in zip(plans, envs, strict=True)]
    environment = templates.get_template("environment.nix.j2").render(
        interpreter=first.interpreter, environment=shared_env,
        system_environment=[(s, attrs) for s, attrs in system_env if attrs])
    local = [p.name for p in first.packages if p.provider == "local"]
    image = templates.get_template("image.nix.j2").render(image_name=local[0] if local else "python-environment",
                                                           image_cmd=list(image_cmd) or ["python3"])
    local_attrs = {p.attr for plan in plans for p in plan.packages if p.provider == "local"}
    dev_environment = hook = ""
    if local_attrs:
        dev_environment = templates.get_template("environment.nix.j2").render(
            interpreter=first.interpreter, environment=[a for a in shared_env if a not in local_attrs],
            system_environment=[(s, [a for a in attrs if a not in local_attrs])
                                for s, attrs in system_env if [a for a in attrs if a not in local_attrs]])
        where = flake_dir or Path.cwd()
        paths = sorted({os.path.relpath(Path(p.source_path).resolve(), where.resolve())
                        for p in first.packages if p.provider == "local" and p.source_path is not None})
        hook = nix_indented(shell_hook(paths))
    return Parts(lines, render_overlay(plans, local_src, templates), environment, image, dev_environment, hook)


def render_flake(plans: Sequence[Plan], nixpkgs: NixpkgsPin, header: Sequence[str],
                 flake_dir: Path | None = None, image_cmd: Sequence[str] = (), cache_dir: Path | None = None) -> str:
    """The flake's text for one plan per system; what all systems share is written once (``cache_dir``: see
    :func:`_environment`).

    The same plans, pin and header give byte-identical output.
    """
    env = _environment(cache_dir=cache_dir)
    parts = _parts(env, plans, nixpkgs, header, flake_dir, image_cmd)
    return env.get_template("flake.nix.j2").render(
        version=__version__, header=parts.header,
        description=f"Python {plans[0].python_version} environment generated by nixgen", nixpkgs=nixpkgs,
        systems=[p.system for p in plans], interpreter=plans[0].interpreter, overlay=parts.overlay,
        environment=parts.environment, image=parts.image, dev_environment=parts.dev_environment,
        shell_hook=parts.shell_hook)


def render_classic(plans: Sequence[Plan], nixpkgs: NixpkgsPin, header: Sequence[str],
                   out_dir: Path | None = None, cache_dir: Path | None = None) -> dict[str, str]:
    """``default.nix`` (the environment, nixpkgs pinned with ``fetchTarball`` at the same revision) and
    ``shell.nix``, for ``nix-build`` and ``nix-shell`` without flakes."""
    env = _environment(cache_dir=cache_dir)
    parts = _parts(env, plans, nixpkgs, header, out_dir, ())
    nixpkgs_path = ""
    if nixpkgs.url:
        if not nixpkgs.url.startswith("path:"):
            from nixgen.errors import UsageError

            raise UsageError(f"the snapshot pins the flake reference {nixpkgs.url}, which default.nix cannot fetch",
                             hint="use --format flake, or a snapshot with a known nixpkgs revision")
        nixpkgs_path = nix_path(nixpkgs.url.removeprefix("path:").split("?")[0], out_dir or Path.cwd())
    return {
        "default.nix": env.get_template("default.nix.j2").render(
            version=__version__, header=parts.header, nixpkgs=nixpkgs, nixpkgs_path=nixpkgs_path,
            overlay=parts.overlay, environment=parts.environment),
        "shell.nix": env.get_template("shell.nix.j2").render(version=__version__),
    }


def render_overlay_file(plans: Sequence[Plan], nixpkgs: NixpkgsPin, header: Sequence[str],
                        out_dir: Path | None = None, cache_dir: Path | None = None) -> str:
    """``overlay.nix``: the overlay alone, for a flake or nixpkgs import of your own to apply."""
    parts = _parts(_environment(cache_dir=cache_dir), plans, nixpkgs, header, out_dir, ())
    lines = [f"# Generated by nixgen {__version__}. Do not edit: change the inputs and run nixgen again.",
             *(f"#   {nix_comment(line)}" for line in parts.header),
             "# Apply it to nixpkgs: `import nixpkgs { overlays = [ (import ./overlay.nix) ]; }`, then use",
             f"# `pkgs.{plans[0].interpreter}.withPackages (ps: [ ps.<name> … ])`."]
    return "\n".join(lines) + "\n" + parts.overlay.strip() + "\n"


def _split(plans: Sequence[Plan]) -> tuple[list[PlannedPackage], list[tuple[str, list[PlannedPackage]]]]:
    """The overlay's packages: those every system shares, and each system's own."""
    overrides = [p.overrides for p in plans]  # each a property: worked out once here
    others = [set(o) for o in overrides[1:]]
    shared = [pkg for pkg in overrides[0] if all(pkg in o for o in others)]
    common = set(shared)
    per_system = [(p.system, [pkg for pkg in o if pkg not in common]) for p, o in zip(plans, overrides, strict=True)]
    return shared, [(s, pkgs) for s, pkgs in per_system if pkgs]


def render_overlay(plans: Sequence[Plan], local_src: dict[str, str],
                   templates: jinja2.Environment | None = None) -> str:
    """The nixpkgs overlay (``final: prev: { … }``) that adds the plans' packages to the interpreter's set
    through ``pythonPackagesExtensions``, guarded by the interpreter's attribute name."""
    shared, per_system = _split(plans)
    return (templates or _environment()).get_template("overlay.nix.j2").render(
        interpreter=plans[0].interpreter, overrides=shared, system_overrides=per_system, local_src=local_src)
