"""A synthetic leaves dataset in the Kaggle layout, so the pipeline runs anywhere.

Real data cannot ship with the project, yet `python scripts/fit.py` must train
something meaningful on a fresh machine. The species below differ the way real
ones do (outline, margin, venation, colour) and every image varies in pose,
size, lighting and background, so a model has to learn shape rather than a
single pixel statistic.
"""

from __future__ import annotations

import colorsys
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFilter

from leaves.layout import ANSWERS_CSV, TEST_CSV, TRAIN_CSV

#: Bump when the drawing changes, so a cached demo folder is regenerated.
DEMO_VERSION = "2"
_MARKER = ".demo-complete"
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class Species:
    """How one synthetic species looks; every number is a shape parameter."""

    name: str
    width: float  # half-width relative to half-length
    skew: float  # >0 widest near the base (ovate), <0 near the tip (obovate)
    lobes: int = 0  # 0: entire outline
    lobe_depth: float = 0.0
    lobe_span: float = 2 * np.pi  # angular extent of the lobed part
    teeth: int = 0  # 0: smooth margin
    tooth_depth: float = 0.0
    tooth_sharpness: float = 1.0  # 1 saw-like, larger is spiny
    notch: float = 0.0  # heart-shaped base
    tip: float = 0.0  # drawn-out (acuminate) tip
    veins: str = "pinnate"  # pinnate | palmate | fan
    hue: float = 0.3
    saturation: float = 0.6
    value: float = 0.5
    fan: bool = False


# One species a line: a table, kept as written.
# fmt: off
SPECIES: tuple[Species, ...] = (
    Species("ovalis", width=0.55, skew=0.0, hue=0.30),
    Species("lanceolata", width=0.22, skew=0.1, hue=0.33, value=0.35),
    Species("serrata", width=0.5, skew=0.25, teeth=28, tooth_depth=0.06, hue=0.25, value=0.6),
    Species("cordata", width=0.8, skew=0.3, notch=0.35, veins="palmate", hue=0.28, value=0.45),
    Species("palmata", width=0.95, skew=0.0, lobes=5, lobe_depth=0.45, lobe_span=1.6 * np.pi,
            teeth=60, tooth_depth=0.03, veins="palmate", hue=0.03, saturation=0.75, value=0.65),
    Species("quercus", width=0.5, skew=-0.1, lobes=9, lobe_depth=0.3, hue=0.17, saturation=0.5, value=0.4),
    Species("rotunda", width=0.95, skew=0.0, teeth=18, tooth_depth=0.08, veins="palmate", hue=0.2, value=0.7),
    Species("acuminata", width=0.45, skew=0.35, tip=0.45, teeth=44, tooth_depth=0.035, hue=0.42, value=0.35),
    Species("triloba", width=0.9, skew=0.0, lobes=3, lobe_depth=0.5, lobe_span=1.3 * np.pi,
            veins="palmate", hue=0.13, saturation=0.8, value=0.75),
    Species("obovata", width=0.5, skew=-0.45, hue=0.22, saturation=0.45, value=0.45),
    Species("ginkgo", width=1.0, skew=0.0, notch=0.3, veins="fan", hue=0.14, saturation=0.7, value=0.8, fan=True),
    Species("spinosa", width=0.5, skew=0.0, teeth=10, tooth_depth=0.16, tooth_sharpness=4.0,
            hue=0.38, saturation=0.7, value=0.25),
)
# fmt: on


def random_species(count: int, seed: int = 0) -> tuple[Species, ...]:
    """`count` species with shape and colour drawn from `seed`, spanning the hand-made ones' ranges: for
    data at another scale (benchmarks/rehearsal.py draws the competition's 176); the demo keeps SPECIES."""
    rng = np.random.default_rng(seed)
    drawn = []
    for i in range(count):
        lobes = int(rng.choice([0, 0, 0, 3, 5, 7, 9]))
        teeth = int(rng.choice([0, 0, 10, 18, 28, 44, 60]))
        veins = str(rng.choice(["pinnate", "pinnate", "palmate", "fan"]))
        drawn.append(
            Species(
                f"species_{i:03d}",
                width=float(rng.uniform(0.2, 1.0)),
                skew=float(rng.uniform(-0.45, 0.35)),
                lobes=lobes,
                lobe_depth=float(rng.uniform(0.2, 0.5)) if lobes else 0.0,
                lobe_span=float(rng.uniform(1.2, 2.0) * np.pi),
                teeth=teeth,
                tooth_depth=float(rng.uniform(0.02, 0.16)) if teeth else 0.0,
                tooth_sharpness=float(rng.choice([1.0, 1.0, 4.0])),
                notch=float(rng.choice([0.0, rng.uniform(0.2, 0.4)])),
                tip=float(rng.choice([0.0, rng.uniform(0.2, 0.5)])),
                veins=veins,
                hue=float(rng.uniform(0.0, 0.45)),
                saturation=float(rng.uniform(0.4, 0.8)),
                value=float(rng.uniform(0.25, 0.8)),
                fan=bool(rng.random() < 0.05),
            )
        )
    return tuple(drawn)


