"""The command table: every command registered by the module it names, and a run imports only
its own command's module (``samples`` and ``--help`` load neither VTK, SciPy's image filters
nor PyTorch)."""
import subprocess
import sys

from VoxelRearrangementLib.cli.commands import COMMANDS
from VoxelRearrangementLib.cli.main import build_parser


def test_every_command_is_registered_by_its_module():
    parser = build_parser()  # every module registers its commands in full
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    for name, (module, _) in COMMANDS.items():
        assert sub.choices[name].get_default("func").__module__.endswith(f"cli.{module}"), name


def test_a_light_command_loads_only_what_it_needs():
    code = ("import sys; from VoxelRearrangementLib.cli.main import main; main(['samples']); "
            "print(sorted(m for m in ('vtkmodules', 'scipy.ndimage', 'torch', 'numba', "
            "'VoxelRearrangementLib.pipeline') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    helped = subprocess.run([sys.executable, "-m", "VoxelRearrangementLib", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and all(name in helped.stdout for name in COMMANDS)
