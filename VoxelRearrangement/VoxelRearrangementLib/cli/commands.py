"""The commands of the command line: each one's module in :mod:`..cli` (whose ``register``
adds its arguments) and its one-line help, so that a run imports only its own command's
module (and what that needs), while ``--help`` still lists every command."""
from __future__ import annotations

import argparse
import importlib
from typing import Dict, Optional, Tuple

#: Command -> (module of this package that registers it, help), in the order ``--help`` shows.
COMMANDS: Dict[str, Tuple[str, str]] = {
    "downsample": ("synthesis", "make the challenge's 128 x 128 x 64 coarse format"),
    "refine": ("synthesis", "bring a coarse mask to full resolution"),
    "build-table": ("synthesis", "learn and save the vote tables of template skulls"),
    "evaluate": ("evaluation", "Dice, HD95, ASSD and smoothness against a reference"),
    "complete": ("completion", "complete a defective skull with the bundled network"),
    "train-completion": ("training", "train the coarse completion network (SkullFix)"),
    "train-facing": ("training", "train the check of which way the head faces (SkullFix)"),
    "train-rearrangement": ("training", "train the learned voxel rearrangement network (SkullFix)"),
    "implant": ("printing", "implant = completed skull minus defective skull, cleaned up"),
    "mesh": ("printing", "mask to a watertight triangle mesh (LPS mm) for printing"),
    "run": ("run", "defective skull -> completed skull, implant, meshes, report (or, with "
                   "--coarse, coarse skull -> refined skull and mesh)"),
    "batch": ("batch", "run on every case of a folder, in parallel on Dask (resumable; "
                       "summary.csv)"),
    "samples": ("samples", "list the bundled sample skulls (CC BY-NC-SA 4.0) and their paths"),
}


def add_command(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    """The parser of command ``name``, with its help (for the modules' ``register``)."""
    return sub.add_parser(name, help=COMMANDS[name][1])


def add_commands(sub: argparse._SubParsersAction, command: Optional[str]) -> None:
    """Every command: the module of ``command`` (None: every module) registers its commands in
    full; the others are listed by name and help only (an unknown ``command``: all of them)."""
    modules = {m for m, _ in COMMANDS.values()} if command is None else \
        {COMMANDS[command][0]} if command in COMMANDS else set()
    for module in dict.fromkeys(m for m, _ in COMMANDS.values()):
        if module in modules:
            importlib.import_module(f".{module}", __package__).register(sub)
    for name, (module, text) in COMMANDS.items():
        if module not in modules:
            sub.add_parser(name, help=text, add_help=False)
