"""The module panel's .ui file parses, and every widget the module file uses exists in it,
with the right kind for the parameter it is bound to (the module itself needs the Slicer
application, so it is checked as source here)."""
import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MODULE_DIR = Path(__file__).resolve().parents[2] / "VoxelRearrangement"
UI_FILE = MODULE_DIR / "Resources" / "UI" / "VoxelRearrangement.ui"
MODULE_FILE = MODULE_DIR / "VoxelRearrangement.py"


@pytest.fixture(scope="module")
def ui():
    return ET.parse(UI_FILE).getroot()


@pytest.fixture(scope="module")
def widgets(ui):
    """widget name -> class"""
    return {w.get("name"): w.get("class") for w in ui.iter("widget")}


@pytest.fixture(scope="module")
def module_source():
    return MODULE_FILE.read_text()


def parameter_fields(source: str) -> dict:
    """Field name -> annotation source of the @parameterNodeWrapper class."""
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "VoxelRearrangementParameterNode")
    assert any(getattr(d, "id", None) == "parameterNodeWrapper" for d in cls.decorator_list)
    return {n.target.id: ast.get_source_segment(source, n.annotation)
            for n in cls.body if isinstance(n, ast.AnnAssign)}


def test_ui_file_is_a_qt_designer_form(ui):
    assert ui.tag == "ui" and ui.get("version") == "4.0"
    top = ui.find("widget")
    assert top.get("class") == "qMRMLWidget" and top.get("name") == "VoxelRearrangement"


def test_every_widget_the_module_uses_exists(widgets, module_source):
    used = set(re.findall(r"self\.ui\.(\w+)", module_source))
    assert used, "the module uses no widgets?"
    missing = sorted(used - set(widgets))
    assert not missing, f"widgets used by VoxelRearrangement.py but absent from the .ui: {missing}"


def test_bound_widgets_match_parameter_fields(ui, widgets, module_source):
    fields = parameter_fields(module_source)
    kinds = {"int": {"QSpinBox", "ctkSliderWidget", "qMRMLSpinBox"},
             "float": {"ctkSliderWidget", "QDoubleSpinBox", "ctkDoubleSpinBox"},
             "Choice": {"QComboBox"},
             "vtkMRML": {"qMRMLNodeComboBox"}}
    bound = {}
    for w in ui.iter("widget"):
        for prop in w.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[prop.find("string").text] = w.get("class")
    assert bound, "no widget carries SlicerParameterName"
    for name, widget_class in bound.items():
        assert name in fields, f"SlicerParameterName '{name}' is not a parameter node field"
        annotation = fields[name]
        kind = ("Choice" if "Choice" in annotation else "vtkMRML" if "vtkMRML" in annotation
                else "int" if "[int" in annotation else "float" if "[float" in annotation else None)
        assert kind is not None, f"{name}: unexpected annotation {annotation}"
        assert widget_class in kinds[kind], f"{name} ({annotation}) is bound to a {widget_class}"
    # the segment is chosen in a segment selector and copied by hand (no connector exists)
    assert "inputSegmentId" in fields and "inputSegmentId" not in bound


def test_connections_refer_to_existing_widgets(ui, widgets):
    for connection in ui.iter("connection"):
        for end in ("sender", "receiver"):
            assert connection.find(end).text in widgets


def test_custom_widgets_are_declared(ui, widgets):
    declared = {c.find("class").text for c in ui.iter("customwidget")}
    custom = {cls for cls in widgets.values() if cls.startswith(("ctk", "qMRML"))}
    assert custom <= declared


def test_module_file_is_thin_and_lazy(module_source):
    tree = ast.parse(module_source)
    top_imports = {a.name.split(".")[0] for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    top_imports |= {n.module.split(".")[0] for n in tree.body if isinstance(n, ast.ImportFrom) and n.module}
    assert "torch" not in top_imports and "imp" not in top_imports
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert {"VoxelRearrangement", "VoxelRearrangementWidget", "VoxelRearrangementLogic",
            "VoxelRearrangementTest", "VoxelRearrangementParameterNode"} <= classes
