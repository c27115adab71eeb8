"""Draw the PWA icons (a white "4" on the brand colour) into static/icons/. Re-run after changing the design."""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "icons"
BRAND = (15, 23, 42)
ACCENT = (37, 99, 235)
SIZES = {"icon-192.png": (192, False), "icon-512.png": (512, False), "maskable-512.png": (512, True),
         "apple-touch-icon.png": (180, False), "badge-96.png": (96, False), "favicon-32.png": (32, False)}


def font(size: int) -> ImageFont.ImageFont:
    for name in ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def draw(size: int, maskable: bool) -> Image.Image:
    image = Image.new("RGB", (size, size), BRAND)
    canvas = ImageDraw.Draw(image)
    inset = size * (0.2 if maskable else 0.08)  # maskable icons keep content inside the 80 % safe zone
    canvas.rounded_rectangle([inset, inset, size - inset, size - inset], radius=size * 0.18, fill=ACCENT)
    glyph = font(int(size * (0.45 if maskable else 0.6)))
    canvas.text((size / 2, size / 2), "4", fill="white", font=glyph, anchor="mm")
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (size, maskable) in SIZES.items():
        draw(size, maskable).save(OUT / name, optimize=True)
        print(f"static/icons/{name} {size}x{size}")


if __name__ == "__main__":
    main()
