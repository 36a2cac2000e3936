"""Inference speed with and without BatchNorm folding, measured side by side in one process.

python benchmarks/bench_fuse.py [--arch resnet50d --image_size 224 --batch_size 8]
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from jsonargparse import CLI  # CLI, not auto_cli (jsonargparse >= 4.33): the declared floor is older
from round_robin import round_robin

from leaves.inference import fuse_bn
from leaves.models import create_net


def benchmark_fusion(
    arch: str = "resnet50d", image_size: int = 224, batch_size: int = 8, repeats: int = 7, norm: str = "batch"
) -> dict[str, float]:
    """Inference speed of `arch` with and without BN folding, measured interleaved in one process.

    Returns images/s of each and their ratio (median over `repeats` timed
    batches each, after one warm-up batch), plus the largest output difference.
    """
    torch.manual_seed(0)
    net = create_net(arch, num_classes=176, norm=norm)
    with torch.no_grad():
        net.train()(torch.randn(2 * batch_size, 3, image_size, image_size))  # non-trivial running statistics
    net.eval()
    fused, _ = fuse_bn(net)
    x = torch.randn(batch_size, 3, image_size, image_size)

    def timed(model: torch.nn.Module) -> Callable[[], float]:
        def seconds() -> float:
            start = time.perf_counter()
            model(x)
            return time.perf_counter() - start

        return seconds

    with torch.inference_mode():
        max_diff = (fused(x) - net(x)).abs().max().item()  # also the warm-up
        times = round_robin({"unfused": timed(net), "fused": timed(fused)}, repeats)
    unfused, fused_s = statistics.median(times["unfused"]), statistics.median(times["fused"])
    result = {
        "unfused_img_per_s": batch_size / unfused,
        "fused_img_per_s": batch_size / fused_s,
        "speedup": unfused / fused_s,
        "max_abs_diff": max_diff,
    }
    print(
        f"{arch} {image_size}px batch {batch_size}, {torch.get_num_threads()} thread(s): "
        f"unfused {result['unfused_img_per_s']:.1f} img/s, fused {result['fused_img_per_s']:.1f} img/s, "
        f"speed-up x{result['speedup']:.2f} (median of {repeats}); max |fused - unfused| = {max_diff:.1e}"
    )
    return result


if __name__ == "__main__":
    CLI(benchmark_fusion)
