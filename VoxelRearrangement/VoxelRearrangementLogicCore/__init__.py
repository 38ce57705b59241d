"""The part of the Slicer module's Logic that needs MRML and VTK but no Qt and no Slicer GUI.

It runs inside Slicer and, headless, against the PyPI package ``slicer-core`` (what CI tests):

* :mod:`.segment_arrays` — segment of a segmentation node <-> :class:`~VoxelRearrangementLib.grids.geometry.Mask`
  (uint8 array + IJK-to-LPS matrix), exact geometry (sheared grids, extents, parent transforms).
* :mod:`.models` — model nodes from the worker's STL files, watertightness, STL export (LPS mm),
  subject-hierarchy folders.
* :mod:`.worker` — one background process of the Lib's command line (its protocol:
  ``VoxelRearrangementLib.cli.protocol``), cancel (whole process tree), exit statuses.
* :mod:`.job` — the pipeline job: checks inputs, writes them as NRRD in a temporary folder,
  runs the worker's ``run`` once (both modes), and creates the output nodes only once
  everything succeeded.
* :mod:`.logic` — the scriptable Logic API (nodes and
  :class:`~VoxelRearrangementLib.options.PipelineOptions` in, nodes out).

Nothing here imports ``qt``, ``ctk``, ``slicer.app`` or ``slicer.ScriptedLoadableModule``.
"""
