"""What every part of the library shares: errors, progress and cancellation, bundled resources,
atomic file output and small array helpers. Private: import from the subpackages' modules."""
