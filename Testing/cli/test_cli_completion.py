"""``complete`` and ``run`` (the end-to-end pipeline, both modes) on the command line, with
tiny networks."""
import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import defective_of, network_coarse, skull_like  # noqa: E402
from VoxelRearrangementLib import (  # noqa: E402
    Mask,
    VoxelRearrangementError,
    defect_coverage,
    downsample,
    read_mask,
    write_mask,
)
from VoxelRearrangementLib.cli import main, protocol  # noqa: E402
from VoxelRearrangementLib.evaluation.metrics import dice  # noqa: E402
from VoxelRearrangementLib.learned.completion import inference  # noqa: E402


def test_complete_command_writes_coarse_result(tmp_path, tiny_completion_weights):
    skull, implant = skull_like()
    path = write_mask(tmp_path / "d.nrrd", defective_of(skull, implant))
    assert main(["complete", "--defective", str(path), "--output", str(tmp_path / "c.nrrd"),
                 "--probabilities", str(tmp_path / "p.nrrd"),
                 "--weights", str(tiny_completion_weights), "--device", "cpu"]) == 0
    out = read_mask(tmp_path / "c.nrrd")
    assert out.array.shape == (128, 128, 64)
    assert np.allclose(out.ijk_to_lps, network_coarse(defective_of(skull, implant)).ijk_to_lps)
    assert main(["complete", "--defective", str(path), "--output", str(tmp_path / "full.nrrd"),
                 "--weights", str(tiny_completion_weights), "--device", "cpu",
                 "--refine", "trilinear"]) == 0
    full = read_mask(tmp_path / "full.nrrd")  # back on the defective skull's own grid
    assert full.array.shape == skull.array.shape and np.allclose(full.ijk_to_lps, skull.ijk_to_lps)
    assert main(["complete", "--defective", str(path), "--output", str(tmp_path / "c2.nrrd"),
                 "--weights", str(tmp_path / "none.pt")]) == protocol.ExitCode.BAD_INPUT
    assert not (tmp_path / "c2.nrrd").exists()


@pytest.fixture
def oracle_completion(monkeypatch):
    """``complete_skull`` returning the true coarse skull of the case being run (fast, exact)."""
    truth = {}
    real = inference.complete_skull

    def oracle(d, *a, **k):
        res = real(d, *a, **k)
        return dataclasses.replace(res, mask=downsample(truth["skull"]))

    monkeypatch.setattr(inference, "complete_skull", oracle)
    return truth


def run_on_a_small_skull(tmp_path, oracle_completion, weights, *flags):
    """``run`` (trilinear refinement; the oracle completion keeps it fast) on a small
    skull-like case: ``(defective, true implant, output folder)``."""
    skull, implant = skull_like((64, 64, 48), spacing=(3.2, 3.2, 4.2))
    oracle_completion["skull"] = skull
    defective = defective_of(skull, implant)
    path = write_mask(tmp_path / "defective.nrrd", defective)
    out = tmp_path / "out"
    assert main(["run", "--defective", str(path), "--method", "trilinear", "--output-dir",
                 str(out), "--weights", str(weights), "--device", "cpu", *flags]) == 0
    return defective, implant, out


