"""Vendor front-end packages from the npm registry into static/vendor/ (the app must work offline).

Run after changing a version below: `python scripts/vendor_static.py`. Needs `npm` (Node.js) on PATH;
the vendored files are committed, so neither running the app nor the tests needs npm.
"""

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"

# package@version -> {file inside the package tarball: destination under static/vendor}
PACKAGES: dict[str, dict[str, str]] = {
    "htmx.org@2.0.11": {"package/dist/htmx.min.js": "htmx/htmx.min.js"},
    "htmx-ext-ws@2.0.4": {"package/ws.js": "htmx/ext/ws.js"},
    "lightweight-charts@4.2.2": {
        "package/dist/lightweight-charts.standalone.production.js": "lightweight-charts/lightweight-charts.js"
    },
}


def vendor(spec: str, files: dict[str, str], workdir: Path) -> None:
    result = subprocess.run(
        ["npm", "pack", spec, "--silent", "--pack-destination", str(workdir)],
        check=True, capture_output=True, text=True,
    )
    tarball = workdir / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        for member_name, destination in files.items():
            source = archive.extractfile(member_name)
            if source is None:
                raise SystemExit(f"{spec}: {member_name} not found in the package")
            target = VENDOR / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(source, out)
            print(f"{spec}: {member_name} -> static/vendor/{destination}")


def main(argv: list[str]) -> int:
    wanted = [spec for spec in PACKAGES if not argv or spec.split("@")[0] in argv]
    with tempfile.TemporaryDirectory() as tmp:
        for spec in wanted:
            vendor(spec, PACKAGES[spec], Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
