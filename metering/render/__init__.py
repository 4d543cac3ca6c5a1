"""Renderers of a specification: JSON (the machine twin), PDF (what finance sends),
summary CSV/XLSX and the anomaly report. All write through `atomic_write`."""
