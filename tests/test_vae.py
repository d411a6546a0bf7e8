import math

import pytest
import torch

from models.vae import VAE


def test_architecture_mirrors_the_classifier_fc_layers():
    vae = VAE(28, 1, fc_layers=3, fc_units=400, z_dim=100)
    linear = [(m.in_features, m.out_features) for m in vae.modules() if isinstance(m, torch.nn.Linear)]
    assert linear == [(784, 400), (400, 400), (400, 100), (400, 100), (100, 400), (400, 400), (400, 784)]


def test_loss_by_hand():
    torch.manual_seed(0)
    vae = VAE(2, 1, fc_layers=2, fc_units=3, z_dim=2).double()
    x = torch.rand(5, 1, 2, 2, dtype=torch.float64)
    torch.manual_seed(1)
    loss = vae.loss(x)
    # by hand, with the same random draw for the reparameterisation
    torch.manual_seed(1)
    h = torch.relu(vae.encoder.layers[0][1](x.view(5, 4)))
    mu, logvar = vae.to_mu(h), vae.to_logvar(h)
    z = mu + torch.randn(5, 2, dtype=torch.float64) * torch.exp(logvar / 2)
    p = torch.sigmoid(vae.to_pixels(torch.relu(vae.decoder.layers[0][1](z))))
    bce = -(x.view(5, 4) * torch.log(p) + (1 - x.view(5, 4)) * torch.log(1 - p))
    recon = bce.mean(1).mean()                                                   # per pixel, then over the batch
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)).mean() / 4        # per sample, over the batch, / pixels
    assert loss.item() == pytest.approx((recon + kl).item(), rel=1e-10)


def _one_pixel_vae(observation_bias=-0.5):
    """z_dim 1, one pixel, no hidden layers: q(z|x) = N(0.5 x - 0.2, exp(-0.3 x)), logit p(x|z) = 2 z - 0.5."""
    vae = VAE(1, 1, fc_layers=1, z_dim=1).double()
    with torch.no_grad():
        vae.to_mu.weight.fill_(0.5), vae.to_mu.bias.fill_(-0.2)
        vae.to_logvar.weight.fill_(-0.3)  # no bias, as the paper's
        vae.to_pixels.weight.fill_(2.0), vae.to_pixels.bias.fill_(observation_bias)
    return vae


@pytest.mark.parametrize("observation", ["bernoulli", "gaussian"])
def test_importance_sampled_log_likelihood_matches_numerical_integration(observation):
    vae = _one_pixel_vae()
    z = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    prior = torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
    p = torch.sigmoid(2 * z - 0.5)
    x = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64)
    exact = []
    for xi in x:
        if observation == "bernoulli":
            lik = p ** xi * (1 - p) ** (1 - xi)
        else:
            lik = torch.exp(-0.5 * (xi - p) ** 2) / math.sqrt(2 * math.pi)
        exact.append(torch.log(torch.trapezoid(prior * lik, z)))
    torch.manual_seed(0)
    estimate = vae.log_likelihood(x.view(3, 1, 1, 1), S=200000, observation=observation)
    assert estimate.shape == (3,)
    assert torch.allclose(estimate, torch.stack(exact), atol=3e-3)


