"""A fully connected variational auto-encoder (Kingma & Welling, "Auto-encoding variational Bayes", ICLR 2014).

The generator of Deep Generative Replay (Shin et al. 2017) and, one per class, the Generative Classifier (van de Ven
et al. 2021), with the architecture of the paper's code (GMvandeVen/continual-learning, models/vae.py, fully
connected part): encoder = the classifier's hidden fc layers, then linear heads for the mean and log-variance of
q(z|x) = N(mu, diag(exp(logvar))), the log-variance head without bias (the paper's fc_layer_split); decoder = its
mirror, z -> hidden fc layers -> a linear layer to the pixels. The decoder outputs Bernoulli logits (images in
[0, 1]), or with output='none' the means themselves (normalised images, conv features); the prior is N(0, I).

Loss, as the paper's code: reconstruction averaged over pixels, plus the analytic KL divergence to the prior summed
over latent units and divided by the number of pixels; both averaged over the batch. That is the negative ELBO per
pixel. Reconstruction (`recon_loss`, the paper's --recon-loss): 'BCE', binary cross-entropy of the decoder's
Bernoulli means (the paper's for MNIST), or 'MSE', half the squared error to the decoder's output, i.e. the negative
log-density of a unit-variance Gaussian without its constant (the paper's log_Normal_standard; its default on CIFAR).

models/conv_vae.py has the same interface with conv layers in front of the encoder and deconv layers after the
decoder: it replaces `__init__`, `encode` and `decode`; everything else here is shared.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from models.fc import MLP
from utils.nn import eval_mode

LOG_2PI = math.log(2 * math.pi)
RECON_LOSSES = ("BCE", "MSE")
OUTPUTS = ("sigmoid", "none")

# What every record of a run with these VAEs carries (the methods' Component.record_marks): records made before the
# log-variance head lost its bias (issue 25) lack it, and sweeps rerun them.
RECORD_MARK = {"vae_logvar_bias": False}


class VAE(nn.Module):
    def __init__(self, image_size, channels, fc_layers=3, fc_units=400, z_dim=100, fc_bn=False, fc_nl="relu",
                 recon_loss="BCE", output="sigmoid", shape=None):
        """recon_loss: 'BCE' or 'MSE'; output: the decoder's last non-linearity, 'sigmoid' (images in [0, 1]) or
        'none' (normalised images or conv features, as the paper's network_output; MSE only); shape: of one input,
        when not an image (channels, image_size, image_size), e.g. (units,) for conv features."""
        super().__init__()
        self._set_output(recon_loss, output)
        self.shape = tuple(shape) if shape is not None else (channels, image_size, image_size)
        self.pixels = math.prod(self.shape)
        self.z_dim = z_dim
        hidden = [fc_units] * (fc_layers - 1)
        self.encoder = MLP(self.pixels, hidden, 0.0, fc_bn, fc_nl)
        self.to_mu = nn.Linear(self.encoder.out_features, z_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, z_dim, bias=False)  # as the paper's fc_layer_split
        self.decoder = MLP(z_dim, hidden, 0.0, fc_bn, fc_nl)
        self.to_pixels = nn.Linear(self.decoder.out_features, self.pixels)

    def _set_output(self, recon_loss, output):
        if recon_loss not in RECON_LOSSES or output not in OUTPUTS:
            raise ValueError(f"recon_loss must be one of {RECON_LOSSES} and output one of {OUTPUTS}, not "
                             f"{recon_loss!r} and {output!r}")
        if recon_loss == "BCE" and output != "sigmoid":
            raise ValueError("recon_loss 'BCE' needs output 'sigmoid' (Bernoulli means in [0, 1])")
        self.recon_loss = recon_loss
        self.logits = output == "sigmoid"  # decode gives Bernoulli logits; images are their sigmoid (`output`)

    def encode(self, x):
        """Mean and log-variance of q(z|x)."""
        h = self.encoder(x.flatten(1))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z):
        """Bernoulli logits of p(x|z) (or, with output 'none', its means), shaped as images."""
        return self.to_pixels(self.decoder(z)).view(-1, *self.shape)

    def output(self, decoded):
        """Images (the decoder's means) from what `decode` returns: the sigmoid of logits, else as they are."""
        return torch.sigmoid(decoded) if self.logits else decoded

    def device(self):
        return next(self.parameters()).device

    def forward(self, x):
        """(logits of the reconstruction, mu, logvar, z) with z drawn by the reparameterisation trick."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return self.decode(z), mu, logvar, z

    def reconstruction_loss(self, decoded, x):
        """`recon_loss` of the decoder's output for `x`, averaged over pixels and batch (BCE from the logits: the
        same value as from their sigmoid, without its rounding at 0 and 1)."""
        n = x.shape[0]
        if self.recon_loss == "BCE":
            return F.binary_cross_entropy_with_logits(decoded.view(n, -1), x.reshape(n, -1), reduction="mean")
        return 0.5 * (self.output(decoded).view(n, -1) - x.reshape(n, -1)).pow(2).mean()

    def losses(self, x):
        """(reconstruction, KL) terms of the loss, each averaged over the batch and per pixel."""
        decoded, mu, logvar, _ = self(x)
        recon = self.reconstruction_loss(decoded, x)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean() / self.pixels
        return recon, kl

    def loss(self, x):
        recon, kl = self.losses(x)
        return recon + kl

    @torch.no_grad()
    def sample(self, n):
        """`n` images drawn from the model: z ~ N(0, I), images = the decoder's means (as the paper's code, not
        binarised). Batch-norm runs in evaluation mode; the module's mode is restored."""
        with eval_mode(self):
            z = torch.randn(n, self.z_dim, device=self.device())
            return self.output(self.decode(z))

    def log_likelihood(self, x, S=1, observation="bernoulli", max_elements=None):
        """Importance-sampled estimate of log p(x), one per sample: logsumexp_s [log p(x|z_s) + log p(z_s) -
        log q(z_s|x)] - log S with z_s ~ q(z|x). It is a lower bound in expectation that rises to log p(x) as S
        grows; S = 1 is an estimate of the ELBO.

        observation: 'bernoulli' (the BCE loss's model), or 'gaussian': N(x; decoder mean, I), as the paper's code
        (models/vae.py estimate_lls) uses for the Generative Classifier. Constants included: a true log density.

        Vectorised over samples and inputs. `max_elements` caps the decoded values (samples x inputs x pixels) of one
        pass, so that memory stays bounded whatever S: inputs are taken in chunks of max(1, cap // (S x pixels)),
        each chunk's S draws made at once (S x inputs x z_dim values), and when one input's S samples exceed the cap
        they are decoded in chunks whose log-sum-exps are combined by a log-sum-exp. None: all in one pass. The
        random draws do not depend on the cap, except through the input chunks (one draw per chunk, in order).
        """
        n = x.shape[0]
        cap = None if max_elements is None else max(1, max_elements // self.pixels)  # decoded samples per pass
        inputs = n if cap is None else max(1, cap // S)
        out = [self._log_likelihood(x[i:i + inputs], S, observation, cap) for i in range(0, n, inputs)]
        return out[0] if len(out) == 1 else torch.cat(out)

    def _log_likelihood(self, x, S, observation, cap):
        n = x.shape[0]
        mu, logvar = self.encode(x)
        eps = torch.randn(S, *mu.shape, device=mu.device, dtype=mu.dtype)
        step = S if cap is None else max(1, cap // n)
        parts = [self._log_weights(x, mu, logvar, eps[s:s + step], observation) for s in range(0, S, step)]
        if len(parts) == 1:
            return torch.logsumexp(parts[0], dim=0) - math.log(S)
        return torch.logsumexp(torch.stack([torch.logsumexp(w, dim=0) for w in parts]), dim=0) - math.log(S)

    def _log_weights(self, x, mu, logvar, eps, observation):
        """[samples, n] log p(x|z) + log p(z) - log q(z|x) for z = mu + eps * sigma."""
        s, n = eps.shape[:2]
        z = mu + eps * (0.5 * logvar).exp()                                       # [s, n, z_dim]
        decoded = self.decode(z.reshape(s * n, -1)).view(s, n, -1)
        target = x.reshape(1, n, -1).expand_as(decoded)
        if observation == "bernoulli":
            if not self.logits:
                raise ValueError("a Bernoulli observation model needs a decoder with a sigmoid output")
            log_px = -F.binary_cross_entropy_with_logits(decoded, target, reduction="none").sum(-1)
        elif observation == "gaussian":
            log_px = -0.5 * ((target - self.output(decoded)).pow(2) + LOG_2PI).sum(-1)
        else:
            raise ValueError(f"unknown observation model {observation!r}")
        log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
        log_qz = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)
        return log_px + log_pz - log_qz
