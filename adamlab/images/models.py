"""Image classifiers for the real-image track, in plain torch (docs/paper.md "Experiments").

The paper trains VGG16 and ResNet18 on CIFAR-10 and ResNet-50 on an ImageNet subset without
naming an implementation; we use the common CIFAR forms (as in kuangliu/pytorch-cifar):
  * vgg16: thirteen 3x3 conv + BatchNorm + ReLU layers (64-64-M-128-128-M-256x3-M-512x3-M-512x3-M)
    and one linear layer 512 -> classes; 14,728,266 parameters for 3x32x32 inputs and 10 classes.
  * resnet18 / resnet50: a 3x3 stride-1 stem without max-pool, then the standard stages
    [2, 2, 2, 2] basic blocks / [3, 4, 6, 3] bottlenecks; 11,173,962 / 23,520,842 parameters for
    10 classes.
For large inputs (side > 64, e.g. ImageNet at 224) the ResNets take the ImageNet stem (7x7 stride-2
conv and 3x3 max-pool), which makes them exactly torchvision's resnet18 / resnet50 (11,689,512 /
25,557,032 parameters for 1000 classes). VGG keeps one linear classifier after a global average
pool at every size (not torchvision's 138M-parameter 4096-4096 head); its max-pools round up
(ceil_mode), so 28x28 inputs (MNIST) pass five of them: 28-14-7-4-2-1.
  * small-vgg: the same recipe at CPU size (16-M-32-32-M-64-64-M, 70,538 parameters for 1x28x28
    inputs and 10 classes), so a Fashion-MNIST sweep takes minutes.
Input channels follow the dataset (1 for MNIST, 3 for colour); initialisation is torch's default.
"""
from __future__ import annotations

import torch
from torch import nn

VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
SMALL_VGG = (16, "M", 32, 32, "M", 64, 64, "M")
IMAGENET_STEM_ABOVE = 64  # input side above which ResNets use the ImageNet stem


class VGG(nn.Module):
    """3x3 conv + BatchNorm + ReLU stages with max-pools ("M"), global average pool, linear."""

    def __init__(self, layers: tuple, in_channels: int, num_classes: int):
        super().__init__()
        mods, c = [], in_channels
        for v in layers:
            if v == "M":
                mods.append(nn.MaxPool2d(2, 2, ceil_mode=True))
            else:
                mods += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                c = v
        self.features = nn.Sequential(*mods)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(c_out)]


class BasicBlock(nn.Module):
    """Two 3x3 convs; the identity shortcut becomes a 1x1 conv + BN when the shape changes."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(c_in, width, 3, stride), nn.ReLU(inplace=True),
                                  *_conv_bn(width, width, 3))
        c_out = width * self.expansion
        self.shortcut = (nn.Sequential(*_conv_bn(c_in, c_out, 1, stride))
                         if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class Bottleneck(BasicBlock):
    """1x1 reduce, 3x3 (carrying the stride, as torchvision's v1.5), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int):
        nn.Module.__init__(self)
        c_out = width * self.expansion
        self.body = nn.Sequential(*_conv_bn(c_in, width, 1), nn.ReLU(inplace=True),
                                  *_conv_bn(width, width, 3, stride), nn.ReLU(inplace=True),
                                  *_conv_bn(width, c_out, 1))
        self.shortcut = (nn.Sequential(*_conv_bn(c_in, c_out, 1, stride))
                         if stride != 1 or c_in != c_out else nn.Identity())


class ResNet(nn.Module):
    def __init__(self, block: type, depths: tuple, in_channels: int, num_classes: int,
                 imagenet_stem: bool):
        super().__init__()
        if imagenet_stem:
            self.stem = nn.Sequential(*_conv_bn(in_channels, 64, 7, 2), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, padding=1))
        else:
            self.stem = nn.Sequential(*_conv_bn(in_channels, 64, 3), nn.ReLU(inplace=True))
        stages, c = [], 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), depths)):
            for j in range(n):
                stages.append(block(c, width, 2 if (i > 0 and j == 0) else 1))
                c = width * block.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.stages(self.stem(x))), 1))


def build_model(arch: str, in_channels: int, num_classes: int, image_size: int) -> nn.Module:
    """The named network for inputs (in_channels, image_size, image_size)."""
    if arch == "small-vgg":
        return VGG(SMALL_VGG, in_channels, num_classes)
    if arch == "vgg16":
        return VGG(VGG16, in_channels, num_classes)
    big = image_size > IMAGENET_STEM_ABOVE
    if arch == "resnet18":
        return ResNet(BasicBlock, (2, 2, 2, 2), in_channels, num_classes, big)
    if arch == "resnet50":
        return ResNet(Bottleneck, (3, 4, 6, 3), in_channels, num_classes, big)
    raise ValueError(f"arch: must be one of small-vgg, vgg16, resnet18, resnet50, got {arch!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
