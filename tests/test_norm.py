"""The from-scratch BatchNorm is a drop-in for torch's BatchNorm1d/2d, and every `norm` choice trains."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from leaves.models.batchnorm import BatchNorm
from leaves.models.net import create_net
from leaves.models.norms import NORM_LAYERS

SHAPES = [(8, 5), (4, 3, 7), (6, 4, 5, 3), (2, 16, 4, 4)]
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def torch_bn(rank: int, num_features: int, **kwargs) -> nn.Module:
    return (nn.BatchNorm1d if rank in (2, 3) else nn.BatchNorm2d)(num_features, **kwargs)


def twins(shape: tuple[int, ...], dtype: torch.dtype, **kwargs) -> tuple[nn.Module, nn.Module]:
    """A torch BN and a scratch BN with the same random affine parameters."""
    ref = torch_bn(len(shape), shape[1], dtype=dtype, **kwargs)
    ours = BatchNorm(shape[1], dtype=dtype, **kwargs)
    if ref.affine:
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def assert_close(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> None:
    torch.testing.assert_close(a, b, atol=TOL[dtype], rtol=TOL[dtype])


def step(bn: nn.Module, x: torch.Tensor, upstream: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Output and the gradients of input, weight and bias for a fixed upstream gradient."""
    x = x.clone().requires_grad_(True)
    out = bn(x)
    (out * upstream).sum().backward()
    grads = [x.grad] + ([bn.weight.grad.clone(), bn.bias.grad.clone()] if bn.affine else [])
    bn.zero_grad()
    return (out.detach(), *grads)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_matches_torch_over_training_and_eval_steps(shape, dtype, momentum):
    gen = torch.Generator().manual_seed(0)
    ref, ours = twins(shape, dtype, momentum=momentum)
    for mode in ("train", "train", "train", "eval", "train", "eval"):
        ref.train(mode == "train")
        ours.train(mode == "train")
        x = torch.randn(shape, generator=gen, dtype=dtype) * 3 + 1
        upstream = torch.randn(shape, generator=gen, dtype=dtype)
        for a, b in zip(step(ref, x, upstream), step(ours, x, upstream)):
            assert_close(b, a, dtype)
        for key, value in ref.state_dict().items():
            assert_close(ours.state_dict()[key], value, dtype)
    assert int(ours.num_batches_tracked) == 4


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("track", [True, False])
def test_options_match_torch(affine, track):
    shape = (6, 4, 5, 5)
    ref, ours = twins(shape, torch.float64, affine=affine, track_running_stats=track, eps=1e-3)
    assert set(ours.state_dict()) == set(ref.state_dict())
    x = torch.randn(shape, dtype=torch.float64)
    for mode in (True, False):
        ref.train(mode)
        ours.train(mode)
        for a, b in zip(
            step(ref, x, torch.ones(shape, dtype=torch.float64)), step(ours, x, torch.ones(shape, dtype=torch.float64))
        ):
            assert_close(b, a, torch.float64)


def test_statistics_follow_training_flag_not_grad_mode():
    """Validating in train mode under no_grad updates the running stats; fine-tuning in eval mode uses them."""
    ref, ours = twins((8, 3, 4, 4), torch.float64)
    x = torch.randn(8, 3, 4, 4, dtype=torch.float64)
    with torch.no_grad():
        assert_close(ours(x), ref(x), torch.float64)
    assert int(ours.num_batches_tracked) == 1
    assert_close(ours.running_mean, ref.running_mean, torch.float64)
    ref.eval()
    ours.eval()
    for a, b in zip(step(ref, x, torch.ones_like(x)), step(ours, x, torch.ones_like(x))):
        assert_close(b, a, torch.float64)
    assert int(ours.num_batches_tracked) == 1


def test_momentum_none_is_the_cumulative_average():
    bn = BatchNorm(3, momentum=None).double()
    batches = [torch.randn(10, 3, dtype=torch.float64) + i for i in range(5)]
    for x in batches:
        bn(x)
    assert_close(bn.running_mean, torch.stack([x.mean(0) for x in batches]).mean(0), torch.float64)
    assert_close(bn.running_var, torch.stack([x.var(0, unbiased=True) for x in batches]).mean(0), torch.float64)
    assert int(bn.num_batches_tracked) == 5


