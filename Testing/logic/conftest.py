"""The Slicer module's folder on ``sys.path``, as Slicer puts it for scripted modules, so
``VoxelRearrangementLogicCore`` imports as it does inside Slicer."""
import sys
from pathlib import Path

MODULE_DIR = Path(__file__).resolve().parents[2] / "VoxelRearrangement"
if str(MODULE_DIR) not in sys.path:
    sys.path.insert(0, str(MODULE_DIR))
