"""A convolutional VAE: the generator of Deep Generative Replay on CIFAR images.

Encoder: conv layers as the classifier's (models/conv.py: `depth` 3x3 layers with batch-norm and the non-linearity,
the last `reducing_layers` with stride 2 and doubled channels, the last layer a bare convolution; for CIFAR
16-32-64-128-256 channels from 32x32 to 2x2), then the classifier's hidden fc layers and linear heads to the mean
and log-variance of q(z|x) (the latter without bias). Decoder, its mirror: z -> hidden fc layers -> an fc layer to
the conv output's units (with batch-norm and non-linearity when there are hidden layers) -> reshaped to the conv
output's shape -> one transposed convolution (with a bias, also before batch-norm) per conv layer, in reverse order,
each undoing its layer's channels and stride (4x4 stride 2 padding 1 for a halving layer, which exactly doubles the
size; 3x3 stride 1 padding 1 otherwise), with batch-norm and the non-linearity except the last, which gives the
image. As the paper's code (models/vae.py with depth > 0, models/conv/nets.py ConvLayers / DeconvLayers,
models/conv/layers.py deconv_layer), whose generator on CIFAR is this VAE with the classifier's conv options.

The decoder's output is 'sigmoid' (images in [0, 1]; the paper's without --normalize) or 'none' (normalised images:
the paper's network_output 'none' with --normalize); reconstruction 'MSE' (the paper's on CIFAR) or 'BCE' (MNIST,
sigmoid output only), per pixel, and the KL term per pixel, as models/vae.py, whose interface (loss, losses, sample,
log_likelihood, ...) this shares. The encoder's conv layers are a ConvLayers with the classifier's name, so
pre-trained conv layers (models/pretrained.py) load into them as into the classifier's.
"""
from torch import nn

from models.conv import NONLINEARITIES, ConvLayers
from models.fc import MLP
from models.vae import VAE


def conv_specs(conv):
    """(in channels, out channels, stride) of each conv layer of a standard ConvLayers."""
    specs = []
    for layer in conv.layers:
        c = layer if isinstance(layer, nn.Conv2d) else layer[0]
        specs.append((c.in_channels, c.out_channels, c.stride[0]))
    return specs


class ConvVAE(VAE):
    def __init__(self, image_size, channels, fc_layers=3, fc_units=2000, z_dim=100, fc_bn=False, fc_nl="relu",
                 recon_loss="MSE", output="sigmoid", depth=5, reducing_layers=4, conv_channels=16, conv_bn=True,
                 conv_nl="relu"):
        nn.Module.__init__(self)
        self._set_output(recon_loss, output)
        if depth < 1 or not 0 <= reducing_layers <= depth or image_size % (2 ** reducing_layers):
            raise ValueError(f"a conv VAE needs depth >= 1, 0 <= reducing_layers <= depth and an image size "
                             f"divisible by 2^reducing_layers (got {depth}, {reducing_layers}, {image_size})")
        self.shape = (channels, image_size, image_size)
        self.pixels = channels * image_size * image_size
        self.z_dim = z_dim
        self.conv = ConvLayers(channels, depth=depth, reducing_layers=reducing_layers, channels=conv_channels,
                               batch_norm=conv_bn, nl=conv_nl)
        size = image_size // 2 ** reducing_layers
        self.conv_shape = (self.conv.out_channels, size, size)
        conv_units = self.conv.out_channels * size * size
        hidden = [fc_units] * (fc_layers - 1)
        self.encoder = MLP(conv_units, hidden, 0.0, fc_bn, fc_nl)
        self.to_mu = nn.Linear(self.encoder.out_features, z_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, z_dim, bias=False)  # as the paper's fc_layer_split
        self.decoder = MLP(z_dim, hidden, 0.0, fc_bn, fc_nl)
        to_conv = nn.Linear(self.decoder.out_features, conv_units)
        self.to_conv = nn.Sequential(to_conv, nn.BatchNorm1d(conv_units) if fc_bn else nn.Identity(),
                                     NONLINEARITIES[fc_nl]()) if hidden else to_conv
        layers = []
        for i, (c_in, c_out, stride) in enumerate(reversed(conv_specs(self.conv))):
            last = i == depth - 1
            bn = conv_bn and not last
            deconv = nn.ConvTranspose2d(c_out, c_in, 4 if stride == 2 else 3, stride, 1)  # with a bias, as the paper's
            layers.append(deconv if last else nn.Sequential(deconv, nn.BatchNorm2d(c_in) if bn else nn.Identity(),
                                                             NONLINEARITIES[conv_nl]()))
        self.deconv = nn.Sequential(*layers)

    def encode(self, x):
        """Mean and log-variance of q(z|x)."""
        h = self.encoder(self.conv(x))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z):
        """Bernoulli logits of p(x|z) (or, with output 'none', its means), shaped as images."""
        return self.deconv(self.to_conv(self.decoder(z)).view(-1, *self.conv_shape))