def _outline(sp: Species, theta: np.ndarray) -> np.ndarray:
    """Radius of the leaf edge at each angle; the tip points up (theta = pi/2)."""
    if sp.fan:
        # A fan opening upwards from the base: narrow wedge below, wide arc above.
        up = np.clip(np.sin(theta), 0.0, None)
        r = 0.25 + 0.75 * up**0.35
        r = r * (1 - sp.notch * np.exp(-(((theta - np.pi / 2) / 0.12) ** 2)))
        return r
    r = 1.0 / np.sqrt((np.cos(theta) / sp.width) ** 2 + np.sin(theta) ** 2)
    r = r * (1 - sp.skew * np.sin(theta) * 0.5)
    if sp.notch:
        r = r * (1 - sp.notch * np.exp(-(((theta + np.pi / 2) / 0.25) ** 2)))
    if sp.tip:
        r = r * (1 + sp.tip * np.exp(-(((theta - np.pi / 2) / 0.12) ** 2)))
    if sp.lobes:
        # Lobes spread symmetrically around the tip over lobe_span.
        rel = np.angle(np.exp(1j * (theta - np.pi / 2)))  # in (-pi, pi], 0 at the tip
        inside = np.abs(rel) <= sp.lobe_span / 2
        phase = (rel / sp.lobe_span + 0.5) * sp.lobes
        wave = np.abs(np.cos(np.pi * phase)) ** 0.7
        r = np.where(inside, r * (1 - sp.lobe_depth * wave), r * (1 - sp.lobe_depth))
    if sp.teeth:
        saw = (theta * sp.teeth / (2 * np.pi)) % 1.0
        r = r * (1 + sp.tooth_depth * saw**sp.tooth_sharpness)
    return r


def _jittered(rng: np.random.Generator, base: float, spread: float) -> float:
    return float(np.clip(base + rng.normal(0, spread), 0.0, 1.0))


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A lit, slightly textured surface: scanner glass, paper or soil."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0, 0.35), rng.uniform(0.55, 0.98)
    base = np.array(colorsys.hsv_to_rgb(h, s, v))
    yy, xx = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0, 2 * np.pi)
    gradient = 1 + rng.uniform(0.05, 0.35) * ((xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle))
    img = base[None, None, :] * gradient[..., None]
    img = img + rng.normal(0, rng.uniform(0.005, 0.04), (size, size, 1))
    return np.clip(img * 255, 0, 255).astype(np.uint8)


