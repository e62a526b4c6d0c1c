"""Recipe: make thumbnails with Pillow in the background, so an upload returns at once.

The job gets the image's path (paths and tuples round-trip through the job's JSON) and writes the
thumbnail beside it. A photo deleted, or not an image at all, is discarded: retrying cannot fix it.
The source images are drawn by the recipe itself, so the repository holds no binary files.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError

import jobframe
from cookbook.sandbox import Sandbox, data_folder

SIZE = (128, 128)  # the box a thumbnail must fit in


def thumbnail_path(source: Path) -> Path:
    """Where the thumbnail of `source` goes: ``photo.jpg`` -> ``photo.thumb.png``."""
    return source.with_name(f"{source.stem}.thumb.png")


@jobframe.discard_on(FileNotFoundError, UnidentifiedImageError)
class MakeThumbnailJob(jobframe.Job):
    """Shrink an image to fit in `size`, keeping its aspect ratio."""

    queue_as = "images"

    def perform(self, path: Path, *, size: tuple[int, int] = SIZE) -> None:
        with Image.open(path) as image:
            image.thumbnail(size)
            image.save(thumbnail_path(path))
            width, height = image.size
        made = f"{thumbnail_path(path).name} {width}x{height}"
        print(f"  MakeThumbnailJob: {path.name} -> {made}", flush=True)


def draw_photo(path: Path, size: tuple[int, int]) -> Path:
    """A test picture of `size` (two gradients and a disc), saved as JPEG at `path`."""
    down = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    image = Image.merge("RGB", (down, across, Image.new("L", size, 160)))
    width, height = size
    radius = min(size) // 3
    disc = (width // 2 - radius, height // 2 - radius, width // 2 + radius, height // 2 + radius)
    ImageDraw.Draw(image).ellipse(disc, fill="gold")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG")
    return path


def run(sandbox: Sandbox) -> None:
    photos = data_folder() / "photos"
    sources = [
        draw_photo(photos / "landscape.jpg", (1200, 800)),
        draw_photo(photos / "portrait.jpg", (600, 900)),
    ]
    for source in sources:
        with Image.open(source) as image:
            width, height = image.size
        print(f"Drew {source.name} {width}x{height}; perform_later(path, size={SIZE})")
        MakeThumbnailJob.perform_later(source, size=SIZE)

    print("Running `jobframe work cookbook.thumbnails`:", flush=True)
    result = sandbox.work(__name__)

    for source in sources:
        with Image.open(thumbnail_path(source)) as thumb:
            print(f"{thumbnail_path(source).name}: {thumb.size[0]}x{thumb.size[1]} {thumb.format}")
    print(f"Runs: {result.runs}, failed jobs: {result.failed}")
