"""The DataModule: what the model sees, and clear errors for a wrong folder."""

from pathlib import Path

import pandas as pd
import pytest
import torch

from leaves.data.datamodule import LeavesDataModule
from leaves.data.demo import SPECIES, generate_demo
from leaves.data.transforms import eval_transform, train_transform
from leaves.errors import DataError


@pytest.mark.parametrize("augment", ["none", "light", "strong"])
def test_transforms_give_uint8_chw_of_the_requested_size(augment):
    image = torch.randint(0, 255, (50, 70, 3), dtype=torch.uint8).numpy()
    for transform in (train_transform(24, augment), eval_transform(24)):
        out = transform(image=image)["image"]
        assert out.dtype == torch.uint8 and out.shape == (3, 24, 24)


def test_validation_never_gets_training_augmentation(leaves_dir):
    dm = LeavesDataModule(str(leaves_dir), image_size=16, batch_size=4, num_workers=0, val_fraction=0.25)
    dm.setup("fit")
    first = torch.stack([dm.val_set[0][0] for _ in range(3)])
    assert (first == first[0]).all()


def test_datamodule_splits_encodes_and_batches(leaves_dir):
    dm = LeavesDataModule(str(leaves_dir), image_size=16, batch_size=4, num_workers=0, val_fraction=0.25)
    dm.setup("fit")
    assert dm.class_names == ["acer", "betula", "carpinus"]
    assert len(dm.train_set) + len(dm.val_set) == 18 and len(dm.val_set) == 6
    images, targets = next(iter(dm.train_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (4, 3, 16, 16)
    assert targets.dtype == torch.int64 and targets.max() < 3
    assert all(len(batch[0]) == 4 for batch in dm.train_dataloader())  # drop_last: no stray batch of one


@pytest.mark.parametrize(
    "batch_size, drop_last, sizes",
    [
        (5, True, [5, 5]),  # timm's way: the 12 training images' partial batch of 2 is dropped
        (5, False, [5, 5, 2]),  # d2l's DataLoader: every image every epoch
        (11, False, [11]),  # but never a batch of one image (BatchNorm's statistics of a single image)
    ],
)
def test_the_last_partial_training_batch_is_dropped_unless_kept(leaves_dir, batch_size, drop_last, sizes):
    dm = LeavesDataModule(
        str(leaves_dir), image_size=16, batch_size=batch_size, num_workers=0, val_fraction=0.25, drop_last=drop_last
    )
    dm.setup("fit")
    assert [len(batch[0]) for batch in dm.train_dataloader()] == sizes
    assert sum(len(batch[0]) for batch in dm.val_dataloader()) == 6, "validation sees every image"


def test_predict_set_keeps_test_csv_order(leaves_dir):
    dm = LeavesDataModule(str(leaves_dir), image_size=16, batch_size=4, num_workers=0)
    dm.setup("predict")
    rows = torch.cat([batch[1] for batch in dm.predict_dataloader()])
    assert rows.tolist() == list(range(6))


def test_missing_data_dir_is_named(tmp_path: Path):
    dm = LeavesDataModule(str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="nowhere does not exist"):
        dm.setup("fit")


@pytest.mark.parametrize("csv, stage", [("train.csv", "fit"), ("test.csv", "predict")])
def test_missing_csv_is_named(leaves_dir, csv, stage):
    (leaves_dir / csv).unlink()
    with pytest.raises(DataError, match=f"{csv} not found"):
        LeavesDataModule(str(leaves_dir), num_workers=0).setup(stage)


@pytest.mark.parametrize("csv, stage", [("train.csv", "fit"), ("test.csv", "predict")])
def test_missing_image_is_named_with_its_row(leaves_dir, csv, stage):
    table = pd.read_csv(leaves_dir / csv)
    (leaves_dir / table["image"][2]).unlink()
    with pytest.raises(
        DataError, match=rf"1 image\(s\) named in .*{csv} cannot be used:\n  .*{csv}:4: {table['image'][2]}: missing"
    ):
        LeavesDataModule(str(leaves_dir), num_workers=0).setup(stage)


def test_demo_dataset_is_generated_once_in_the_kaggle_layout(tmp_path: Path):
    root = generate_demo(tmp_path / "demo", train_per_class=2, test_per_class=1, size=32)
    train, test = pd.read_csv(root / "train.csv"), pd.read_csv(root / "test.csv")
    assert list(train.columns) == ["image", "label"] and list(test.columns) == ["image"]
    assert set(train["label"]) == {s.name for s in SPECIES} and len(SPECIES) >= 12
    assert train["label"].value_counts().eq(2).all() and len(test) == len(SPECIES)
    assert all((root / p).is_file() for p in [*train["image"], *test["image"]])
    stamp = (root / "train.csv").stat().st_mtime_ns
    generate_demo(tmp_path / "demo", train_per_class=2, test_per_class=1, size=32)
    assert (root / "train.csv").stat().st_mtime_ns == stamp


def test_demo_generation_never_overwrites_a_foreign_folder(tmp_path: Path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="mine"):
        generate_demo(tmp_path / "mine", train_per_class=1, test_per_class=1, size=16)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_random_species_are_seeded_and_leave_the_demo_species_alone():
    from leaves.data.demo import random_species

    drawn = random_species(176, seed=3)
    assert len(drawn) == 176 and len({s.name for s in drawn}) == 176
    assert drawn == random_species(176, seed=3) and drawn != random_species(176, seed=4)
    assert [s.name for s in SPECIES][:2] == ["ovalis", "lanceolata"] and len(SPECIES) == 12  # the demo is unchanged