def test_one_sample_estimate_is_the_elbo_and_more_samples_raise_it():
    torch.manual_seed(0)
    vae = VAE(4, 1, fc_layers=2, fc_units=16, z_dim=3).double()
    x = torch.rand(8, 1, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        reps = x.repeat(4000, 1, 1, 1)                                            # sample i at rows i, i+8, ...
        one = vae.log_likelihood(reps, S=1).view(4000, 8).mean(0)                 # E[ELBO] per sample
        elbo = torch.stack([-vae.loss(x[i:i + 1].expand(4000, -1, -1, -1)) * 16 for i in range(8)])
        many = vae.log_likelihood(x.repeat(50, 1, 1, 1), S=64).view(50, 8).mean(0)
    assert torch.allclose(one, elbo, atol=0.05)
    assert (many > one).all() and (many - one).mean() > 0.05  # the bound tightens (by 0.008 to 0.21 nats here)


def test_sample_shape_range_mode_and_device():
    vae = VAE(28, 1, fc_layers=3, fc_units=20, z_dim=5, fc_bn=True)
    vae.train()
    images = vae.sample(7)
    assert images.shape == (7, 1, 28, 28) and not images.requires_grad
    assert images.min() >= 0 and images.max() <= 1
    assert vae.training  # mode restored
    if torch.cuda.is_available():
        vae = vae.cuda()
        assert vae.sample(3).device.type == "cuda"
        x = vae.sample(3)
        assert vae.log_likelihood(x, S=4).device.type == "cuda"


def _passes(vae):
    """Record the number of decoded values of every decoder pass of `vae`."""
    sizes, decode = [], vae.decode

    def recorded(z):
        out = decode(z)
        sizes.append(out.numel())
        return out

    vae.decode = recorded
    return sizes


@pytest.mark.parametrize("cap", [16 * 3 * 4, 16 * 40, 16 * 10 ** 6])  # samples chunked / inputs chunked / one pass
def test_chunked_importance_sampling_equals_one_pass_per_chunk_and_stays_under_the_cap(cap):
    torch.manual_seed(0)
    vae = VAE(4, 1, fc_layers=2, fc_units=16, z_dim=3).double()
    x = torch.rand(7, 1, 4, 4, dtype=torch.float64)
    S, pixels = 37, 16
    inputs = max(1, cap // pixels // S)       # inputs per chunk: the draws are made chunk by chunk, as before
    with torch.no_grad():
        torch.manual_seed(1)
        reference = torch.cat([vae.log_likelihood(x[i:i + inputs], S, "gaussian") for i in range(0, 7, inputs)])
        sizes = _passes(vae)
        torch.manual_seed(1)
        chunked = vae.log_likelihood(x, S, "gaussian", max_elements=cap)
    assert max(sizes) <= cap and sum(sizes) == S * 7 * pixels  # every sample decoded once, no pass above the cap
    if cap >= S * 7 * pixels:
        assert len(sizes) == 1 and torch.equal(chunked, reference)  # small S: the one-pass computation itself
    else:
        assert len(sizes) > 1 and torch.allclose(chunked, reference, rtol=1e-12, atol=0)  # log-sum-exp of chunks


@pytest.mark.slow
def test_estimate_converges_as_samples_grow_with_bounded_passes():
    """S = 1 ... 10000 (the paper's --eval-s on CIFAR-100) with at most 512 decoded values per pass: the spread of the
    estimate over 200 repetitions shrinks like 1/sqrt(S) and it closes in on log p(x) by numerical integration."""
    vae = _one_pixel_vae()
    z = torch.linspace(-12, 12, 200001, dtype=torch.float64)
    p = torch.sigmoid(2 * z - 0.5)
    density = torch.exp(-0.5 * z ** 2 - 0.5 * (0.3 - p) ** 2) / (2 * math.pi)
    exact = torch.log(torch.trapezoid(density, z)).item()
    x = torch.full((200, 1, 1, 1), 0.3, dtype=torch.float64)
    torch.manual_seed(0)
    spread, error = [], []
    sizes = _passes(vae)
    with torch.no_grad():
        for S in (1, 10, 100, 1000, 10000):
            estimate = vae.log_likelihood(x, S, "gaussian", max_elements=512)
            spread.append(estimate.std().item())
            error.append((estimate - exact).abs().max().item())
    assert max(sizes) <= 512
    assert all(b < 0.6 * a for a, b in zip(spread, spread[1:])), spread  # ~1/sqrt(10) per step
    assert error[-1] < 0.01 and error[-1] < error[0] / 50, error
