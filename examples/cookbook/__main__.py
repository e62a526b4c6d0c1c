"""``python -m cookbook RECIPE [--folder DIR]``: run a recipe (or ``all``) against a real worker."""

from __future__ import annotations

import argparse
import importlib
import tempfile
from pathlib import Path

from cookbook.sandbox import Sandbox

RECIPES = (
    "global_ids",
    "thumbnails",
    "scheduled_report",
    "bulk_import",
    "flaky_http",
    "recurring_tasks",
    "long_import",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cookbook", description=__doc__)
    parser.add_argument("recipe", choices=[*RECIPES, "all"])
    parser.add_argument(
        "--folder",
        type=Path,
        help="keep the databases and files in DIR/RECIPE (default: a temporary folder)",
    )
    args = parser.parse_args(argv)
    for recipe in RECIPES if args.recipe == "all" else (args.recipe,):
        if args.folder is not None:
            cook(recipe, args.folder / recipe)
            continue
        with tempfile.TemporaryDirectory(prefix=f"cookbook-{recipe}-") as tmp:
            cook(recipe, Path(tmp))


def cook(recipe: str, folder: Path) -> None:
    """Run one recipe in a fresh sandbox in `folder`."""
    module = importlib.import_module(f"cookbook.{recipe}")
    print(f"== {recipe}: {(module.__doc__ or recipe).splitlines()[0]}", flush=True)
    with Sandbox(folder) as sandbox:
        module.run(sandbox)
    print(flush=True)


if __name__ == "__main__":
    main()
