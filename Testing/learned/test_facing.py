"""The facing check: which way the head faces in the coarse skull's canonical view."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from helpers import fake_skullfix, skull_like  # noqa: E402
from VoxelRearrangementLib import VoxelRearrangementError, read_mask  # noqa: E402
from VoxelRearrangementLib.grids.orientation import Reorientation  # noqa: E402
from VoxelRearrangementLib.grids.resample import downsample_with_values  # noqa: E402
from VoxelRearrangementLib.learned.completion.facing import (  # noqa: E402
    DECISIVE_LOGIT,
    face_logit,
    load_facing_model,
    resolve_face,
)
from VoxelRearrangementLib.learned.completion.facing_train import (  # noqa: E402
    holdout_scores,
    make_samples,
    train_facing,
)
from VoxelRearrangementLib.learned.completion.data import load_cases  # noqa: E402


@pytest.fixture(scope="module")
def coarse069(sample_dir):
    """The sample's defective skull at 128 x 128 x 64 in the canonical view, as the completion
    sees it (case 069: the report split, never trained on)."""
    defective = read_mask(sample_dir / "skull069_defective.nrrd")
    values, _ = downsample_with_values(Reorientation.of(defective.ijk_to_lps).mask(defective))
    return (values > 0.5).astype(np.uint8)


def test_the_bundled_check_tells_a_skull_turned_round(coarse069):
    model = load_facing_model()
    assert face_logit(coarse069, model) < -DECISIVE_LOGIT
    assert face_logit(np.ascontiguousarray(coarse069[:, ::-1]), model) > DECISIVE_LOGIT


def test_resolve_face_asks_the_check_only_for_auto(coarse069, monkeypatch):
    from VoxelRearrangementLib.learned.completion import facing
    assert resolve_face("anterior", coarse069) == ("anterior", None)
    assert resolve_face("posterior", coarse069) == ("posterior", None)
    for logit, side in ((DECISIVE_LOGIT + 0.1, "posterior"), (DECISIVE_LOGIT - 0.1, "anterior"),
                        (-10.0, "anterior")):
        monkeypatch.setattr(facing, "face_logit", lambda coarse, model=None, v=logit: v)
        assert resolve_face("auto", coarse069) == (side, logit)
    with pytest.raises(VoxelRearrangementError, match="unknown face"):
        resolve_face("up", coarse069)


def test_training_makes_the_same_samples_with_any_workers_and_weights_that_load(tmp_path):
    data = fake_skullfix(tmp_path / "data", [skull_like((40, 40, 32 + 2 * k)) for k in range(3)])
    cases = load_cases(data, ["000", "001"], tmp_path / "cache")
    one, two = make_samples(cases, 6, 3, workers=1), make_samples(cases, 6, 3, workers=2)
    assert one.shape == (6, 64, 64, 32) and one.dtype == np.uint8 and one.any()
    assert np.array_equal(one, two)
    out = tmp_path / "facing.pt"
    meta = train_facing(data, out, tmp_path / "cache", train_cases=["000", "001"],
                        holdout_cases=["002"], samples=8, holdout_samples=4, steps=3)
    assert {"accuracy", "decided", "false_turns"} <= set(meta)
    assert meta["samples"] == 8 and meta["holdout_samples"] == 4
    model = load_facing_model(out)
    scores = holdout_scores(model, one)
    assert scores["holdout_samples"] == 6 and 0.0 <= scores["accuracy"] <= 1.0
    with pytest.raises(VoxelRearrangementError, match="at least 1"):
        train_facing(data, out, tmp_path / "cache", samples=0)
    with pytest.raises(VoxelRearrangementError, match="report split"):
        train_facing(data, out, tmp_path / "cache", train_cases=["000", "065"])


def test_a_missing_facing_weights_file_is_named(tmp_path):
    with pytest.raises(VoxelRearrangementError, match="facing weights not found"):
        load_facing_model(tmp_path / "none.pt")
