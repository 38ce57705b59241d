"""Model nodes for 3D printing: read the worker's STL files, check watertightness, export STL,
and group output nodes in a subject-hierarchy folder.

STL files are in LPS millimetres (Slicer's convention, header ``SPACE=LPS``); model nodes hold
RAS. Reading and writing go through ``vtkMRMLModelStorageNode``, which does the conversion
exactly as Slicer's own File > Save and Add Data do.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

import slicer
import vtk

from VoxelRearrangementLib._shared.atomic import atomic_output, write_text
from VoxelRearrangementLib._shared.errors import VoxelRearrangementError
from VoxelRearrangementLib.printing import printability
from VoxelRearrangementLib.printing.meshing import Mesh, polydata_to_arrays

REPORT_ATTRIBUTE = "VoxelRearrangement.PrintabilityReport"


def read_stl(path: os.PathLike) -> vtk.vtkPolyData:
    """Polydata in RAS from an STL file in LPS (or in RAS when its header says ``SPACE=RAS``)."""
    node = slicer.vtkMRMLModelNode()
    storage = slicer.vtkMRMLModelStorageNode()
    storage.SetFileName(str(path))
    if not Path(path).is_file() or not storage.ReadData(node) or node.GetPolyData() is None:
        raise VoxelRearrangementError(f"{path}: cannot read the mesh")
    return node.GetPolyData()


def is_watertight(polydata: vtk.vtkPolyData) -> bool:
    """The Lib's definition (:func:`VoxelRearrangementLib.printing.printability.is_watertight`)
    applied to a model's polydata."""
    if polydata is None or polydata.GetNumberOfCells() == 0:
        return False
    return printability.is_watertight(Mesh(*polydata_to_arrays(polydata)))


def new_model_node(polydata: vtk.vtkPolyData, name: str, report: Optional[dict] = None):
    """A model node (not yet in a scene) holding ``polydata``; ``report`` kept as an attribute."""
    node = slicer.vtkMRMLModelNode()
    node.SetName(name)
    node.SetAndObservePolyData(polydata)
    node.SetAttribute(REPORT_ATTRIBUTE, json.dumps(report or {}))
    return node


def show_model(node, color: Sequence[float]) -> None:
    """Create the display node of a model in a scene and show it in 3D in ``color``."""
    node.CreateDefaultDisplayNodes()
    display = node.GetDisplayNode()
    display.SetColor(*color)
    display.SetVisibility(True)
    display.SetVisibility3D(True)


def model_report(node) -> dict:
    """The printability report stored on a model node by the pipeline ({} when none)."""
    text = node.GetAttribute(REPORT_ATTRIBUTE)
    return json.loads(text) if text else {}


def put_in_folder(scene, nodes: Iterable, folder_name: str) -> int:
    """A new subject-hierarchy folder holding ``nodes``; returns the folder's item ID.

    Works with and without Slicer's subject-hierarchy plugins (headless, new nodes have no
    item yet, so one is created)."""
    sh = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(scene)
    folder = sh.CreateFolderItem(sh.GetSceneItemID(), folder_name)
    for node in nodes:
        item = sh.GetItemByDataNode(node)
        if item:
            sh.SetItemParent(item, folder)
        else:
            sh.CreateItem(folder, node)
    return folder


def write_stl(node, path: os.PathLike) -> Path:
    """Write a model node as STL in LPS millimetres, atomically."""
    path = Path(path)
    if node is None or node.GetPolyData() is None or node.GetPolyData().GetNumberOfPoints() == 0:
        raise VoxelRearrangementError(f"{path.name}: the model has no mesh to export")
    with atomic_output(path, ".stl") as tmp:
        storage = slicer.vtkMRMLModelStorageNode()
        storage.SetFileName(tmp)
        storage.SetCoordinateSystem(slicer.vtkMRMLStorageNode.CoordinateSystemLPS)
        storage.SetUseCompression(False)
        if not storage.WriteData(node):
            raise VoxelRearrangementError(f"{path}: cannot write the STL file")
    return path


def export_for_printing(model_nodes: Sequence, folder: os.PathLike) -> List[Path]:
    """Write each model as ``<name>.stl`` (LPS mm) and ``printability_report.json`` into
    ``folder`` (created if missing). Returns the written paths; nothing in the scene changes."""
    folder = Path(folder)
    nodes = [n for n in model_nodes if n is not None]
    if not nodes:
        raise VoxelRearrangementError("choose at least one model to export")
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise VoxelRearrangementError(f"{folder}: the folder is not writable")
    written = []
    reports: Dict[str, dict] = {}
    for node in nodes:
        file_name = _safe_file_name(node.GetName()) + ".stl"
        written.append(write_stl(node, folder / file_name))
        report = dict(model_report(node))
        report.setdefault("watertight", is_watertight(node.GetPolyData()))
        report["file"] = file_name
        report["coordinate_system"] = "LPS"
        report["units"] = "mm"
        reports[node.GetName()] = report
    written.append(write_text(folder / "printability_report.json", json.dumps(reports, indent=2)))
    return written


def _safe_file_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.strip())
    return keep or "model"
