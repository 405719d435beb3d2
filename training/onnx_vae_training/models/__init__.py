"""The PyTorch model definitions behind onnx-vae's ONNX files, one module per family:

- `mnist`     the MNIST VAE of models/mnist-vae (MLP encoder/decoder, Bernoulli logits)
- `kl_f8`     Stable-Diffusion-style convolutional KL-VAE (models/kl-f8), channel configuration as a parameter
- `taesd`     TAESD's tiny autoencoder (TAEF2 weights), for the PyTorch side of the image benchmark
- `fixtures`  the tiny untrained networks of models/fixtures
"""


def count_parameters(*modules):
    """Number of parameters of the modules together."""
    return sum(p.numel() for m in modules for p in m.parameters())
