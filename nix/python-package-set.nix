# Evaluate one Python package set of a nixpkgs checkout into plain data for nixgen's snapshot importer:
#   nix-instantiate --eval --strict --json nix/python-package-set.nix \
#     --arg nixpkgs /path/to/nixpkgs --argstr set python313Packages --argstr system x86_64-linux
# For each attribute that evaluates to a derivation: its pname, version, out path, and the attributes of the
# same set it depends on (dependencies/propagatedBuildInputs, build-system/nativeBuildInputs, check inputs).
{
  nixpkgs,
  set ? "python3Packages",
  system ? "x86_64-linux",
}:
let
  pkgs = import nixpkgs { inherit system; };
  ps = pkgs.${set};
  interpreter = ps.python;
  # Map a derivation back to its attribute name in the set by its out path.
  safe = v: let r = builtins.tryEval v; in if r.success then r.value else null;
  isDrv = v: builtins.isAttrs v && (v.type or null) == "derivation" || (builtins.isAttrs v && v ? outPath && v ? pname);
  names = builtins.filter (n: isDrv (safe ps.${n})) (builtins.attrNames ps);
  # Out paths carry string context, which attribute names may not: compare them as plain strings.
  plain = v: builtins.unsafeDiscardStringContext (toString v);
  outOf = n: safe ps.${n}.outPath;
  byOut = builtins.listToAttrs (map (n: { name = plain (outOf n); value = n; }) names);
  attrsOf = l: builtins.filter (x: x != null) (map (d: byOut.${plain (safe d.outPath)} or null) (builtins.filter builtins.isAttrs l));
  field = p: f: safe (p.${f} or [ ]);
in
builtins.listToAttrs (
  map (
    n:
    let
      p = ps.${n};
    in
    {
      name = n;
      value = {
        pname = safe (p.pname or null);
        version = safe (p.version or null);
        out = plain (outOf n);
        dependencies = attrsOf ((field p "dependencies") ++ (field p "propagatedBuildInputs"));
        build-system = attrsOf ((field p "build-system") ++ (field p "nativeBuildInputs"));
        check = attrsOf ((field p "nativeCheckInputs") ++ (field p "checkInputs"));
      };
    }
  ) names
)
// {
  __interpreter = {
    version = interpreter.version or "";
    # The C library wheels must be built for (manylinux tags); null where there is no glibc.
    glibc = safe (pkgs.glibc.version or null);
  };
}
