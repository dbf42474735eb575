# nixgen's own flake: `nix run` to use nixgen, `nix develop` to work on it.
# nixpkgs is pinned to the revision of nixgen's embedded snapshot.
{
  description = "nixgen: Python requirements as a reproducible Nix flake";

  inputs.nixpkgs = {
    type = "github";
    owner = "NixOS";
    repo = "nixpkgs";
    rev = "46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9";
    narHash = "sha256-4hAV26quOxdC6iyG7kYaZcM3VOskcPUrdCQd/nx8obc=";
  };

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      runtimeDeps =
        ps: with ps; [
          click
          jinja2
          packaging
          platformdirs
          pypi-simple
          requests
          resolvelib
          rich
          tomli-w
          zstandard
        ];
    in
    {
      packages = forAllSystems (pkgs: {
        default = pkgs.python3Packages.buildPythonApplication {
          pname = "nixgen";
          version = "0.1.0";
          pyproject = true;
          src = ./.;
          build-system = [ pkgs.python3Packages.setuptools ];
          dependencies = runtimeDeps pkgs.python3Packages;
          pythonImportsCheck = [ "nixgen" ];
          meta.mainProgram = "nixgen";
        };
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/nixgen";
        };
      });

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.python3.withPackages (
              ps:
              runtimeDeps ps
              ++ (with ps; [
                pytest
                pytest-httpserver
                mypy
                types-requests
              ])
            ))
            pkgs.nix
            pkgs.ruff
            pkgs.uv
          ];
        };
      });
    };
}
