"""The MNIST VAE (models/mnist-vae): 784 -> hidden -> hidden -> 50 Gaussian latents -> hidden -> hidden -> 784
Bernoulli logits, after Burda, Grosse & Salakhutdinov (2015) with one stochastic layer."""

import torch.nn as nn

LATENT = 50
DATA_DIM = 784

ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "elu": nn.ELU, "relu": nn.ReLU}


class Encoder(nn.Module):
    """x [B, 784] -> (mean [B, 50], logvar [B, 50])."""

    def __init__(self, hidden, act):
        super().__init__()
        A = ACTIVATIONS[act]
        self.net = nn.Sequential(nn.Linear(DATA_DIM, hidden), A(), nn.Linear(hidden, hidden), A())
        self.mean = nn.Linear(hidden, LATENT)
        self.logvar = nn.Linear(hidden, LATENT)

    def forward(self, x):
        h = self.net(x)
        return self.mean(h), self.logvar(h)


class Decoder(nn.Module):
    """z [B, 50] -> Bernoulli logits [B, 784]."""

    def __init__(self, hidden, act):
        super().__init__()
        A = ACTIVATIONS[act]
        self.net = nn.Sequential(nn.Linear(LATENT, hidden), A(), nn.Linear(hidden, hidden), A(),
                                 nn.Linear(hidden, DATA_DIM))

    def forward(self, z):
        return self.net(z)


def build(hidden, act):
    """(Encoder, Decoder) with `hidden` units per hidden layer and activation `act` (a key of ACTIVATIONS)."""
    return Encoder(hidden, act), Decoder(hidden, act)
