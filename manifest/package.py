"""Builds the Teams app package: a flat zip of manifest.json, color.png and outline.png.

`build_package(app_id, out, base_url)` fills the template's `{{APP_ID}}` (the app's `id` and
the bot's `botId`, which are the same Microsoft app registration) and lists `base_url`'s host
in `validDomains`. It refuses an app id that is not a GUID, since Teams would refuse the
package later with a vaguer message. The zip is reproducible: the same inputs give the same
bytes.

Run as `python -m manifest.package --app-id GUID --out cordon.zip [--base-url URL]`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "manifest.json"
ICONS = ("color.png", "outline.png")
PLACEHOLDER = "{{APP_ID}}"
GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_FIXED_TIME = (2026, 1, 1, 0, 0, 0)

log = structlog.get_logger(__name__)


class InvalidAppId(ValueError):
    """The app id is not a GUID."""


def manifest_for(app_id: str, base_url: str | None = None) -> dict[str, Any]:
    """The manifest with the app id filled in and `base_url`'s host as a valid domain."""
    if not GUID.fullmatch(app_id or ""):
        raise InvalidAppId(
            f"app id must be the bot's Microsoft app id, a GUID such as "
            f"00000000-0000-0000-0000-000000000000; got {app_id!r}"
        )

    manifest = json.loads(TEMPLATE.read_text(encoding="utf-8").replace(PLACEHOLDER, app_id))
    host = urlsplit(base_url).hostname if base_url else None
    if base_url and not host:
        raise ValueError(f"base url must be an absolute URL such as https://cordon.example; "
                         f"got {base_url!r}")
    if host and host not in manifest["validDomains"]:
        manifest["validDomains"].append(host)
    return manifest


def build_package(app_id: str, out: Path, base_url: str | None = None) -> Path:
    """Write the app package to `out` and return its path."""
    manifest = manifest_for(app_id, base_url)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        _add(package, "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        for icon in ICONS:
            _add(package, icon, (HERE / icon).read_bytes())

    log.info("app package built", path=str(out), app_id=app_id,
             valid_domains=manifest["validDomains"])
    return out


def _add(package: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    package.writestr(info, data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m manifest.package",
                                     description="Build Cordon's Teams app package.")
    parser.add_argument("--app-id", required=True, help="the bot's Microsoft app id (a GUID)")
    parser.add_argument("--out", type=Path, default=Path("cordon.zip"), help="zip to write")
    parser.add_argument("--base-url", default=None,
                        help="the bot's public https URL; its host goes in validDomains")
    args = parser.parse_args(argv)

    try:
        path = build_package(args.app_id, args.out, args.base_url)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
