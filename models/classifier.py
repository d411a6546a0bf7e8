"""The classifier every method trains: optional conv layers, hidden fc layers, one output layer."""
import torch
from torch import nn

from models.conv import ConvLayers
from models.fc import MLP


class Classifier(nn.Module):
    def __init__(self, image_size, channels, n_outputs, fc_layers=3, fc_units=400, fc_drop=0.0, fc_bn=False,
                 fc_nl="relu", conv=None):
        super().__init__()
        self.conv = conv if conv is not None else nn.Flatten()
        with torch.no_grad():
            in_features = self.conv(torch.zeros(1, channels, image_size, image_size)).flatten(1).shape[1]
        self.fc = MLP(in_features, [fc_units] * (fc_layers - 1), fc_drop, fc_bn, fc_nl)
        self.classifier = nn.Linear(self.fc.out_features, n_outputs)

    def features(self, x, context=None):
        """Input to the output layer (what iCaRL averages into class means)."""
        return self.fc(self.conv(x).flatten(1), context)

    def forward(self, x, context=None):
        return self.classifier(self.features(x, context))


def build_conv(args, channels):
    if args.depth == 0:
        return None
    return ConvLayers(channels, depth=args.depth, reducing_layers=args.reducing_layers, channels=args.channels,
                      batch_norm=args.conv_bn == "yes", nl=args.conv_nl, conv_type=args.conv_type,
                      n_blocks=args.n_blocks, global_pooling=args.global_pooling)


def build_classifier(args, experiment, scenario):
    return Classifier(experiment.image_size, experiment.channels, scenario.n_outputs, fc_layers=args.fc_layers,
                      fc_units=args.fc_units, fc_drop=args.fc_drop, fc_bn=args.fc_bn == "yes", fc_nl=args.fc_nl,
                      conv=build_conv(args, experiment.channels))
