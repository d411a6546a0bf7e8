"""A fully connected variational auto-encoder (Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014).

The generator of Deep Generative Replay (Shin et al. 2017) and, one per class, the Generative Classifier (van de Ven
et al. 2021), with the architecture of the paper's code (GMvandeVen/continual-learning, models/vae.py, fully
connected part): encoder = the classifier's hidden fc layers, then linear heads for the mean and log-variance of
q(z|x) = N(mu, diag(exp(logvar))); decoder = its mirror, z -> hidden fc layers -> a linear layer to the pixels. The
decoder outputs Bernoulli logits (images in [0, 1]); the prior is N(0, I).

Loss, as the paper's code: binary cross-entropy reconstruction averaged over pixels, plus the analytic KL divergence
to the prior summed over latent units and divided by the number of pixels; both averaged over the batch. That is the
negative ELBO per pixel.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from models.fc import MLP

LOG_2PI = math.log(2 * math.pi)


class VAE(nn.Module):
    def __init__(self, image_size, channels, fc_layers=3, fc_units=400, z_dim=100, fc_bn=False, fc_nl="relu"):
        super().__init__()
        self.shape = (channels, image_size, image_size)
        self.pixels = channels * image_size * image_size
        self.z_dim = z_dim
        hidden = [fc_units] * (fc_layers - 1)
        self.encoder = MLP(self.pixels, hidden, 0.0, fc_bn, fc_nl)
        self.to_mu = nn.Linear(self.encoder.out_features, z_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, z_dim)
        self.decoder = MLP(z_dim, hidden, 0.0, fc_bn, fc_nl)
        self.to_pixels = nn.Linear(self.decoder.out_features, self.pixels)

    def encode(self, x):
        """Mean and log-variance of q(z|x)."""
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z):
        """Bernoulli logits of p(x|z), shaped as images."""
        return self.to_pixels(self.decoder(z)).view(-1, *self.shape)

    def forward(self, x):
        """(logits of the reconstruction, mu, logvar, z) with z drawn by the reparameterisation trick."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z), mu, logvar, z

    def losses(self, x):
        """(reconstruction, KL) terms of the loss, each averaged over the batch and per pixel."""
        logits, mu, logvar, _ = self(x)
        n = x.shape[0]
        recon = F.binary_cross_entropy_with_logits(logits.view(n, -1), x.reshape(n, -1), reduction="mean")
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean() / self.pixels
        return recon, kl

    def loss(self, x):
        recon, kl = self.losses(x)
        return recon + kl

    @torch.no_grad()
    def sample(self, n):
        """`n` images drawn from the model: z ~ N(0, I), images = the decoder's Bernoulli means (as the paper's code,
        not binarised). Batch-norm runs in evaluation mode; the module's mode is restored."""
        was_training = self.training
        self.eval()
        z = torch.randn(n, self.z_dim, device=self.to_pixels.weight.device)
        images = torch.sigmoid(self.decode(z))
        self.train(was_training)
        return images

    def log_likelihood(self, x, S=1, observation="bernoulli"):
        """Importance-sampled estimate of log p(x), one per sample: logsumexp_s [log p(x|z_s) + log p(z_s) -
        log q(z_s|x)] - log S with z_s ~ q(z|x). All S samples in one batched pass. It is a lower bound in
        expectation that rises to log p(x) as S grows; S = 1 is an estimate of the ELBO.

        observation: 'bernoulli' (the loss's model), or 'gaussian': N(x; decoder mean, I), as the paper's code
        (models/vae.py estimate_lls) uses for the Generative Classifier. Constants included: a true log density.
        """
        n = x.shape[0]
        mu, logvar = self.encode(x)
        eps = torch.randn(S, *mu.shape, device=mu.device, dtype=mu.dtype)
        z = mu + eps * (0.5 * logvar).exp()                                       # [S, n, z_dim]
        logits = self.decode(z.reshape(S * n, -1)).view(S, n, -1)
        target = x.reshape(1, n, -1).expand_as(logits)
        if observation == "bernoulli":
            log_px = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
        elif observation == "gaussian":
            log_px = -0.5 * ((target - torch.sigmoid(logits)).pow(2) + LOG_2PI).sum(-1)
        else:
            raise ValueError(f"unknown observation model {observation!r}")
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
        return torch.logsumexp(log_px + log_pz - log_qz, dim=0) - math.log(S)