@pytest.mark.parametrize("shape", SHAPES)
def test_state_dict_interchanges_with_torch_both_ways(shape):
    ref = torch_bn(len(shape), shape[1])
    ref(torch.randn(shape) * 2 + 3)  # non-trivial running statistics
    with torch.no_grad():
        ref.weight.normal_()
    ours = BatchNorm(shape[1])
    ours.load_state_dict(ref.state_dict())  # strict: same keys
    back = torch_bn(len(shape), shape[1])
    back.load_state_dict(ours.state_dict())
    assert list(ours.state_dict()) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert torch.equal(back.state_dict()[key], value)
    x = torch.randn(shape)
    assert_close(ours.eval()(x), ref.eval()(x), torch.float32)


def test_a_batch_of_one_value_per_channel_is_refused_like_torch():
    x = torch.randn(1, 4)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(4)(x)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        BatchNorm(4)(x)
    BatchNorm(4).eval()(x)  # running statistics need no batch
    BatchNorm(4)(torch.randn(1, 4, 3))  # one image, but three values per channel


def test_wrong_input_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"BatchNorm\(4\) expects .* got shape \(2, 3, 5\)"):
        BatchNorm(4)(torch.randn(2, 3, 5))


def test_buffers_move_with_the_module():
    bn = BatchNorm(3).to(torch.float64)
    assert bn.running_mean.dtype == torch.float64
    assert bn.num_batches_tracked.dtype == torch.long
    assert {name for name, _ in bn.named_buffers()} == {"running_mean", "running_var", "num_batches_tracked"}


@pytest.mark.parametrize("norm", list(NORM_LAYERS))
def test_every_norm_choice_builds_trains_a_step_and_predicts(norm):
    torch.manual_seed(0)
    net = create_net("resnet18", num_classes=3, norm=norm, norm_groups=8)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    # 64 px: instance norm needs feature maps larger than 1x1 at the last stage
    images, labels = torch.randn(4, 3, 64, 64), torch.tensor([0, 1, 2, 0])
    before = [p.detach().clone() for p in net.parameters()]
    loss = nn.functional.cross_entropy(net(images), labels)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    with torch.no_grad():
        probs = net.eval()(images[:1]).softmax(1)  # one image: prediction needs no batch statistics
    assert probs.shape == (1, 3) and torch.isfinite(probs).all()


def _norm_sites(net: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in net.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


@pytest.mark.parametrize("norm", list(NORM_LAYERS))
def test_every_norm_choice_reaches_every_norm_site_of_resnet50d(norm):
    sites = _norm_sites(create_net("resnet50d", num_classes=3))  # the BatchNorm2d sites of timm's network
    assert len(sites) == 55
    net = create_net("resnet50d", num_classes=3, norm=norm, norm_groups=8)
    modules = dict(net.named_modules())
    for name, site in sites.items():
        expected = NORM_LAYERS[norm](8)(site.num_features)  # what the registry builds for this site
        assert type(modules[name]) is type(expected), (name, modules[name])
        assert modules[name].extra_repr() == expected.extra_repr(), name  # channels, groups, eps, affine
    assert set(_norm_sites(net)) <= set(sites), "no BatchNorm anywhere else"
    if norm != "batch":
        assert not any(type(m) is nn.BatchNorm2d for m in net.modules()), "no BatchNorm2d left"


def test_the_norm_cousins_normalise_over_what_their_names_say():
    layer, group, instance = (NORM_LAYERS[name](8)(64) for name in ("layer", "group", "instance"))
    assert isinstance(layer, nn.GroupNorm) and layer.num_groups == 1
    assert isinstance(group, nn.GroupNorm) and group.num_groups == 8
    assert isinstance(instance, nn.InstanceNorm2d) and instance.affine
    assert isinstance(NORM_LAYERS["scratch"](8)(64), BatchNorm)
    assert isinstance(NORM_LAYERS["none"](8)(64), nn.Identity)


def test_unknown_norm_is_refused_by_name():
    with pytest.raises(ValueError, match="model.norm must be one of"):
        create_net("resnet18", 3, norm="weird")
