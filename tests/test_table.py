"""The CSVs: reading, label encoding and the stratified split."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leaves.data import class_names_of, encode, read_table, stratified_split
from leaves.errors import DataError


def labels_of(counts: dict[str, int]) -> pd.Series:
    return pd.Series([name for name, n in counts.items() for _ in range(n)])


def test_split_is_stratified_disjoint_and_complete():
    labels = labels_of({"a": 20, "b": 10, "c": 30})
    train, val = stratified_split(labels, val_fraction=0.2, seed=0)
    assert set(train).isdisjoint(val)
    assert sorted([*train, *val]) == list(range(len(labels)))
    assert labels[val].value_counts().to_dict() == {"a": 4, "b": 2, "c": 6}


def test_split_is_seeded():
    labels = labels_of({"a": 20, "b": 10})
    same = stratified_split(labels, 0.3, seed=1), stratified_split(labels, 0.3, seed=1)
    other = stratified_split(labels, 0.3, seed=2)
    assert np.array_equal(same[0][1], same[1][1])
    assert not np.array_equal(same[0][1], other[1])


def test_every_class_with_two_images_is_validated_and_trained():
    labels = labels_of({"a": 2, "b": 3, "c": 50})
    train, val = stratified_split(labels, 0.1, seed=0)
    assert set(labels[val]) == {"a", "b", "c"}
    assert set(labels[train]) == {"a", "b", "c"}


def test_a_class_with_one_image_trains_only_and_is_named():
    labels = labels_of({"lonely": 1, "b": 10})
    with pytest.warns(UserWarning, match="lonely"):
        train, val = stratified_split(labels, 0.2, seed=0)
    assert "lonely" in set(labels[train]) and "lonely" not in set(labels[val])


def test_bad_val_fraction_is_refused():
    with pytest.raises(DataError, match="val_fraction"):
        stratified_split(labels_of({"a": 4}), 1.0, seed=0)


def test_encoding_round_trips_through_sorted_class_names():
    labels = pd.Series(["oak", "ash", "oak", "elm"])
    names = class_names_of(labels)
    assert names == ["ash", "elm", "oak"]
    assert [names[i] for i in encode(labels, names)] == labels.tolist()


def test_unknown_label_is_refused():
    with pytest.raises(DataError, match="maple"):
        encode(pd.Series(["maple"]), ["oak"])


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("image,label\n", "header but no rows"),
        ("img,label\nimages/0.jpg,oak\n", "no column 'image'"),
        ("image,species\nimages/0.jpg,oak\n", "no column 'label'"),
        ("image,label\nimages/0.jpg,oak\nimages/1.jpg, \n", r"blank 'label' in line\(s\) 3"),
    ],
)
def test_malformed_csv_is_refused_naming_file_and_problem(tmp_path: Path, content: str, message: str):
    csv = tmp_path / "train.csv"
    csv.write_text(content)
    with pytest.raises(DataError, match=message) as err:
        read_table(csv, ("image", "label"))
    assert str(csv) in str(err.value)


def test_missing_csv_is_named(tmp_path: Path):
    with pytest.raises(DataError, match="train.csv not found"):
        read_table(tmp_path / "train.csv", ("image", "label"))


def test_bom_and_padding_are_tolerated(tmp_path: Path):
    csv = tmp_path / "train.csv"
    csv.write_bytes("\ufeffimage,label\r\nimages/0.jpg , oak\r\n".encode("utf-8"))
    table = read_table(csv, ("image", "label"))
    assert table.to_dict("records") == [{"image": "images/0.jpg", "label": "oak"}]
