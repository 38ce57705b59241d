"""The worker protocol: progress and error lines, exit codes, the files of ``run``."""
from VoxelRearrangementLib.cli import protocol


def test_progress_lines_round_trip_and_are_clamped():
    line = protocol.format_progress(0.42, "building pyramid")
    assert line == "PROGRESS 0.420 building pyramid"
    assert protocol.parse_progress(line) == (0.42, "building pyramid")
    assert protocol.parse_progress("PROGRESS 1.5 over") == (1.0, "over")
    assert protocol.parse_progress("PROGRESS x y") is None
    assert protocol.parse_progress("a log line") is None


def test_error_lines():
    assert protocol.parse_error("error: the mask is empty") == "the mask is empty"
    assert protocol.parse_error("warning: something") is None


def test_exit_codes_and_output_names():
    assert [int(c) for c in protocol.ExitCode] == [0, 2, 3, 4]
    complete = protocol.run_outputs("complete", render=True)
    assert protocol.RENDER in complete and protocol.IMPLANT_STL in complete
    assert protocol.RENDER not in protocol.run_outputs("complete", render=False)
    assert protocol.REPORT_HTML in complete
    assert protocol.run_outputs("refine", render=True) == [protocol.REFINED, protocol.SKULL_STL,
                                                           protocol.REPORT, protocol.REPORT_HTML]
