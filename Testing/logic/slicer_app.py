"""Slicer's application logic set up headless on ``slicer-core`` (Slicer's MRML libraries).

Inside Slicer the application does this; here :func:`start_slicer_core` makes a scene, an
application logic with its colour logic registered as "Colors", and the SubjectHierarchy,
Volumes, Models and Segmentations module logics registered by name (giving the Segmentations
logic the scene registers the segmentation converter rules). It also provides the names
``slicer.mrmlScene`` and ``slicer.modules.<name>.logic()`` that some ``slicer.util`` helpers
look up (the module folder is put on ``sys.path`` by ``conftest.py``).
"""
from __future__ import annotations

import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import slicer  # slicer-core


@dataclass
class SlicerCore:
    """The scene and the logics of a headless Slicer application."""

    scene: "slicer.vtkMRMLScene"
    app_logic: "slicer.vtkSlicerApplicationLogic"
    logics: dict
    home: tempfile.TemporaryDirectory

    def close(self) -> None:
        """Clear the scene and remove the (empty) application home folder."""
        self.scene.Clear(True)
        self.home.cleanup()


def start_slicer_core() -> SlicerCore:
    """A fresh scene with the application and module logics registered (about 0.1 s)."""
    scene = slicer.vtkMRMLScene()
    app_logic = slicer.vtkSlicerApplicationLogic()
    app_logic.SetMRMLScene(scene)
    home = tempfile.TemporaryDirectory(prefix="slicer-core-home-")
    (Path(home.name) / "share" / "ColorFiles").mkdir(parents=True)  # no default colour files
    app_logic.SetHomeDirectory(home.name)
    app_logic.SetShareDirectory("share")
    logics = {}
    colors = slicer.vtkSlicerColorLogic()
    colors.SetMRMLApplicationLogic(app_logic)
    colors.SetMRMLScene(scene)
    app_logic.SetModuleLogic("Colors", colors)
    logics["Colors"] = colors
    for name, cls in (("SubjectHierarchy", slicer.vtkSlicerSubjectHierarchyModuleLogic),
                      ("Volumes", slicer.vtkSlicerVolumesLogic),
                      ("Models", slicer.vtkSlicerModelsLogic),
                      ("Segmentations", slicer.vtkSlicerSegmentationsModuleLogic)):
        logic = cls()
        logic.SetMRMLApplicationLogic(app_logic)
        logic.SetMRMLScene(scene)
        app_logic.SetModuleLogic(name, logic)
        logics[name] = logic
    slicer.mrmlScene = scene
    slicer.modules = types.SimpleNamespace(**{
        name.lower(): types.SimpleNamespace(logic=(lambda logic=logic: logic))
        for name, logic in logics.items()})
    return SlicerCore(scene, app_logic, logics, home)
