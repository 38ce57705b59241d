"""VoxelRearrangementLib: high-resolution skulls and cranial implants from coarse masks.

Importable without Slicer or Qt. Arrays + geometry in (:class:`~.mask_io.Mask`), arrays,
meshes and reports out. The command line (``python -m VoxelRearrangementLib``) is also the
background worker of the Slicer module.
"""
__version__ = "0.1.0"
