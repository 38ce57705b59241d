"""The SkullFix data set on disk: case lists."""
from VoxelRearrangementLib.io.skullfix import parse_cases


def test_parse_cases():
    assert parse_cases("000-002,010") == ["000", "001", "002", "010"]
