"""Command line: ``python -m VoxelRearrangementLib <command> ...`` (also the Slicer worker).

:mod:`.main` (entry point), :mod:`.commands` (each command's module and help: a run imports
its own command's module only), :mod:`.protocol` (progress and error lines, exit codes, output
file names), and one module per command group: :mod:`.synthesis` (``downsample``, ``refine``,
``build-table``), :mod:`.evaluation` (``evaluate``), :mod:`.completion` (``complete``),
:mod:`.training` (``train-completion``, ``train-rearrangement``), :mod:`.printing`
(``implant``, ``mesh``), :mod:`.run` (``run``, the end-to-end pipeline) and :mod:`.batch`
(``batch``: ``run`` over a folder of cases, on Dask); :mod:`.samples` (``samples``: the bundled
sample skulls).
"""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
