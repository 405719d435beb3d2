"""onnx-vae's Python side: the PyTorch models behind the shipped ONNX files, their training, the test fixtures and the
golden data the TypeScript tests compare against.

Run the entry points from the repository root with Debian's Python (python3-torch, python3-onnx, python3-numpy):

    PYTHONPATH=training /usr/bin/python3 -m onnx_vae_training.make_fixtures

See training/README.md for every entry point.
"""
