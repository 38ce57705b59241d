"""Head CT in: the skull segmented from a CT (:mod:`.segment`), and synthetic head CTs made
from real skull masks for tests and demos (:mod:`.phantom`)."""
