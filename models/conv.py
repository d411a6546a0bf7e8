"""Convolutional layers in front of the fully connected ones (CIFAR): plain or residual, as in the paper's code.

As there, the classifier's last conv layer is a bare convolution (no batch-norm, no non-linearity: `plain_last`),
every plain conv layer's convolution has a bias (batch-norm or not; ResNet blocks' convolutions have none with
batch-norm), the first layer of a ResNet is a plain conv layer, and `name` is the paper's label of the layers
("C3-5x16-bn"), which names the file of pre-trained conv layers (models/pretrained.py).
"""
import torch
from torch import nn

from utils.nn import eval_mode

NONLINEARITIES = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}


def conv_bn(c_in, c_out, stride, bn, nl, bias=True):
    """A conv layer: convolution, batch-norm, non-linearity. As in the paper's code, the convolution of a plain layer
    has a bias even before batch-norm (which makes it redundant while training, but the paper's files hold it); only
    the convolutions inside ResNet blocks leave it out."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=bias),
                         nn.BatchNorm2d(c_out) if bn else nn.Identity(), NONLINEARITIES[nl]())


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, bn, nl, final_nl=True):
        super().__init__()
        self.conv1 = conv_bn(c_in, c_out, stride, bn, nl, bias=not bn)
        self.conv2 = nn.Sequential(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not bn),
                                   nn.BatchNorm2d(c_out) if bn else nn.Identity())
        self.shortcut = nn.Identity() if (stride == 1 and c_in == c_out) else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=not bn), nn.BatchNorm2d(c_out) if bn else nn.Identity())
        self.nl = NONLINEARITIES[nl]() if final_nl else nn.Identity()

    def forward(self, x):
        return self.nl(self.conv2(self.conv1(x)) + self.shortcut(x))


def _zero_missing_biases(module, state_dict, prefix, *_):
    """A state saved before plain conv layers had biases (our models and pre-trained files before issue 24) loads
    with them zero: the function it computed then. Only a bias whose convolution's weight is there is filled in."""
    for name, m in module.named_modules(prefix=prefix.rstrip(".")):
        key = f"{name}.bias" if name else "bias"
        if isinstance(m, nn.Conv2d) and m.bias is not None and key not in state_dict \
                and (f"{name}.weight" if name else "weight") in state_dict:
            state_dict[key] = torch.zeros_like(m.bias)


class ConvLayers(nn.Module):
    """`depth` layers of 3x3 convolutions; the last `reducing_layers` halve the image and double the channels."""

    def __init__(self, in_channels, depth=5, reducing_layers=4, channels=16, batch_norm=True, nl="relu",
                 conv_type="standard", n_blocks=2, global_pooling=False, plain_last=True):
        super().__init__()
        conv_type = "standard" if depth < 2 else conv_type
        layers, c_in, c_out = [], in_channels, channels
        for i in range(depth):
            reducing = i >= depth - reducing_layers
            if reducing and i > 0:
                c_out *= 2
            stride = 2 if reducing else 1
            last = plain_last and i == depth - 1
            if conv_type == "resNet" and i > 0:
                layers.append(nn.Sequential(*[
                    BasicBlock(c_in if b == 0 else c_out, c_out, stride if b == 0 else 1, batch_norm, nl,
                               final_nl=not (last and b == n_blocks - 1)) for b in range(n_blocks)]))
            elif last:
                layers.append(nn.Conv2d(c_in, c_out, 3, stride, 1))
            else:
                layers.append(conv_bn(c_in, c_out, stride, batch_norm, nl))
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if global_pooling else nn.Identity()
        self.out_channels = c_in
        blocks = "-" + f"b{n_blocks}" * (depth - 1) if conv_type == "resNet" else ""
        flags = ("b" if batch_norm else "") + ("l" if nl == "leakyrelu" else "") + ("p" if global_pooling else "") \
            + ("n" if plain_last else "")
        self.name = (f"{'C' if conv_type == 'standard' else 'R'}{in_channels}-{depth}x{channels}{blocks}"
                     f"{'' if reducing_layers == depth - 1 else f'-rl{reducing_layers}'}{'-' + flags if flags else ''}")
        self.frozen = False
        self.precomputed = False  # True: inputs are already this stack's output (models/features.py)
        self.register_load_state_dict_pre_hook(_zero_missing_biases)

    def freeze(self):
        """No gradients, and batch-norm statistics kept as they are: eval mode even while the model trains."""
        for p in self.parameters():
            p.requires_grad_(False)
        self.frozen = True
        return self.train(self.training)

    def train(self, mode=True):
        return super().train(mode and not self.frozen)

    def forward(self, x):
        if self.precomputed:  # frozen layers whose features were computed once: the fc part runs on them as given
            return x
        return self.pool(self.layers(x)).flatten(1)


def output_units(conv, channels, image_size):
    """Units of `conv`'s output for one image (computed by a pass in eval mode: batch-norm statistics untouched)."""
    with torch.no_grad(), eval_mode(conv):
        return conv(torch.zeros(2, channels, image_size, image_size)).flatten(1).shape[1]