def draw_leaf(sp: Species, rng: np.random.Generator, size: int = 224) -> Image.Image:
    """One photo-like image of species `sp`, pose and lighting drawn from `rng`."""
    big = size * _SUPERSAMPLE
    img = Image.fromarray(_background(rng, big))
    draw = ImageDraw.Draw(img)

    theta = np.linspace(0, 2 * np.pi, 1440, endpoint=False)
    r = _outline(sp, theta)
    scale = big * rng.uniform(0.28, 0.44) / r.max()
    rot = rng.uniform(0, 2 * np.pi)
    centre = big / 2 + rng.uniform(-0.1, 0.1, 2) * big

    def place(rr: np.ndarray, tt: np.ndarray) -> list[tuple[float, float]]:
        x, y = rr * np.cos(tt + rot) * scale, -rr * np.sin(tt + rot) * scale
        return list(zip((centre[0] + x).tolist(), (centre[1] + y).tolist()))

    hue = (sp.hue + rng.normal(0, 0.015)) % 1.0
    rgb = colorsys.hsv_to_rgb(hue, _jittered(rng, sp.saturation, 0.05), _jittered(rng, sp.value, 0.05))
    fill = tuple(int(c * 255) for c in rgb)
    vein = tuple(int(min(255, c * 255 * 1.35 + 20)) for c in rgb)
    width = max(1, int(big / 224))

    # Petiole first, so the blade covers its root.
    base_r = float(_outline(sp, np.array([-np.pi / 2]))[0])
    stem = place(np.array([0.0, base_r + rng.uniform(0.2, 0.45)]), np.array([-np.pi / 2, -np.pi / 2]))
    draw.line(stem, fill=vein, width=2 * width)
    draw.polygon(place(r, theta), fill=fill)

    if sp.veins == "pinnate":
        draw.line(
            place(np.array([base_r, r[360] * 0.97]), np.array([-np.pi / 2, np.pi / 2])), fill=vein, width=width * 2
        )
        for k in range(1, 8):
            f = k / 8  # fraction along the midrib from base to tip
            y0 = -base_r + f * (base_r + r[360])
            for side in (-1, 1):
                ang = np.pi / 2 - side * np.pi / 3.2  # side veins lean towards the tip
                edge = float(_outline(sp, np.array([ang]))[0])
                end_y = y0 + 0.55 * edge * np.sin(ang)
                end_x = side * 0.75 * edge * abs(np.cos(ang)) * (1 - abs(2 * f - 1) * 0.5)
                pts = np.array([[0.0, y0], [end_x, end_y]])
                rr, tt = np.hypot(pts[:, 0], pts[:, 1]), np.arctan2(pts[:, 1], pts[:, 0])
                draw.line(place(rr, tt), fill=vein, width=width)
    else:
        spokes = 5 if sp.veins == "palmate" else 11
        for ang in np.linspace(np.pi / 2 - 1.1, np.pi / 2 + 1.1, spokes):
            edge = float(_outline(sp, np.array([ang]))[0]) * 0.9
            pts = np.array([[0.0, -base_r * 0.8], [edge * np.cos(ang), edge * np.sin(ang)]])
            rr, tt = np.hypot(pts[:, 0], pts[:, 1]), np.arctan2(pts[:, 1], pts[:, 0])
            draw.line(place(rr, tt), fill=vein, width=width)

    img = img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.2) * _SUPERSAMPLE))
    img = img.resize((size, size), Image.Resampling.LANCZOS)
    arr = np.asarray(img).astype(np.float32)
    arr = arr * rng.uniform(0.75, 1.2) + rng.uniform(-20, 20)  # exposure and brightness
    arr = arr + rng.normal(0, 3.0, arr.shape)  # sensor noise
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def generate_demo(
    root: str | os.PathLike,
    train_per_class: int = 30,
    test_per_class: int = 12,
    size: int = 224,
    seed: int = 0,
) -> Path:
    """Write the demo dataset to `root` once; later calls reuse it.

    The folder is built beside its final place and renamed into it, so an
    interrupted generation never leaves a half-written dataset that looks done.
    """
    root = Path(root)
    marker = root / _MARKER
    if marker.is_file() and marker.read_text().strip() == DEMO_VERSION:
        return root
    if root.exists() and any(root.iterdir()) and not marker.is_file():
        raise FileExistsError(
            f"{root} exists and is not a demo dataset made by leaves; refusing to overwrite it. "
            "Point --data.demo_dir at an empty or missing folder."
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=root.parent))
    try:
        (tmp / "images").mkdir()
        rows = []
        for sp in SPECIES:
            for _ in range(train_per_class + test_per_class):
                rows.append(sp.name)
        order = rng.permutation(len(rows))
        records = []
        for idx, i in enumerate(order):
            name = f"images/{idx}.jpg"
            draw_leaf(SPECIES[i // (train_per_class + test_per_class)], rng, size).save(tmp / name, quality=90)
            records.append((name, rows[i]))
        table = pd.DataFrame(records, columns=["image", "label"])
        # Test images are drawn per species in the same proportion as train.
        is_test = table.groupby("label").cumcount() < test_per_class
        table[~is_test].to_csv(tmp / TRAIN_CSV, index=False)
        table[is_test][["image"]].to_csv(tmp / TEST_CSV, index=False)
        table[is_test].to_csv(tmp / ANSWERS_CSV, index=False)
        sample = table[is_test][["image"]].assign(label=SPECIES[0].name)
        sample.to_csv(tmp / "sample_submission.csv", index=False)
        (tmp / _MARKER).write_text(DEMO_VERSION)
        if root.exists():
            shutil.rmtree(root)
        tmp.rename(root)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return root
