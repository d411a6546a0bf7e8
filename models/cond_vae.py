"""The model of Brain-Inspired Replay (van de Ven, Siegelmann & Tolias, Nature Communications 2020): one network
that both classifies and generates ("replay through feedback").

A fully connected VAE (as models/vae.py) whose encoder's top hidden layer also feeds a linear classifier head, so
`model(x, context)` gives class scores like every other classifier of the project. On top of the plain VAE:
- prior "GMM": a learnable Gaussian mixture p(z) = sum_k w_k N(z; mu_k, diag(exp(logvar_k))), one mode per output
  unit (class) with --per-class, so samples of chosen classes can be generated (conditional replay). Means and
  log-variances start from N(0, 1) draws, as the paper's code.
- decoder gates (--dg-gates): for every "gate id" (a class, or a context) a fixed random 0/1 mask per hidden layer
  of the decoder; each unit is off with probability dg_prop, drawn once from --seed (Bernoulli per unit, as the
  paper's code, so the share of switched-off units is dg_prop on average). The gate input is a [batch, gate ids]
  matrix: one-hot, or class probabilities for replayed samples (then the gate is their weighted mix). Gating after
  the non-linearity equals the paper's gating before it, as ReLU(g a) = g ReLU(a) for g >= 0.

Internal replay (the paper's --hidden, on CIFAR): with `conv` (frozen conv layers) in front, the VAE and the
classifier work on the conv layers' features: the model's input goes through `conv` (which passes features computed
once through as they are, models/features.py), the decoder reconstructs and generates features (output 'none',
reconstruction MSE, as features are unbounded), and generated features enter with `internal=True`, skipping `conv`.
Without `conv` the input is the flattened image and the reconstruction BCE (images in [0, 1]).

The KL term with the GMM prior is estimated from the one reparameterised sample z, as the paper's code:
log q(z|x) - log p(z) (the standard prior keeps the analytic KL). Both terms are per pixel, as models/vae.py.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from models.conv import output_units
from models.fc import MLP
from utils.nn import eval_mode

LOG_2PI = math.log(2 * math.pi)


def log_normal_diag(z, mean, logvar):
    """log N(z; mean, diag(exp(logvar))), summed over the last dimension (broadcasting)."""
    return -0.5 * (LOG_2PI + logvar + (z - mean).pow(2) / logvar.exp()).sum(-1)


class CondVAE(nn.Module):
    def __init__(self, image_size, channels, n_outputs, fc_layers=3, fc_units=400, z_dim=100, fc_bn=False,
                 fc_nl="relu", prior="GMM", n_modes=None, gate_size=0, dg_prop=0.0, seed=0, conv=None):
        super().__init__()
        self.conv = conv if conv is not None else nn.Flatten()
        self.internal = conv is not None  # the VAE models conv features, not images
        if self.internal:
            self.shape = (output_units(conv, channels, image_size),)
        else:
            self.shape = (channels, image_size, image_size)
        self.pixels = math.prod(self.shape)
        self.z_dim, self.prior = z_dim, prior
        hidden = [fc_units] * (fc_layers - 1)
        self.encoder = MLP(self.pixels, hidden, 0.0, fc_bn, fc_nl)
        self.to_mu = nn.Linear(self.encoder.out_features, z_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, z_dim, bias=False)  # as the paper's fc_layer_split
        self.classifier = nn.Linear(self.encoder.out_features, n_outputs)
        self.decoder = MLP(z_dim, hidden, 0.0, fc_bn, fc_nl)
        self.to_pixels = nn.Linear(self.decoder.out_features, self.pixels)
        if prior == "GMM":
            n_modes = n_outputs if n_modes is None else n_modes
            self.z_means = nn.Parameter(torch.randn(n_modes, z_dim))
            self.z_logvars = nn.Parameter(torch.randn(n_modes, z_dim))
        self.gate_size = gate_size if dg_prop > 0 else 0
        generator = torch.Generator().manual_seed(seed)
        for i, units in enumerate(hidden if self.gate_size else []):
            mask = (torch.rand(self.gate_size, units, generator=generator) >= dg_prop).float()
            self.register_buffer(f"gate_mask{i}", mask)

    @property
    def n_modes(self):
        return self.z_means.shape[0] if self.prior == "GMM" else 1

    def gate_masks(self):
        return [getattr(self, f"gate_mask{i}") for i in range(len(self.decoder.layers))] if self.gate_size else []

    # ---- passes ----
    def inputs(self, x, internal=False):
        """What the VAE models: the flattened image, or its conv features (`internal`: `x` is features already)."""
        return x.flatten(1) if internal else self.conv(x).flatten(1)

    def encode(self, x, internal=False):
        """(mean, log-variance of q(z|x), top hidden layer of the encoder)."""
        h = self.encoder(self.inputs(x, internal))
        return self.to_mu(h), self.to_logvar(h), h

    def forward(self, x, context=None, internal=False):
        """Class scores (the classifier; the context plays no part)."""
        return self.classifier(self.encoder(self.inputs(x, internal)))

    def decode(self, z, gate=None):
        """Bernoulli logits of p(x|z); `gate` [batch, gate ids] (one-hot or probabilities) when gates are used."""
        h = z
        masks = self.gate_masks()
        for i, layer in enumerate(self.decoder.layers):
            h = layer(h)
            if masks and gate is not None:
                h = h * (gate @ masks[i])
        return self.to_pixels(h).view(-1, *self.shape)

    # ---- prior ----
    def log_prior(self, z, probs=None):
        """log p(z) per sample. GMM: log sum_k w_k N(z; mu_k, var_k), with w = `probs` [batch, modes] (e.g. one-hot
        of the sample's class, or a classifier's probabilities), else uniform over all modes."""
        if self.prior != "GMM":
            return -0.5 * (LOG_2PI + z.pow(2)).sum(-1)
        a = log_normal_diag(z.unsqueeze(1), self.z_means.unsqueeze(0), self.z_logvars.unsqueeze(0))  # [batch, modes]
        if probs is None:
            return torch.logsumexp(a, dim=1) - math.log(self.n_modes)
        return torch.logsumexp(a + probs.log(), dim=1)

    # ---- loss ----
    def losses(self, x, probs=None, gate=None, internal=False):
        """(reconstruction, KL, class scores) of one pass over `x`: reconstruction = binary cross-entropy (features:
        half the squared error) averaged over pixels and batch; KL per pixel, averaged over the batch (analytic for
        the standard prior, estimated from the sampled z for the GMM prior, weighted by `probs` as log_prior)."""
        target = self.inputs(x, internal)
        mu, logvar, h = self.encode(target, internal=True)
        scores = self.classifier(h)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        logits = self.decode(z, gate)
        n = x.shape[0]
        if self.internal:
            recon = 0.5 * (logits.view(n, -1) - target.detach()).pow(2).mean()
        else:
            recon = F.binary_cross_entropy_with_logits(logits.view(n, -1), x.reshape(n, -1), reduction="mean")
        if self.prior == "GMM":
            kl = log_normal_diag(z, mu, logvar) - self.log_prior(z, probs)
        else:
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
        return recon, kl.mean() / self.pixels, scores

    # ---- generation ----
    @torch.no_grad()
    def sample(self, modes=None, gate=None, n=None):
        """Images (conv features with `conv`) from the model: z from the prior modes `modes` (LongTensor; GMM prior)
        or N(0, I) (`n` of them), decoded with `gate`, images = the decoder's Bernoulli means (features: its
        output). Batch-norm in evaluation mode."""
        with eval_mode(self):
            if self.prior == "GMM":
                mean, logvar = self.z_means[modes], self.z_logvars[modes]
                z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
            else:
                z = torch.randn(n, self.z_dim, device=self.to_pixels.weight.device)
            decoded = self.decode(z, gate)
            return decoded if self.internal else torch.sigmoid(decoded)
