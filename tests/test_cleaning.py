"""Data cleaning: planted near-duplicates are found (and a conflicting label reported), a planted mislabel is
ranked first, the page shows thumbnails, and decisions become a new training CSV, never an edited train.csv."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import leaves
from leaves.commands import run
from leaves.data import LeavesDataModule
from leaves.data.duplicates import MAX_DISTANCE, MAX_LOCAL_DIFFERENCE, duplicate_pairs
from leaves.data.fingerprints import fingerprint_images, perceptual_hash
from leaves.data.near_pairs import bands, hamming, near_pairs
from leaves.errors import DataError
from leaves.inference.suspects import mislabel_suspects
from leaves.layout import CLEANING_HTML, DUPLICATES_CSV, SUSPECTS_CSV

CLASSES = ["acer", "betula", "carpinus"]


def _picture(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A smooth random picture (a few blobs of colour): distinct pictures differ in their low frequencies."""
    coarse = rng.integers(60, 196, (8, 8, 3), dtype=np.uint8)  # room for a texture without clipping
    return Image.fromarray(coarse).resize((size, size), Image.BICUBIC)


def _resaved(img: Image.Image, quality: int = 70) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def _textured(img: Image.Image) -> Image.Image:
    """The same picture under a strong fine checkerboard: the same low frequencies (so nearly the same hash),
    other pixels, as two distinct leaves of one outline on a white background are."""
    pixels = np.asarray(img).astype(np.int16)
    yy, xx = np.mgrid[: pixels.shape[0], : pixels.shape[1]]
    checker = np.where(((yy // 2) + (xx // 2)) % 2 == 0, 50, -50)[..., None]
    return Image.fromarray(np.clip(pixels + checker, 0, 255).astype(np.uint8))


def make_folder(root: Path) -> Path:
    """12 distinct training pictures (4 a class) and 4 test ones, plus planted copies:
    train 12 = train 0 re-saved under another label (a conflict), train 13 = train 5 halved in size (same label),
    test 4 = train 2 re-saved, test 5 = test 0 itself; and train 14, train 7 under a texture: a near hash
    but another picture, which is no duplicate."""
    rng = np.random.default_rng(3)
    (root / "images").mkdir(parents=True)
    pictures = [_picture(rng) for _ in range(16)]
    train = [(f"images/t{i}.jpg", CLASSES[i % 3]) for i in range(12)]
    for i in range(12):
        pictures[i].save(root / train[i][0], quality=95)
    _resaved(pictures[0]).save(root / "images/t12.jpg", quality=95)
    pictures[5].resize((32, 32), Image.BILINEAR).save(root / "images/t13.jpg", quality=95)
    _textured(pictures[7]).save(root / "images/t14.jpg", quality=95)
    train += [("images/t12.jpg", CLASSES[1]), ("images/t13.jpg", train[5][1]), ("images/t14.jpg", train[7][1])]
    test = [f"images/q{i}.jpg" for i in range(6)]
    for i in range(4):
        pictures[12 + i].save(root / test[i], quality=95)
    _resaved(pictures[2]).save(root / test[4], quality=95)
    pictures[12].save(root / test[5], quality=95)
    pd.DataFrame(train, columns=["image", "label"]).to_csv(root / "train.csv", index=False)
    pd.DataFrame({"image": test}).to_csv(root / "test.csv", index=False)
    return root


def make_oof(train: pd.DataFrame, planted: str, seed: int = 0) -> pd.DataFrame:
    """Out-of-fold probabilities that mostly agree with train.csv, except for `planted`: the models are sure
    it is betula, its label says acer."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([1.0] * 3, len(train)) * 0.4
    own = train["label"].map(CLASSES.index).to_numpy()
    probs[np.arange(len(train)), own] += 0.6
    row = train.index[train["image"] == planted][0]
    probs[row] = [0.01, 0.95, 0.04]
    table = train[["image"]].assign(label=train["label"], fold=np.arange(len(train)) % 2)
    table.loc[row, "label"] = "acer"
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(probs, columns=CLASSES)], axis=1)


# ------------------------------------------------------------------------------------ the hash and the search


def test_the_band_search_finds_exactly_the_pairs_a_full_comparison_finds():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**63, 300, dtype=np.int64).astype(np.uint64)
    near = hashes[:60] ^ (np.uint64(1) << rng.integers(0, 64, 60).astype(np.uint64))  # one bit off
    far = near ^ (np.uint64(0b111) << np.uint64(40)) ^ np.uint64(0b1011)  # 4-6 bits off
    hashes = np.concatenate([hashes, near, far])
    i, j = np.triu_indices(len(hashes), 1)
    distances = hamming(hashes[i], hashes[j])
    for max_distance in (0, 1, 3, 6, 10):
        got_i, got_j, got_d = near_pairs(hashes, max_distance)
        keep = distances <= max_distance
        assert set(zip(got_i.tolist(), got_j.tolist())) == set(zip(i[keep].tolist(), j[keep].tolist()))
        assert (got_d <= max_distance).all() and (np.diff(got_d) >= 0).all()  # closest first


def test_the_bands_cover_the_64_bits_once_and_one_more_than_the_distance():
    for d in range(0, 17):
        spans = bands(d)
        assert len(spans) == d + 1
        assert sum(width for _, width in spans) == 64
        assert [shift for shift, _ in spans] == list(np.cumsum([0] + [w for _, w in spans][:-1]))


def test_a_resaved_or_resized_copy_keeps_its_hash_nearly():
    rng = np.random.default_rng(1)
    img = _picture(rng)
    original = perceptual_hash(np.asarray(img))
    for copy in (_resaved(img, 50), img.resize((40, 40))):
        assert hamming(np.uint64(original), np.uint64(perceptual_hash(np.asarray(copy.convert("RGB"))))) <= MAX_DISTANCE
    other = perceptual_hash(np.asarray(_picture(rng)))
    assert hamming(np.uint64(original), np.uint64(other)) > 2 * MAX_DISTANCE


# ------------------------------------------------------------------------------------ the report


def test_planted_duplicates_are_found_with_their_kind_and_the_conflicting_label(tmp_path):
    data = make_folder(tmp_path / "data")
    found = leaves.clean(str(data), output_dir=str(tmp_path / "clean"), workers=1)
    pairs = {(r.image_a, r.image_b): r for r in found.pairs.itertuples()}
    assert set(pairs) == {
        ("images/t0.jpg", "images/t12.jpg"),
        ("images/t5.jpg", "images/t13.jpg"),
        ("images/t2.jpg", "images/q4.jpg"),
        ("images/q0.jpg", "images/q5.jpg"),
    }, found.pairs  # and no two distinct pictures
    near = [perceptual_hash(np.asarray(Image.open(data / f"images/t{i}.jpg").convert("RGB"))) for i in (7, 14)]
    assert hamming(np.uint64(near[0]), np.uint64(near[1])) <= MAX_DISTANCE  # a candidate the thumbnails refuse
    assert pairs[("images/t0.jpg", "images/t12.jpg")].kind == "train-train"
    assert pairs[("images/t2.jpg", "images/q4.jpg")].kind == "train-test"
    assert pairs[("images/q0.jpg", "images/q5.jpg")].kind == "test-test"
    assert found.conflicts[["image_a", "label_a", "image_b", "label_b"]].values.tolist() == [
        ["images/t0.jpg", "acer", "images/t12.jpg", "betula"]
    ]
    assert found.pairs.iloc[0]["conflict"]  # conflicts come first
    written = pd.read_csv(found.duplicates_csv)
    assert len(written) == 4 and written["conflict"].sum() == 1
    assert found.duplicates_csv == found.folder / DUPLICATES_CSV


def test_a_candidate_whose_pictures_differ_in_one_place_is_no_duplicate(tmp_path):
    """A small leaf that differs on an identical scene: the same hash and almost the same 32 px thumbnail,
    which only the second look, at 64 px, tells apart."""
    scene = np.asarray(_picture(np.random.default_rng(4))).astype(np.int16)
    names = []
    for shift in (-60, 60):
        pixels = scene.copy()
        pixels[20:30, 20:30] += shift
        names.append(f"{shift}.png")
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(tmp_path / names[-1])
    same = fingerprint_images(tmp_path, [names[0], names[0]], 1)  # as the first look sees them: identical
    pairs = duplicate_pairs(tmp_path, same, names, ["acer", "betula"], workers=1)
    assert pairs.empty
    loose = duplicate_pairs(tmp_path, same, names, ["acer", "betula"], max_local_difference=100, workers=1)
    assert loose["conflict"].tolist() == [True] and loose["local_difference"].iloc[0] > MAX_LOCAL_DIFFERENCE


def test_a_planted_mislabel_is_ranked_first_with_the_label_the_models_prefer():
    train = pd.DataFrame(
        {"image": [f"images/{i}.jpg" for i in range(30)], "label": [CLASSES[i % 3] for i in range(30)]}
    )
    oof = make_oof(train, planted="images/7.jpg")
    suspects = mislabel_suspects(oof, limit=5)
    first = suspects.iloc[0]
    assert (first["image"], first["label"], first["suggested"]) == ("images/7.jpg", "acer", "betula")
    assert first["label_prob"] == pytest.approx(0.01)
    assert len(suspects) == 5 and suspects["label_prob"].is_monotonic_increasing


def test_leaves_clean_writes_the_csvs_and_a_page_of_thumbnails_from_the_command_line(tmp_path):
    data = make_folder(tmp_path / "data")
    train = pd.read_csv(data / "train.csv")
    make_oof(train, planted="images/t4.jpg").to_csv(tmp_path / "oof.csv", index=False)
    out = tmp_path / "clean"
    args = ["--data.data_dir", str(data), "--oof", str(tmp_path / "oof.csv"), "--output_dir", str(out)]
    first = run("clean", [*args, "--workers", "1"])
    assert pd.read_csv(first.suspects_csv).iloc[0]["image"] == "images/t4.jpg"
    assert first.suspects_csv.name == SUSPECTS_CSV
    page = (first.folder / CLEANING_HTML).read_text()
    assert page.count('src="data:image/jpeg;base64,') == 2 * 4 + len(train)  # every pair, every suspect
    assert "t12.jpg" in page and "betula" in page
    again = run("clean", [*args, "--workers", "1"])
    assert again.folder != first.folder and (first.folder / CLEANING_HTML).is_file()  # a new folder each time


def test_an_out_of_fold_file_of_another_folder_is_refused_before_hashing(tmp_path):
    data = make_folder(tmp_path / "data")
    pd.DataFrame({"image": ["elsewhere/1.jpg"], "label": ["acer"], **{c: [1 / 3] for c in CLASSES}}).to_csv(
        tmp_path / "oof.csv", index=False
    )
    with pytest.raises(DataError, match="not in the training CSV"):
        leaves.clean(str(data), oof=str(tmp_path / "oof.csv"), output_dir=str(tmp_path / "clean"))


# ------------------------------------------------------------------------------------ decisions


def test_decisions_make_a_new_training_csv_that_a_fit_reads_and_train_csv_is_untouched(tmp_path):
    data = make_folder(tmp_path / "data")
    before = (data / "train.csv").read_bytes()
    pd.DataFrame({"image": ["images/t12.jpg", "images/t13.jpg"]}).to_csv(tmp_path / "drop.csv", index=False)
    pd.DataFrame({"image": ["images/t4.jpg"], "label": ["carpinus"]}).to_csv(tmp_path / "relabel.csv", index=False)
    out = tmp_path / "train-clean.csv"
    cleaned = run(
        "clean",
        ["--data.data_dir", str(data), "--write_train", str(out)]
        + ["--drop", str(tmp_path / "drop.csv"), "--relabel", str(tmp_path / "relabel.csv")],
    )
    assert (cleaned.rows, cleaned.dropped, cleaned.relabelled) == (13, 2, 1)
    assert (data / "train.csv").read_bytes() == before
    table = pd.read_csv(out)
    assert "images/t12.jpg" not in set(table["image"])
    assert table.set_index("image").loc["images/t4.jpg", "label"] == "carpinus"
    with pytest.raises(FileExistsError, match="train-clean.csv"):
        leaves.clean_train(str(data), write_train=str(out), drop=str(tmp_path / "drop.csv"))

    datamodule = LeavesDataModule(str(data), train_csv=str(out), num_workers=0, val_fraction=0.25)
    datamodule.setup("fit")
    used = set(datamodule.train_images) | set(datamodule.val_images)
    assert len(used) == 13 and "images/t12.jpg" not in used


def test_decisions_naming_unknown_images_or_classes_are_refused_by_file_and_line(tmp_path):
    data = make_folder(tmp_path / "data")
    pd.DataFrame({"image": ["images/t1.jpg", "images/typo.jpg"]}).to_csv(tmp_path / "drop.csv", index=False)
    with pytest.raises(DataError, match=r"drop\.csv: line\(s\) 3 .*typo\.jpg"):
        leaves.clean_train(str(data), write_train=str(tmp_path / "a.csv"), drop=str(tmp_path / "drop.csv"))
    pd.DataFrame({"image": ["images/t1.jpg"], "label": ["quercus"]}).to_csv(tmp_path / "relabel.csv", index=False)
    with pytest.raises(DataError, match=r"relabel\.csv: line\(s\) 2 .*'quercus'"):
        leaves.clean_train(str(data), write_train=str(tmp_path / "b.csv"), relabel=str(tmp_path / "relabel.csv"))
    every_acer = pd.read_csv(data / "train.csv").query("label == 'acer'")[["image"]]
    every_acer.to_csv(tmp_path / "all_acer.csv", index=False)
    with pytest.raises(DataError, match=r"no training image of 1 class\(es\) \(acer\)"):
        leaves.clean_train(str(data), write_train=str(tmp_path / "c.csv"), drop=str(tmp_path / "all_acer.csv"))
    assert not any((tmp_path / name).exists() for name in ("a.csv", "b.csv", "c.csv"))
