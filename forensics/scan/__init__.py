"""Folder scans: the pipeline over every image of a folder, into a resumable results store, and its statistics.

- ``forensics.scan.run``: ``scan_folder`` (options, workers or Dask, resume);
- ``forensics.scan.files``: the images under a folder, labels from folder names, shards;
- ``forensics.scan.batch``: one batch of images start to finish (decode, faces, scores, explanations), in a worker;
- ``forensics.scan.dask_cluster``: the same batches on the workers of a Dask cluster;
- ``forensics.scan.store``: the SQLite results store (``ScanStore``, ``ImageRecord``);
- ``forensics.scan.stats``: tables and arrays over a store (metrics, region relevance, mean maps, embeddings).

Figures of a scan are built in ``forensics.viz.scan``.
"""

from forensics.scan.files import in_shard, label_from_path, list_images
from forensics.scan.run import ScanOptions, ScanSummary, default_workers, scan_folder

__all__ = ["ScanOptions", "ScanSummary", "default_workers", "in_shard", "label_from_path", "list_images", "scan_folder"]
