"""The convolutional VAE (models/conv_vae.py): architecture, loss by hand, training and generation."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.conv import ConvLayers
from models.conv_vae import ConvVAE
from models.vae import VAE
from tests.synthetic import _images


def layer_shapes(module, kind):
    return [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0]) for m in module.modules()
            if isinstance(m, kind)]


def test_architecture_mirrors_the_classifier_conv_layers():
    vae = ConvVAE(32, 3, fc_layers=3, fc_units=2000, z_dim=100)
    classifier_conv = ConvLayers(3)
    assert vae.conv.name == classifier_conv.name == "C3-5x16-bn"
    assert vae.conv.state_dict().keys() == classifier_conv.state_dict().keys()  # pre-trained layers load into it
    assert layer_shapes(vae.conv, nn.Conv2d) == [(3, 16, 3, 1), (16, 32, 3, 2), (32, 64, 3, 2), (64, 128, 3, 2),
                                                 (128, 256, 3, 2)]
    assert layer_shapes(vae.deconv, nn.ConvTranspose2d) == [(256, 128, 4, 2), (128, 64, 4, 2), (64, 32, 4, 2),
                                                            (32, 16, 4, 2), (16, 3, 3, 1)]
    linear = [(m.in_features, m.out_features) for m in vae.modules() if isinstance(m, nn.Linear)]
    assert linear == [(1024, 2000), (2000, 2000), (2000, 100), (2000, 100), (100, 2000), (2000, 2000), (2000, 1024)]
    bns = [m.num_features for m in vae.deconv.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns == [128, 64, 32, 16]  # every deconv layer but the image's
    assert isinstance(vae.deconv[-1], nn.ConvTranspose2d)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        decoded, mu, logvar, z = vae(x)
    assert decoded.shape == x.shape and mu.shape == logvar.shape == z.shape == (2, 100)


@pytest.mark.parametrize("size, channels, depth, rl", [(32, 1, 5, 4), (28, 1, 3, 2), (32, 3, 4, 3), (32, 3, 2, 2)])
def test_generates_images_of_the_input_shape(size, channels, depth, rl):
    vae = ConvVAE(size, channels, fc_layers=2, fc_units=16, z_dim=4, depth=depth, reducing_layers=rl,
                  conv_channels=4)
    vae.train()
    images = vae.sample(5)
    assert images.shape == (5, channels, size, size) and not images.requires_grad
    assert images.min() >= 0 and images.max() <= 1 and vae.training  # sigmoid output; mode restored
    with torch.no_grad():
        assert vae(torch.rand(3, channels, size, size))[0].shape == (3, channels, size, size)


def test_bad_shapes_and_options_are_refused():
    with pytest.raises(ValueError, match="divisible"):
        ConvVAE(28, 1, reducing_layers=4)
    with pytest.raises(ValueError, match="'BCE' needs output 'sigmoid'"):
        ConvVAE(32, 3, recon_loss="BCE", output="none")
    with pytest.raises(ValueError, match="recon_loss"):
        VAE(28, 1, recon_loss="L1")


def by_hand(vae, x, recon_loss, output):
    """The loss of one pass, from the modules' outputs and the formulas of the paper's code."""
    n, pixels = x.shape[0], x[0].numel()
    mu, logvar = vae.encode(x)
    z = mu + torch.randn(mu.shape, dtype=mu.dtype) * torch.exp(logvar / 2)
    decoded = vae.decode(z).reshape(n, pixels)
    mean = torch.sigmoid(decoded) if output == "sigmoid" else decoded
    flat = x.reshape(n, pixels)
    if recon_loss == "BCE":
        per_pixel = -(flat * torch.log(mean) + (1 - flat) * torch.log(1 - mean))
    else:
        per_pixel = 0.5 * (flat - mean) ** 2                     # -log N(x; mean, 1) without its constant
    recon = per_pixel.mean(1).mean()                             # per pixel, then over the batch
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)).mean() / pixels
    return recon, kl


@pytest.mark.parametrize("recon_loss, output", [("MSE", "sigmoid"), ("MSE", "none"), ("BCE", "sigmoid")])
def test_loss_by_hand(recon_loss, output):
    torch.manual_seed(0)
    vae = ConvVAE(8, 3, fc_layers=2, fc_units=6, z_dim=3, depth=3, reducing_layers=2, conv_channels=2,
                  recon_loss=recon_loss, output=output).double()
    vae.eval()  # batch-norm on its running statistics: the same for both passes
    x = torch.rand(5, 3, 8, 8, dtype=torch.float64)
    if output == "none":
        x = (x - 0.5) / 0.25  # normalised images
    torch.manual_seed(1)
    recon, kl = vae.losses(x)
    torch.manual_seed(1)
    recon_hand, kl_hand = by_hand(vae, x, recon_loss, output)
    assert recon.item() == pytest.approx(recon_hand.item(), rel=1e-12)
    assert kl.item() == pytest.approx(kl_hand.item(), rel=1e-12)
    torch.manual_seed(1)
    assert vae.loss(x).item() == pytest.approx((recon_hand + kl_hand).item(), rel=1e-12)


def test_the_fully_connected_vae_takes_the_same_recon_losses():
    torch.manual_seed(0)
    vae = VAE(4, 1, fc_layers=2, fc_units=5, z_dim=2, recon_loss="MSE", output="none").double()
    x = torch.randn(6, 1, 4, 4, dtype=torch.float64)
    torch.manual_seed(1)
    recon, kl = vae.losses(x)
    torch.manual_seed(1)
    assert (recon.item(), kl.item()) == pytest.approx(tuple(t.item() for t in by_hand(vae, x, "MSE", "none")),
                                                      rel=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("recon_loss", ["MSE", "BCE"])
def test_trains_on_a_tiny_image_set(recon_loss):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 8)
    x = torch.from_numpy(_images(labels, (3, 16, 16), rng)).float() / 255  # bright blocks on noise, in [0, 1]
    torch.manual_seed(0)
    vae = ConvVAE(16, 3, fc_layers=2, fc_units=32, z_dim=8, depth=3, reducing_layers=2, conv_channels=4,
                  recon_loss=recon_loss)
    optimizer = torch.optim.Adam(vae.parameters(), lr=0.003)

    @torch.no_grad()
    def evaluate():
        """(loss with fixed draws, squared error of the reconstructions from the posterior means)"""
        vae.eval()
        torch.manual_seed(5)
        loss = vae.loss(x).item()
        error = ((vae.output(vae.decode(vae.encode(x)[0])) - x) ** 2).mean().item()
        vae.train()
        return loss, error

    loss_before, error_before = evaluate()
    for step in range(50):
        optimizer.zero_grad()
        vae.loss(x).backward()
        optimizer.step()
    loss_after, error_after = evaluate()
    # BCE cannot fall below the images' own entropy (its loss at a perfect reconstruction); MSE can reach 0
    floor = F.binary_cross_entropy(x, x).item() if recon_loss == "BCE" else 0.0
    assert loss_after - floor < 0.5 * (loss_before - floor), (floor, loss_before, loss_after)
    assert error_after < 0.5 * error_before, (error_before, error_after)


def test_importance_sampled_log_likelihood_runs_on_the_conv_vae():
    torch.manual_seed(0)
    vae = ConvVAE(8, 3, fc_layers=2, fc_units=6, z_dim=3, depth=3, reducing_layers=2, conv_channels=2).eval()
    x = torch.rand(4, 3, 8, 8)
    with torch.no_grad():
        torch.manual_seed(2)
        one_pass = vae.log_likelihood(x, S=20, observation="gaussian")
        torch.manual_seed(2)
        chunked = vae.log_likelihood(x, S=20, observation="gaussian", max_elements=8 * 8 * 3 * 80)
    assert one_pass.shape == (4,) and torch.isfinite(one_pass).all()
    assert torch.equal(one_pass, chunked)  # 20 samples x 4 inputs fit in one pass of the cap: the same pass
