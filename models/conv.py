"""Convolutional layers in front of the fully connected ones (CIFAR): plain or residual, as in the paper."""
from torch import nn

NONLINEARITIES = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU}


def conv_bn(c_in, c_out, stride, bn, nl):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not bn),
                         nn.BatchNorm2d(c_out) if bn else nn.Identity(), NONLINEARITIES[nl]())


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, bn, nl):
        super().__init__()
        self.conv1 = conv_bn(c_in, c_out, stride, bn, nl)
        self.conv2 = nn.Sequential(nn.Conv2d(c_out, c_out, 3, 1, 1, bias=not bn),
                                   nn.BatchNorm2d(c_out) if bn else nn.Identity())
        self.shortcut = nn.Identity() if (stride == 1 and c_in == c_out) else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=not bn), nn.BatchNorm2d(c_out) if bn else nn.Identity())
        self.nl = NONLINEARITIES[nl]()

    def forward(self, x):
        return self.nl(self.conv2(self.conv1(x)) + self.shortcut(x))


class ConvLayers(nn.Module):
    """`depth` layers of 3x3 convolutions; the last `reducing_layers` halve the image and double the channels."""

    def __init__(self, in_channels, depth=5, reducing_layers=4, channels=16, batch_norm=True, nl="relu",
                 conv_type="standard", n_blocks=2, global_pooling=False):
        super().__init__()
        layers, c_in, c_out = [], in_channels, channels
        for i in range(depth):
            reducing = i >= depth - reducing_layers
            if reducing and i > 0:
                c_out *= 2
            stride = 2 if reducing else 1
            if conv_type == "resNet":
                blocks = [BasicBlock(c_in if b == 0 else c_out, c_out, stride if b == 0 else 1, batch_norm, nl)
                          for b in range(n_blocks)]
                layers.append(nn.Sequential(*blocks))
            else:
                layers.append(conv_bn(c_in, c_out, stride, batch_norm, nl))
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1) if global_pooling else nn.Identity()
        self.out_channels = c_in

    def forward(self, x):
        return self.pool(self.layers(x)).flatten(1)
