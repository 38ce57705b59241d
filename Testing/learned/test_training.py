"""The training loop both networks share: each sample drawn with its own generator, so worker
processes make the very samples the loop would make itself."""
import numpy as np
import pytest

pytest.importorskip("torch")

from VoxelRearrangementLib.learned.training import EpochSamples, TrainingTask, _samples  # noqa: E402


def _task():
    def sample(index, rng):
        x = rng.random((1, 1, 4, 4, 2)).astype(np.float32) + index
        return x, (x > 0.5).astype(np.float32)
    return TrainingTask(file_format="test", new_model=None, steps_per_epoch=7, sample=sample,
                        loss=None, evaluate=None, score_key="score")


def test_workers_make_the_samples_the_loop_makes_itself():
    task = _task()
    order = np.random.default_rng([0, 3]).permutation(task.steps_per_epoch)
    here = list(_samples(task, 0, 3, order, 0))
    ahead = list(_samples(task, 0, 3, order, 2))
    assert len(here) == len(ahead) == 7
    for (a, b), (c, d) in zip(here, ahead):
        assert isinstance(c, np.ndarray) and np.array_equal(a, c) and np.array_equal(b, d)
    # a sample depends on the seed, the epoch and its index, not on what was drawn before it
    alone = EpochSamples(task, 0, 3, order[::-1].copy())
    assert np.array_equal(alone[len(order) - 1][0], here[0][0])
    assert not np.array_equal(EpochSamples(task, 0, 4, order)[0][0], here[0][0])
