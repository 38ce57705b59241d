"""The dependencies are declared once and agree: pyproject.toml (the library's ranges), the
Slicer module's ``Resources/requirements.txt`` (what Slicer must add to its own Python), the
constraints file (exact pins for development and CI) and what the Lib and LogicCore import."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

from helpers import MODULE_DIR, ROOT
from VoxelRearrangementLib.cli.protocol import ExitCode
from VoxelRearrangementLogicCore.requirements import missing_requirements, read_requirements

#: import name -> distribution, for every third-party package the code imports. A new import
#: fails the test below until it is declared here and in pyproject.toml.
DISTRIBUTIONS = {
    "numpy": "numpy", "scipy": "scipy", "nrrd": "pynrrd", "nibabel": "nibabel", "vtk": "vtk",
    "vtkmodules": "vtk", "numba": "numba", "slicerio": "slicerio", "torch": "torch",
    "matplotlib": "matplotlib", "dask": "dask", "distributed": "dask", "psutil": "psutil",
}
#: Provided by the host: Slicer itself (LogicCore runs there, or on slicer-core in tests).
HOST = {"slicer", "VoxelRearrangementLib", "VoxelRearrangementLogicCore"}
#: What Slicer bundles: not in Resources/requirements.txt.
SLICER_BUNDLES = {"numpy", "vtk"}
#: Optional imports, each guarded (imported inside the function that needs it) -> its extra.
OPTIONAL = {"torch": "learn", "matplotlib": "render", "dask": "batch", "distributed": "batch",
            "psutil": None}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def name_of(requirement: str) -> str:
    return requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].split(";")[0].strip().lower()


def imported_packages(folder: Path) -> set:
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - HOST - {"__future__"}


def test_every_import_of_the_lib_and_logic_core_is_a_declared_dependency():
    core = {name_of(r) for r in project()["dependencies"]}
    extras = {extra: {name_of(r) for r in reqs} for extra, reqs in project()["optional-dependencies"].items()}
    for folder in (MODULE_DIR / "VoxelRearrangementLib", MODULE_DIR / "VoxelRearrangementLogicCore"):
        imported = imported_packages(folder)
        unknown = imported - set(DISTRIBUTIONS)
        assert not unknown, f"{folder.name} imports {sorted(unknown)}: declare them (pyproject.toml, this test)"
        for name in imported:
            dist = DISTRIBUTIONS[name]
            if name in OPTIONAL:
                extra = OPTIONAL[name]
                assert extra is None or dist in extras[extra], f"{dist} missing from the [{extra}] extra"
            else:
                assert dist in core, f"{folder.name} imports {name}: add {dist} to [project] dependencies"


def test_slicer_requirements_are_the_core_dependencies_slicer_does_not_bundle():
    core = {name_of(r): r for r in project()["dependencies"]}
    slicer = {name_of(r): r for r in read_requirements(MODULE_DIR / "Resources" / "requirements.txt")}
    assert set(slicer) == set(core) - SLICER_BUNDLES
    for name, requirement in slicer.items():
        assert requirement.replace(" ", "") == core[name].replace(" ", ""), (
            f"{name}: requirements.txt says {requirement!r}, pyproject.toml {core[name]!r}")


def test_the_slicer_module_asks_for_the_torch_of_the_learn_extra():
    learn = [r for r in project()["optional-dependencies"]["learn"] if name_of(r) == "torch"]
    text = (MODULE_DIR / "VoxelRearrangement.py").read_text()
    assert f'TORCH_REQUIREMENT = "{learn[0][len("torch"):]}"' in text


def test_the_constraints_pin_every_dependency_within_its_range():
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.split(";")[0].strip()
    requirements = list(project()["dependencies"]) + [
        r for extra, reqs in project()["optional-dependencies"].items() if extra != "dev"
        for r in reqs]
    for requirement in requirements:
        name = name_of(requirement)
        assert name in pins, f"{name} is not pinned in requirements/constraints.txt"
    assert pins["torch"] == "2.13.0"


def test_missing_requirements_reads_installed_versions():
    assert missing_requirements(["numpy>=1.0", "scipy"]) == []
    assert missing_requirements(["numpy>=999"]) == ["numpy>=999"]
    assert missing_requirements(["no-such-distribution-here>=1"]) == ["no-such-distribution-here>=1"]


def test_read_requirements_rejects_what_it_cannot_check(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("# comment\nscipy>=1.11  # why\n\nnumba\n")
    assert read_requirements(path) == ["scipy>=1.11", "numba"]
    path.write_text("scipy~=1.11\n")
    with pytest.raises(ValueError, match="scipy~=1.11"):
        read_requirements(path)


BLOCK = "import sys\nfor name in {names!r}: sys.modules[name] = None\n"


def run_without(packages, args, cwd):
    code = BLOCK.format(names=list(packages)) + (
        "from VoxelRearrangementLib.cli import main\nsys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_the_base_install_refines_without_any_optional_package(tmp_path, sample_dir):
    """Template synthesis with none of torch, matplotlib, dask, psutil importable."""
    proc = run_without(OPTIONAL, ["refine", "--coarse", str(sample_dir / "skull069_coarse.nrrd"),
                                  "--output", str(tmp_path / "skull.nrrd"), "--method", "hash"],
                       tmp_path)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert (tmp_path / "skull.nrrd").is_file()


def test_without_torch_the_networks_fail_with_an_install_hint(tmp_path, sample_dir):
    proc = run_without(["torch"], ["run", "--defective", str(sample_dir / "skull069_defective.nrrd"),
                                   "--output-dir", str(tmp_path / "out")], tmp_path)
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "VoxelRearrangementLib[learn]" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
