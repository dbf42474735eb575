"""The editable dev shell: ``devShells.default`` holds the local projects' dependencies, and its shellHook puts
each project's working tree on ``PYTHONPATH`` and its console scripts on ``PATH``.

Nothing about where the tree is gets baked into the flake: the hook finds it when the shell starts (the
nearest directory above ``$PWD`` holding ``flake.nix``, else the git work tree's top, else ``$PWD``), then
each project at its path relative to the flake. Its import root is ``src/`` when that holds a package or
module (the src layout), the project directory otherwise. Console scripts are read from the project's
``[project.scripts]`` (or ``[tool.poetry.scripts]``) when the shell starts and written as small wrappers in
a temporary ``bin`` directory; scripts a build backend makes up dynamically are not seen (use
``python -m``).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["nix_indented", "shell_hook"]

_FIND_ROOT = """\
# nixgen: the local project(s) editable, from the working tree found now (not a path baked into the flake).
nixgen_root="$PWD"
while [ "$nixgen_root" != / ] && [ ! -e "$nixgen_root/flake.nix" ]; do nixgen_root="$(dirname "$nixgen_root")"; done
if [ ! -e "$nixgen_root/flake.nix" ]; then
  nixgen_root="$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
fi
nixgen_editable="$(mktemp -d "${TMPDIR:-/tmp}/nixgen-editable.XXXXXX")"
mkdir -p "$nixgen_editable/bin"
"""

# Run with the shell's python3: where the project imports from, and one wrapper per console script.
_WRAPPERS = r"""import os, sys, tomllib
project, out = sys.argv[1], sys.argv[2]
src = os.path.join(project, "src")
layout = os.path.isdir(src) and any(
    os.path.isfile(os.path.join(src, e, "__init__.py")) or e.endswith(".py") for e in os.listdir(src))
print(src if layout else project)
try:
    with open(os.path.join(project, "pyproject.toml"), "rb") as f:
        data = tomllib.load(f)
except OSError:
    data = {}
scripts = dict(data.get("tool", {}).get("poetry", {}).get("scripts", {}))
scripts.update(data.get("project", {}).get("scripts", {}))
for name, target in scripts.items():
    if not isinstance(target, str) or ":" not in target or "/" in name:
        continue
    module, _, attr = target.partition(":")
    attr = attr.split("[")[0].strip()
    path = os.path.join(out, "bin", name)
    with open(path, "w") as f:
        f.write(f"#!/usr/bin/env python3\nimport sys\nimport {module.strip()} as m\n"
                f"sys.exit(m.{attr}())\n")
    os.chmod(path, 0o755)
"""

_EXPORT = """\
export PYTHONPATH="$nixgen_path${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$nixgen_editable/bin:$PATH"
unset nixgen_root nixgen_editable nixgen_path nixgen_project
"""


def _quote(text: str) -> str:
    """A bash single-quoted word."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def shell_hook(projects: Sequence[str]) -> str:
    """The bash shellHook for the local projects at ``projects`` (paths relative to the flake's directory)."""
    lines = [_FIND_ROOT, 'nixgen_path=""\n']
    for rel in projects:
        lines.append(f'nixgen_project="$nixgen_root"/{_quote(rel)}\n'
                     f'nixgen_path="$nixgen_path${{nixgen_path:+:}}$(python3 -c {_quote(_WRAPPERS)} '
                     '"$nixgen_project" "$nixgen_editable")"\n')
    lines.append(_EXPORT)
    return "".join(lines)


def nix_indented(text: str) -> str:
    """``text`` as the body of a Nix indented string (``''…''``): ``''`` and ``${`` escaped."""
    return text.replace("''", "'''").replace("${", "''${")
