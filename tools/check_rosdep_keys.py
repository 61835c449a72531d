"""Check that every dependency key in package.xml resolves in a ROS distribution.

usage: python tools/check_rosdep_keys.py ROSDISTRO [DISTRO]

ROSDISTRO is a checkout (or bare clone) of https://github.com/ros/rosdistro; DISTRO defaults to
kilted. A key resolves when it is a rosdep key (rosdep/base.yaml, rosdep/python.yaml) or a
package released in DISTRO/distribution.yaml, which is what `rosdep install --from-paths`
looks up. Exits 1 listing the keys that do not resolve. Not a test: CI has no rosdistro copy.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml


def _read(repo: Path, path: str) -> str:
    if (repo / path).is_file():
        return (repo / path).read_text()
    return subprocess.run(["git", "--git-dir", str(repo / ".git") if (repo / ".git").exists()
                           else str(repo), "show", f"HEAD:{path}"],
                          capture_output=True, text=True, check=True).stdout


def main(argv: list[str]) -> int:
    """Print unresolved keys; 0 if none."""
    if not argv:
        print(__doc__)
        return 2
    repo, distro = Path(argv[0]), (argv[1] if len(argv) > 1 else "kilted")
    keys: set[str] = set()
    for f in ("rosdep/base.yaml", "rosdep/python.yaml"):
        keys |= set(yaml.safe_load(_read(repo, f)))
    packages: set[str] = set()
    for name, r in yaml.safe_load(_read(repo, f"{distro}/distribution.yaml"))[
            "repositories"].items():
        if "release" in r:
            packages |= set(r["release"].get("packages", [name]))
    xml = (Path(__file__).resolve().parents[1] / "package.xml").read_text()
    deps = re.findall(r"<(\w*depend)>([^<]+)</", xml)
    bad = [f"{tag}: {key}" for tag, key in deps if key not in keys and key not in packages]
    print(f"{len(deps)} keys checked against {distro}; unresolved: {bad or 'none'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
