"""Training of detectors: data and splits, face-crop cache, augmentations and self-blended images, the staged
trainer with checkpoints/resume/distillation, an Optuna search, and export to ``weights/``. A run's JSONL log is
``run_log``: the trainer, the calibration and the export share it without importing each other.

Heavy imports (torch) happen inside functions: importing this package stays light.

Example:
    >>> from forensics.training import TrainConfig
    >>> TrainConfig().model.architecture
    'mobilenetv2'
"""

from forensics.training.config import TrainConfig

__all__ = ["TrainConfig", "train"]


def train(*args, **kwargs):
    """See :func:`forensics.training.trainer.train`."""
    from forensics.training.trainer import train as _train

    return _train(*args, **kwargs)
