"""Training-side helpers: torch datasets over the HDF5 training export (`k4mlinference.io.hdf5`)."""

from k4mlinference.training.dataset import HDF5EventDataset, HDF5RowDataset, collate_events, read_event

__all__ = ["HDF5EventDataset", "HDF5RowDataset", "collate_events", "read_event"]
