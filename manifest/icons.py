"""Draws Cordon's two Teams icons: a shield with a check mark.

`color.png` is 192×192, a white shield on Cordon's accent colour; `outline.png` is 32×32, the
shield's outline in white on a transparent background, as Teams requires (white pixels at any
opacity, nothing else). Shapes are drawn at eight times the size and scaled down, so edges are
smooth. Run `python -m manifest.icons` to redraw the committed PNGs.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (31, 78, 121)
WHITE = (255, 255, 255)
SCALE = 8


def shield(size: float, margin: float) -> list[tuple[float, float]]:
    """A shield's outline in a `size` square: flat top with shoulders, pointed bottom."""
    left, right = margin, size - margin
    top, bottom = margin, size - margin
    mid = size / 2
    width = right - left
    return [
        (mid, top),
        (right, top + 0.12 * width),
        (right, top + 0.48 * width),
        (mid + 0.32 * width, top + 0.80 * width),
        (mid, bottom),
        (mid - 0.32 * width, top + 0.80 * width),
        (left, top + 0.48 * width),
        (left, top + 0.12 * width),
    ]


def check_mark(size: float) -> list[tuple[float, float]]:
    return [(0.36 * size, 0.50 * size), (0.47 * size, 0.61 * size), (0.66 * size, 0.39 * size)]


def color_icon() -> Image.Image:
    big = 192 * SCALE
    image = Image.new("RGBA", (big, big), (*ACCENT, 255))
    draw = ImageDraw.Draw(image)
    draw.polygon(shield(big, 0.18 * big), fill=(*WHITE, 255))
    draw.line(check_mark(big), fill=(*ACCENT, 255), width=int(0.06 * big), joint="curve")
    return image.resize((192, 192), Image.Resampling.LANCZOS)


def outline_icon() -> Image.Image:
    big = 32 * SCALE
    image = Image.new("RGBA", (big, big), (*WHITE, 0))
    draw = ImageDraw.Draw(image)
    outline = shield(big, 0.09 * big)
    draw.polygon(outline, outline=(*WHITE, 255), width=int(0.09 * big))
    draw.line(check_mark(big), fill=(*WHITE, 255), width=int(0.09 * big), joint="curve")
    small = image.resize((32, 32), Image.Resampling.LANCZOS)
    alpha = small.getchannel("A")
    white = Image.new("RGBA", (32, 32), (*WHITE, 0))
    white.putalpha(alpha)
    return white


def draw_icons(folder: Path = HERE) -> tuple[Path, Path]:
    color, outline = folder / "color.png", folder / "outline.png"
    color_icon().save(color, optimize=True)
    outline_icon().save(outline, optimize=True)
    return color, outline


if __name__ == "__main__":
    for path in draw_icons():
        print(path)