def test_run_writes_every_file_of_the_complete_mode(tmp_path, oracle_completion,
                                                    tiny_completion_weights):
    """The end-to-end plumbing (trilinear refinement; the oracle completion keeps it fast)."""
    defective, implant, out = run_on_a_small_skull(tmp_path, oracle_completion,
                                                   tiny_completion_weights)
    names = protocol.run_outputs("complete", render=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"
    report = json.loads((out / protocol.REPORT).read_text())
    assert report["mode"] == "complete" and report["files"] == names
    assert list(report)[0] == "summary" and report["summary"]["implant"]["pieces"] >= 1
    assert report["fit"]["rim_gap_mm"] >= report["fit"]["clearance_mm"] - 0.1
    page = (out / protocol.REPORT_HTML).read_text()
    assert page.count("data:image/png;base64,") == 2 and "PRINTABLE" in page
    assert report["implant"]["watertight"] and report["skull"]["watertight"]
    assert report["defect_coverage"]["closed_fraction"] > 0.9
    got = read_mask(out / protocol.IMPLANT)
    assert np.allclose(got.ijk_to_lps, defective.ijk_to_lps)
    assert dice(got.array, implant.array) > 0.6
    # no implant, no coverage
    none = defect_coverage(defective, Mask(np.zeros_like(defective.array), defective.ijk_to_lps))
    assert none["defect_rays"] > 0 and none["closed_fraction"] == 0.0


def test_the_skull_mesh_shows_what_the_safety_net_added(tmp_path, oracle_completion,
                                                        tiny_completion_weights, monkeypatch):
    """The skull is meshed from the moment it is completed; when the safety net patches it
    afterwards, that mesh is dropped and the patched skull meshed instead."""
    from VoxelRearrangementLib.printing import openings
    real = openings.close_openings

    def with_a_patch(d, i, **kw):
        fixed, report = real(d, i, **kw)
        array = fixed.array.copy()
        array[:12, :12, :8] = 1  # a block away from the bone
        return Mask(array, fixed.ijk_to_lps), {**report, "added_ml": report["added_ml"] + 1.0}

    monkeypatch.setattr(openings, "close_openings", with_a_patch)
    defective, _, out = run_on_a_small_skull(tmp_path, oracle_completion, tiny_completion_weights)
    assert not defective.array[:12, :12, :8].any()
    report = json.loads((out / protocol.REPORT).read_text())
    completed = read_mask(out / protocol.COMPLETED)
    assert completed.array[:12, :12, :8].all()
    block_ml = 12 * 12 * 8 * 3.2 * 3.2 * 4.2 / 1000
    assert abs(report["skull"]["volume_ml"] - completed.volume_ml) < 0.2 * block_ml


def test_the_skull_drops_what_the_safety_net_dropped_as_stray(tmp_path, oracle_completion,
                                                             tiny_completion_weights, monkeypatch):
    """A piece of the implant dropped as stray (it closed nothing) is off the completed skull
    too, and the report says how much was dropped."""
    from VoxelRearrangementLib.printing import openings
    real = openings.close_openings
    dropped = {}

    def dropping_a_piece(d, i, **kw):
        fixed, report = real(d, i, **kw)
        array = fixed.array.copy()
        piece = np.argwhere(array)[:50]
        array[tuple(piece.T)] = 0
        dropped["voxels"] = piece
        return Mask(array, fixed.ijk_to_lps), {**report, "stray_dropped_ml": 0.5}

    monkeypatch.setattr(openings, "close_openings", dropping_a_piece)
    _, _, out = run_on_a_small_skull(tmp_path, oracle_completion, tiny_completion_weights)
    completed = read_mask(out / protocol.COMPLETED)
    assert not completed.array[tuple(dropped["voxels"].T)].any()
    assert json.loads((out / protocol.REPORT).read_text())["safety_net"]["stray_dropped_ml"] == 0.5


def test_run_face_posterior_reaches_the_network_the_safety_net_and_the_coverage(
        tmp_path, oracle_completion, tiny_completion_weights, monkeypatch):
    """``run --face posterior``: the completion, the safety net and the reported coverage are
    each told, and the summary says so; the outputs stay on the input's grid."""
    from VoxelRearrangementLib.evaluation import closure
    from VoxelRearrangementLib.printing import openings
    told = {}

    def spy(module, name):
        real = getattr(module, name)

        def recording(*a, **k):
            told[name] = k.get("face", k.get("face_posterior"))
            return real(*a, **k)
        monkeypatch.setattr(module, name, recording)

    spy(inference, "complete_skull")
    spy(openings, "close_openings")
    spy(closure, "defect_coverage")
    defective, _, out = run_on_a_small_skull(tmp_path, oracle_completion, tiny_completion_weights,
                                             "--face", "posterior", "--no-render")
    assert told == {"complete_skull": "posterior", "close_openings": True, "defect_coverage": True}
    report = json.loads((out / protocol.REPORT).read_text())
    assert report["face"] == {"asked": "posterior", "used": "posterior"}
    assert "posterior, as asked" in report["summary"]["run"]["face"]
    assert np.allclose(read_mask(out / protocol.IMPLANT).ijk_to_lps, defective.ijk_to_lps)


def test_run_refines_a_coarse_skull_in_one_process(tmp_path):
    skull, _ = skull_like((64, 64, 48), spacing=(3.2, 3.2, 4.2))
    coarse = write_mask(tmp_path / "coarse.nrrd", downsample(skull, (32, 32, 24)))
    grid = write_mask(tmp_path / "grid.nrrd", skull)
    out = tmp_path / "out"
    assert main(["run", "--coarse", str(coarse), "--reference-grid", str(grid), "--method",
                 "trilinear", "--output-dir", str(out), "--smoothing", "0"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(protocol.run_outputs("refine", True))
    refined = read_mask(out / protocol.REFINED)
    assert refined.grid.same_as(skull.grid)
    report = json.loads((out / protocol.REPORT).read_text())
    assert report["mode"] == "refine" and report["skull"]["watertight"]
    assert report["target_shape"] == list(skull.array.shape)


def test_run_never_writes_over_its_input(tmp_path):
    skull, _ = skull_like((64, 64, 48), spacing=(3.2, 3.2, 4.2))
    out = tmp_path / "out"
    out.mkdir()
    coarse = write_mask(out / protocol.REFINED, downsample(skull, (32, 32, 24)))
    before = coarse.read_bytes()
    assert main(["run", "--coarse", str(coarse), "--method", "trilinear",
                 "--output-dir", str(out)]) == protocol.ExitCode.BAD_INPUT
    assert coarse.read_bytes() == before and sorted(out.iterdir()) == [coarse]
    with pytest.raises(VoxelRearrangementError, match="input"):
        from VoxelRearrangementLib import PipelineOptions, run_pipeline
        run_pipeline(coarse, out, PipelineOptions(mode="refine", method="trilinear"))
