"""Model shapes and parameter counts against the published architectures."""
import pytest
import torch

from adamlab.images.models import build_model, count_parameters

# (arch, channels, classes, side) -> parameters. Sources: kuangliu/pytorch-cifar's VGG16 /
# ResNet18 / ResNet50 on CIFAR-10 (3x3 stem), torchvision's resnet18 / resnet50 for ImageNet
# (1000 classes); vgg16 with one input channel loses 2*64*9 first-layer weights.
PUBLISHED = [
    ("vgg16", 3, 10, 32, 14_728_266),
    ("vgg16", 1, 10, 28, 14_728_266 - 2 * 64 * 9),
    ("resnet18", 3, 10, 32, 11_173_962),
    ("resnet18", 3, 1000, 224, 11_689_512),
    ("resnet50", 3, 10, 32, 23_520_842),
    ("resnet50", 3, 1000, 224, 25_557_032),
    ("small-vgg", 1, 10, 28, 70_538),
]


@pytest.mark.parametrize("arch, channels, classes, side, params", PUBLISHED)
def test_parameter_counts(arch, channels, classes, side, params):
    assert count_parameters(build_model(arch, channels, classes, side)) == params


@pytest.mark.parametrize("arch", ["small-vgg", "vgg16", "resnet18", "resnet50"])
@pytest.mark.parametrize("channels, side", [(1, 28), (3, 32)])
def test_output_shapes_adapt_to_the_dataset(arch, channels, side):
    torch.manual_seed(0)
    model = build_model(arch, channels, 10, side).eval()
    with torch.no_grad():
        out = model(torch.randn(2, channels, side, side))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_imagenet_stem_for_large_inputs():
    small = build_model("resnet18", 3, 100, 64)
    big = build_model("resnet18", 3, 100, 96)
    assert small.stem[0].kernel_size == (3, 3) and small.stem[0].stride == (1, 1)
    assert big.stem[0].kernel_size == (7, 7) and big.stem[0].stride == (2, 2)
    assert isinstance(big.stem[-1], torch.nn.MaxPool2d)
    with torch.no_grad():
        assert big.eval()(torch.randn(1, 3, 96, 96)).shape == (1, 100)
        vgg = build_model("vgg16", 3, 100, 96).eval()
        assert vgg(torch.randn(1, 3, 96, 96)).shape == (1, 100)


def test_resnet50_downsamples_like_torchvision():
    # the stride sits on the 3x3 conv of the first bottleneck of stages 2-4 (v1.5)
    model = build_model("resnet50", 3, 10, 32)
    assert len(model.stages) == 3 + 4 + 6 + 3
    strided = [i for i, b in enumerate(model.stages) if b.body[3].stride == (2, 2)]
    assert strided == [3, 7, 13]
    assert all(b.body[0].stride == (1, 1) for b in model.stages)


def test_unknown_arch():
    with pytest.raises(ValueError, match="arch: must be one of"):
        build_model("alexnet", 3, 10, 32)
