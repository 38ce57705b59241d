"""Bad input, interruption and misuse, as a careful tester tries them: every failure is an
``error:`` line with exit status 2 (or ``cancelled:`` with 3), fast, with the inputs and the
output folder exactly as they were (checksums), no partial outputs, no temporary files.

Numbered as the items of the issue that reported them (issue 11)."""
import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import nrrd
import numpy as np
import pytest

from helpers import defective_of, failed_cleanly, run_cli, skull_like
from VoxelRearrangementLib import (
    Mask,
    PipelineOptions,
    VoxelRearrangementError,
    downsample,
    read_mask,
    refine,
    write_mask,
)
from VoxelRearrangementLib.synthesis.baselines import nearest


def snapshot(*folders: Path) -> dict:
    """Every file below ``folders`` with its SHA-256 (hidden files included)."""
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.is_dir():
                out[str(p)] = "dir"
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A plausible small skull (5 mm voxels, 180 mm across), its defective version and implant,
    its coarse format, and a user folder with files of the same names as run's outputs."""
    folder = tmp_path_factory.mktemp("inputs")
    skull, implant = skull_like()
    paths = {
        "skull": write_mask(folder / "skull.nrrd", skull),
        "defective": write_mask(folder / "defective.nrrd", defective_of(skull, implant)),
        "implant": write_mask(folder / "implant.nrrd", implant),
        "coarse": write_mask(folder / "coarse.nrrd", downsample(skull, (32, 32, 16))),
    }
    return paths


@pytest.fixture
def user_folder(tmp_path):
    folder = tmp_path / "U"
    folder.mkdir()
    (folder / "implant.nrrd").write_bytes(b"the user's own implant file")
    (folder / "notes.txt").write_text("keep me")
    return folder


def assert_untouched(before: dict, *folders: Path) -> None:
    assert snapshot(*folders) == before


# --- 1. a failed or interrupted run leaves the output folder as it was -------------------------

def test_1_failed_run_leaves_the_users_folder_alone(files, user_folder):
    before = snapshot(user_folder.parent)
    failed_cleanly(run_cli("run", "--defective", files["defective"], "--output-dir", user_folder,
                           "--smoothing", "5"), "--smoothing", "1")
    assert_untouched(before, user_folder.parent)


