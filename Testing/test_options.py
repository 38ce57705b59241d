"""The pipeline's options: one dataclass, the same on the command line and in the worker's
command line the Slicer Logic builds."""
import argparse

import pytest

from VoxelRearrangementLib import PipelineOptions, VoxelRearrangementError
from VoxelRearrangementLib import options as pipeline_options


def parse(argv):
    parser = argparse.ArgumentParser()
    pipeline_options.add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_give_an_empty_command_line_and_back():
    assert PipelineOptions().to_argv() == []
    assert pipeline_options.from_arguments(parse([]), "complete") == PipelineOptions()


def test_every_option_round_trips_through_the_command_line():
    options = PipelineOptions(mode="refine", method="kdtree", templates=("a.nrrd", "b.nrrd"),
                              device="cpu", weights="w.pt", workers=3, hamming_radius=1,
                              opening_mm=0.5, smoothing=0.2, render=False,
                              reference_grid="grid.nrrd")
    argv = options.to_argv()
    assert argv.count("--template") == 2 and "--no-render" in argv
    assert pipeline_options.from_arguments(parse(argv), "refine") == options
    run = pipeline_options.run_argv("in.nrrd", "out", options)
    assert run[:5] == ["run", "--coarse", "in.nrrd", "--output-dir", "out"]
    completing = PipelineOptions(face="posterior", clearance_mm=0.5)
    assert completing.to_argv() == ["--clearance-mm", "0.5", "--face", "posterior"]
    assert PipelineOptions().face == "auto"
    assert pipeline_options.from_arguments(parse(completing.to_argv()), "complete") == completing


def test_bad_choices_are_named():
    for kwargs, message in ((dict(method="bicubic"), "unknown method"),
                            (dict(device="tpu"), "unknown device"),
                            (dict(mode="fix"), "unknown mode"),
                            (dict(reference_grid="g.nrrd"), "only used when refining"),
                            (dict(face="behind"), "unknown face"),
                            (dict(mode="refine", face="posterior"), "only used when completing")):
        with pytest.raises(VoxelRearrangementError, match=message):
            PipelineOptions(**kwargs)
