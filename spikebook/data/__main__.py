"""``python -m spikebook.data fetch NAME [NAME ...] [--root DIR]``: fill the data folder; ``where``: show it."""

from __future__ import annotations

import argparse

from spikebook.data.paths import data_root
from spikebook.data.remote import DATASETS, dataset_files, require


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m spikebook.data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch", help="download what is missing of the named datasets, verified")
    fetch.add_argument("names", nargs="+", choices=sorted(DATASETS), metavar="NAME",
                       help=f"one of {', '.join(sorted(DATASETS))}")
    fetch.add_argument("--root", default=None, help="data folder (default: SPIKEBOOK_DATA, shared/data, cache)")
    where = commands.add_parser("where", help="print the data folder and what it holds")
    where.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    if args.command == "fetch":
        for name in args.names:
            print(f"{name}: {len(dataset_files(name))} files in {require(name, args.root)}")
    else:
        root = data_root(args.root)
        print(root)
        for name in DATASETS:
            keys = dataset_files(name)
            print(f"  {name}: {sum((root / k).is_file() for k in keys)} of {len(keys)} files")


if __name__ == "__main__":
    main()
