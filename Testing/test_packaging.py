"""The extension's CMake files package every file of the module (scripts, Lib, UI, icons,
samples, weights) and carry the metadata the Extensions Index needs."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "VoxelRearrangement"
SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def listed_files() -> set:
    text = (MODULE_DIR / "CMakeLists.txt").read_text()
    files = set()
    for block in re.findall(r"set\(MODULE_PYTHON_(?:SCRIPTS|RESOURCES)(.*?)\)", text, flags=re.S):
        files |= {line.strip().replace("${MODULE_NAME}", "VoxelRearrangement")
                  for line in block.splitlines() if line.strip()}
    return files


def module_files() -> set:
    out = set()
    for path in MODULE_DIR.rglob("*"):
        rel = path.relative_to(MODULE_DIR)
        if not path.is_file() or SKIP_PARTS & set(rel.parts) or rel.parts[0].endswith(".egg-info"):
            continue
        if rel.name == "CMakeLists.txt" or rel.suffix == ".pyc":
            continue
        out.add(rel.as_posix())
    return out


def test_every_module_file_is_listed_for_packaging():
    missing = sorted(module_files() - listed_files())
    assert not missing, ("add these to VoxelRearrangement/CMakeLists.txt (MODULE_PYTHON_SCRIPTS "
                         f"for .py, MODULE_PYTHON_RESOURCES otherwise): {missing}")


def test_every_listed_file_exists():
    absent = sorted(f for f in listed_files() if not (MODULE_DIR / f).is_file())
    assert not absent, f"listed in VoxelRearrangement/CMakeLists.txt but absent: {absent}"


def test_module_cmake_builds_the_scripted_module_with_its_self_test():
    text = (MODULE_DIR / "CMakeLists.txt").read_text()
    assert "slicerMacroBuildScriptedModule(" in text and "WITH_GENERIC_TESTS" in text
    assert "slicer_add_python_unittest(SCRIPT ${MODULE_NAME}.py)" in text


def test_extension_cmake_metadata():
    text = (ROOT / "CMakeLists.txt").read_text()
    for key in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS",
                "EXTENSION_DESCRIPTION", "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS"):
        assert re.search(rf'set\({key} "[^"]+"\)', text), key
    assert 'set(EXTENSION_DEPENDS "PyTorch")' in text
    for line in ("find_package(Slicer REQUIRED)", "include(${Slicer_USE_FILE})",
                 "add_subdirectory(VoxelRearrangement)", "include(${Slicer_EXTENSION_GENERATE_CONFIG})",
                 "include(${Slicer_EXTENSION_CPACK})"):
        assert line in text
    assert (ROOT / "VoxelRearrangement.png").is_file()
