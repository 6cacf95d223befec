"""Training with Tessera: artifacts (generate_artifacts) trained by a TrainingSession, and the
PyTorch wrapper TesseraModule (module.py) when its part of the package is present."""

from tessera.training.artifacts import generate_artifacts
from tessera.training.training_session import TrainingSession

__all__ = ["TrainingSession", "generate_artifacts"]

try:
    from tessera.training.module import TesseraModule  # noqa: F401

    __all__.append("TesseraModule")
except ImportError:
    pass
