"""The Teams app package an admin uploads: a valid 1.29 manifest and the two icons, nothing else."""

from __future__ import annotations

import json
import re
import zipfile
from io import BytesIO

import pytest
from jsonschema import validators
from PIL import Image

from core.settings import ROOT
from manifest.icons import color_icon, outline_icon
from manifest.package import HERE, InvalidAppId, build_package, main, manifest_for

SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "teams-manifest-1.29.schema.json"
APP_ID = "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b"
COMMANDS = {"help", "subscribe", "pending", "status", "policy", "pause", "resume"}


def manifest_errors(manifest: dict) -> list[str]:
    schema = json.loads(SCHEMA_PATH.read_text())
    cls = validators.validator_for(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(manifest)]


def test_the_schema_needs_nothing_from_the_network():
    text = SCHEMA_PATH.read_text()

    remote = [ref for ref in re.findall(r'"\$ref"\s*:\s*"([^"]+)"', text)
              if not ref.startswith("#")]

    assert remote == []


def test_package_holds_exactly_the_manifest_and_two_icons(tmp_path):
    path = build_package(APP_ID, tmp_path / "cordon.zip", "https://cordon.fabrikam.example/")

    with zipfile.ZipFile(path) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
        color = Image.open(BytesIO(package.read("color.png")))
        outline = Image.open(BytesIO(package.read("outline.png")))

    assert manifest_errors(manifest) == []
    assert manifest["id"] == APP_ID
    assert manifest["bots"][0]["botId"] == APP_ID
    assert "{{" not in json.dumps(manifest)
    assert manifest["validDomains"] == ["cordon.fabrikam.example"]
    assert (color.format, color.size) == ("PNG", (192, 192))
    assert (outline.format, outline.size) == ("PNG", (32, 32))


def test_manifest_declares_a_conversational_bot_with_every_command_in_every_scope():
    manifest = manifest_for(APP_ID)

    assert manifest["manifestVersion"] == "1.29"
    assert manifest["$schema"] == ("https://developer.microsoft.com/json-schemas/teams/v1.29/"
                                   "MicrosoftTeams.schema.json")
    bot = manifest["bots"][0]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["supportsFiles"] is False and bot["isNotificationOnly"] is False
    for scope in ("team", "personal", "groupChat"):
        [listing] = [c for c in bot["commandLists"] if c["scopes"] == [scope]]
        assert {c["title"] for c in listing["commands"]} == COMMANDS
        assert all(c["description"] for c in listing["commands"])
    assert len(manifest["description"]["short"]) <= 80
    for url in manifest["developer"].values():
        assert url == "Cordon" or url.startswith("https://")
    assert manifest_errors(manifest) == []


@pytest.mark.parametrize("app_id", ["", "cordon", "3f1c2b4a5d6e4f708a9b0c1d2e3f4a5b",
                                    "{3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b}",
                                    "3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b\n"])
def test_an_app_id_that_is_not_a_guid_is_refused_with_what_is_expected(tmp_path, app_id):
    with pytest.raises(InvalidAppId, match="GUID such as 00000000-0000"):
        build_package(app_id, tmp_path / "cordon.zip", None)

    assert not (tmp_path / "cordon.zip").exists()


def test_a_base_url_without_a_host_is_refused():
    with pytest.raises(ValueError, match="absolute URL"):
        manifest_for(APP_ID, "cordon.fabrikam.example")


def test_outline_icon_is_white_on_transparent():
    icon = Image.open(HERE / "outline.png").convert("RGBA")

    pixels = list(icon.getdata())

    assert all(p[:3] == (255, 255, 255) for p in pixels if p[3]), "only white may show"
    assert any(p[3] == 0 for p in pixels), "the outline needs a transparent background"
    assert any(p[3] == 255 for p in pixels), "the outline must be visible"


def test_color_icon_is_opaque_192_square():
    icon = Image.open(HERE / "color.png").convert("RGBA")

    assert icon.size == (192, 192)
    assert min(p[3] for p in icon.getdata()) == 255


def test_committed_icons_are_what_the_drawing_script_draws():
    assert Image.open(HERE / "color.png").convert("RGBA").tobytes() == color_icon().tobytes()
    assert Image.open(HERE / "outline.png").convert("RGBA").tobytes() == outline_icon().tobytes()


def test_command_line_builds_the_package_and_refuses_a_bad_id(tmp_path, capsys):
    out = tmp_path / "pkg" / "cordon.zip"

    assert main(["--app-id", APP_ID, "--out", str(out)]) == 0
    assert zipfile.ZipFile(out).namelist()

    assert main(["--app-id", "not-a-guid", "--out", str(tmp_path / "bad.zip")]) == 2
    assert "GUID" in capsys.readouterr().err