def _interactive_signals() -> None:
    """In the child: SIGINT as in a terminal. A test suite started in the background (``cmd &``,
    nohup) hands its children SIGINT ignored, and a program rightly keeps an inherited ignore."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="module")
def finer_defective(tmp_path_factory):
    """A defective skull on a 1.25 mm grid (3.3 M voxels): its meshing takes a few seconds, so
    a signal sent when the meshing starts arrives well before the run ends."""
    skull, implant = skull_like((160, 160, 128), spacing=(1.25, 1.25, 1.25))
    return write_mask(tmp_path_factory.mktemp("finer") / "defective.nrrd", defective_of(skull, implant))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_1_interrupted_run_ends_as_cancelled_and_leaves_nothing(finer_defective, user_folder, signum):
    pytest.importorskip("torch", reason="run --defective needs the [learn] extra (PyTorch)")
    before = snapshot(user_folder.parent)
    proc = subprocess.Popen([sys.executable, "-m", "VoxelRearrangementLib", "run", "--defective",
                             str(finer_defective), "--output-dir", str(user_folder),
                             "--method", "trilinear"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_interactive_signals)
    for line in proc.stdout:  # wait until the run is writing and meshing
        if line.startswith("PROGRESS") and float(line.split()[1]) >= 0.7:
            break
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert err.startswith("cancelled:") and "Traceback" not in err
    assert_untouched(before, user_folder.parent)


# --- 2. an output is never an input -------------------------------------------------------------

def test_2_output_equal_to_input_is_refused(files, tmp_path):
    folder = files["skull"].parent
    before = snapshot(folder)
    failed_cleanly(run_cli("refine", "--coarse", files["coarse"], "--output", files["coarse"],
                           "--method", "trilinear"), "input")
    failed_cleanly(run_cli("complete", "--defective", files["defective"], "--output",
                           files["defective"]), "input")
    failed_cleanly(run_cli("implant", "--complete", files["skull"], "--defective",
                           files["defective"], "--output", files["defective"]), "input")
    failed_cleanly(run_cli("mesh", "--input", files["skull"], "--output", tmp_path / "s.stl",
                           "--report", files["skull"]), "input")
    assert_untouched(before, folder)
    out = tmp_path / "OUT"
    out.mkdir()
    completed = write_mask(out / "completed.nrrd", read_mask(files["defective"]))
    before = snapshot(out)
    failed_cleanly(run_cli("run", "--defective", completed, "--output-dir", out), "input")
    assert_untouched(before, out)


# --- 3. the target grid is checked before it is allocated --------------------------------------

def test_3_a_full_resolution_mask_given_as_coarse_is_refused_at_once(sample_dir, tmp_path):
    t = time.monotonic()
    failed_cleanly(run_cli("refine", "--coarse", sample_dir / "skull069_complete.nrrd",
                           "--output", tmp_path / "r.nrrd", "--method", "trilinear"),
                   "2048 x 2048 x 944", "coarse")
    assert time.monotonic() - t < 30
    assert not list(tmp_path.iterdir())


# --- 4. parameters are bounded ------------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (["implant", "--opening-mm", "50"], ["--opening-mm", "from 0.0 to 3.0"]),
    (["implant", "--smoothing-mm", "500"], ["--smoothing-mm", "from 0.0 to 5.0"]),
    (["refine", "--hamming-radius", "30"], ["--hamming-radius", "from 0 to 3"]),
])
def test_4_unbounded_parameters_are_refused_before_any_work(files, tmp_path, argv, words):
    command, *options = argv
    inputs = {"implant": ["--complete", files["skull"], "--defective", files["defective"]],
              "refine": ["--coarse", files["coarse"]]}[command]
    t = time.monotonic()
    failed_cleanly(run_cli(command, *inputs, *options, "--output", tmp_path / "o.nrrd"), *words)
    assert time.monotonic() - t < 20 and not list(tmp_path.iterdir())


# --- 5. no tracebacks -----------------------------------------------------------------------------

def test_5_bad_output_places_and_grids_are_errors_not_tracebacks(files, sample_dir, tmp_path):
    existing = tmp_path / "a_file"
    existing.write_text("x")
    failed_cleanly(run_cli("run", "--defective", files["defective"], "--output-dir", existing),
                   "existing file")
    failed_cleanly(run_cli("run", "--defective", files["defective"], "--output-dir",
                           "/proc/voxelrearrangement-out"), "/proc")
    failed_cleanly(run_cli("refine", "--coarse", files["coarse"], "--method", "trilinear",
                           "--output", tmp_path / "r.nrrd", "--report", tmp_path / "no" / "r.json"),
                   "does not exist")
    assert not (tmp_path / "r.nrrd").exists()
    failed_cleanly(run_cli("evaluate", "--prediction", files["skull"], "--reference",
                           files["skull"], "--json", tmp_path / "no" / "m.json"), "does not exist")
    flat = tmp_path / "flat.nrrd"
    nrrd.write(str(flat), np.ones((20, 20), np.uint8))
    failed_cleanly(run_cli("refine", "--coarse", files["coarse"], "--method", "trilinear",
                           "--output", tmp_path / "r.nrrd", "--reference-grid", flat), "3D")


# --- 6. the Python API takes binary masks only --------------------------------------------------

def test_6_api_rejects_masks_that_are_not_binary(files, tmp_path):
    coarse = read_mask(files["coarse"])
    for values, word in ((coarse.array * 255, "255"), (coarse.array * 7, "7"),
                         (coarse.array * 0.5, "0.5"),
                         (np.where(coarse.array > 0, np.nan, 0.0), "finite")):
        bad = Mask(values, coarse.ijk_to_lps)
        with pytest.raises(VoxelRearrangementError, match=word):
            refine(bad, "trilinear")
        with pytest.raises(VoxelRearrangementError, match=word):
            write_mask(tmp_path / "bad.nrrd", bad)
    assert not (tmp_path / "bad.nrrd").exists()
    as_float = Mask(coarse.array.astype(np.float64), coarse.ijk_to_lps)
    assert nearest(as_float, coarse.grid).dtype == np.uint8
    assert refine(as_float, "nearest").mask.array.dtype == np.uint8


# --- 7. plausibility: does it look like a skull? --------------------------------------------------

def test_7_things_that_are_not_skulls_are_refused(files, tmp_path):
    m = read_mask(files["skull"]).ijk_to_lps
    voxel = np.zeros((40, 40, 32), np.uint8)
    voxel[20, 20, 16] = 1
    single = write_mask(tmp_path / "voxel.nrrd", Mask(voxel, m))
    failed_cleanly(run_cli("run", "--defective", single, "--output-dir", tmp_path / "o"),
                   "does not look like a skull")
    tiny = write_mask(tmp_path / "tiny.nrrd", Mask(np.ones((3, 3, 3), np.uint8), np.eye(4)))
    failed_cleanly(run_cli("complete", "--defective", tiny, "--output", tmp_path / "c.nrrd"),
                   "does not look like a skull")
    empty = write_mask(tmp_path / "empty.nrrd", Mask(np.zeros((40, 40, 32), np.uint8), m))
    failed_cleanly(run_cli("implant", "--complete", files["skull"], "--defective", empty,
                           "--output", tmp_path / "i.nrrd"), "empty")
    idx = np.indices((40, 40, 32)) - np.array([19.5, 19.5, 15.5]).reshape(3, 1, 1, 1)
    ball = write_mask(tmp_path / "ball.nrrd",
                      Mask((np.sqrt((idx ** 2).sum(0)) < 14).astype(np.uint8), m))
    failed_cleanly(run_cli("refine", "--coarse", files["coarse"], "--method", "hash",
                           "--template", ball, "--output", tmp_path / "r.nrrd"),
                   "does not look like a skull")
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".nrrd" and p.stem in "cir"]


# --- 8. a solid "completed skull" ---------------------------------------------------------------

def test_8_a_solid_completed_skull_is_refused_at_once(files, tmp_path):
    defective = read_mask(files["defective"])
    solid = write_mask(tmp_path / "solid.nrrd", Mask(np.ones_like(defective.array),
                                                      defective.ijk_to_lps))
    t = time.monotonic()
    failed_cleanly(run_cli("implant", "--complete", solid, "--defective", files["defective"],
                           "--output", tmp_path / "i.nrrd"), "does not look like a skull")
    assert time.monotonic() - t < 20


# --- 9. signals during a single-file command ------------------------------------------------------

def test_9_sigterm_during_refine_leaves_no_temporary_file(sample_dir, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "VoxelRearrangementLib", "refine", "--coarse",
                             str(sample_dir / "skull069_coarse.nrrd"), "--method", "kdtree",
                             "--output", str(tmp_path / "r.nrrd")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("PROGRESS") and "level" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3 and err.startswith("cancelled:"), err
    assert list(tmp_path.iterdir()) == []


# --- 10. checks come first ------------------------------------------------------------------------

def test_10_checks_come_before_any_work_or_side_effect(files, tmp_path):
    failed_cleanly(run_cli("run", "--defective", files["defective"], "--output-dir",
                           tmp_path / "new", "--workers", "0"), "--workers")
    assert not (tmp_path / "new").exists()
    failed_cleanly(run_cli("complete", "--defective", files["defective"], "--output",
                           tmp_path / "c.nrrd", "--probabilities", tmp_path / "no" / "p.nrrd"),
                   "does not exist")
    assert not (tmp_path / "c.nrrd").exists()
    for argv in (["--method", "magic"], ["--workers", "-3"], ["--device", "tpu"]):
        t = time.monotonic()
        proc = run_cli("refine", "--coarse", files["coarse"], "--output", tmp_path / "r.nrrd", *argv)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert time.monotonic() - t < 8


# --- 11. run takes a segment --------------------------------------------------------------------

def test_11_run_chooses_a_segment_of_a_multi_segment_file(files, tmp_path):
    defective = read_mask(files["defective"])
    data = defective.array.astype(np.uint8) + 2 * read_mask(files["implant"]).array
    header = {"space": "left-posterior-superior", "space directions": defective.ijk_to_lps[:3, :3].T,
              "space origin": defective.ijk_to_lps[:3, 3], "kinds": ["domain"] * 3}
    for n, (name, label) in enumerate((("skull", 1), ("implant", 2))):
        header.update({f"Segment{n}_ID": name, f"Segment{n}_Name": name,
                       f"Segment{n}_LabelValue": str(label), f"Segment{n}_Layer": "0"})
    two = tmp_path / "two.seg.nrrd"
    nrrd.write(str(two), data, header)
    failed_cleanly(run_cli("run", "--defective", two, "--output-dir", tmp_path / "o"), "--segment")
    failed_cleanly(run_cli("run", "--defective", two, "--segment", "nope", "--output-dir",
                           tmp_path / "o"), "nope")
    assert not (tmp_path / "o").exists()


# --- 12. nonsense values ------------------------------------------------------------------------

def test_12_nonsense_values_are_named(files, tmp_path):
    coarse = ["refine", "--coarse", files["coarse"], "--output", tmp_path / "r.nrrd"]
    failed_cleanly(run_cli(*coarse, "--hamming-radius", "-1"), "--hamming-radius")
    failed_cleanly(run_cli(*coarse, "--hamming-margin", "nan"), "--hamming-margin")
    failed_cleanly(run_cli(*coarse, "--offset-bins", "2"), "--offset-bins")
    failed_cleanly(run_cli("implant", "--complete", files["skull"], "--defective",
                           files["defective"], "--output", tmp_path / "i.nrrd",
                           "--min-component-ml", "nan"), "--min-component-ml")
    skull = read_mask(files["skull"])
    header = {"space": "left-posterior-superior", "space directions": skull.ijk_to_lps[:3, :3].T,
              "space origin": skull.ijk_to_lps[:3, 3], "kinds": ["domain"] * 3,
              "Segment0_ID": "skull", "Segment0_Name": "skull", "Segment0_LabelValue": "3",
              "Segment0_Layer": "0"}
    absent = tmp_path / "absent.seg.nrrd"
    nrrd.write(str(absent), skull.array, header)
    failed_cleanly(run_cli("downsample", "--input", absent, "--output", tmp_path / "d.nrrd"),
                   "label 3")
    img = nib.Nifti1Image(skull.array, np.diag([5.0, 5.0, 5.0, 1.0]))
    img.header["pixdim"][1:4] = [0.0, 5.0, 5.0]
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    zero = tmp_path / "zero.nii.gz"
    nib.save(img, str(zero))
    failed_cleanly(run_cli("downsample", "--input", zero, "--output", tmp_path / "d.nrrd"),
                   "voxel size")
    assert not list(p for p in tmp_path.iterdir() if p.name in ("r.nrrd", "i.nrrd", "d.nrrd"))


def test_options_hold_their_bounds_in_the_api_too():
    for kwargs, word in ((dict(opening_mm=50), "opening"), (dict(hamming_radius=-1), "hamming"),
                         (dict(workers=0), "workers"), (dict(smoothing=float("nan")), "smoothing")):
        with pytest.raises(VoxelRearrangementError, match=word):
            PipelineOptions(**kwargs)
