"""Messy data is converted when it can be and refused, naming the file and line, when it cannot."""

from __future__ import annotations

import io
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from leaves.commands import main
from leaves.configs import DEFAULT as DEFAULT_CONFIG
from leaves.data import LeavesDataModule, load_image
from leaves.data.check import check_data, inspect_image
from leaves.data.table import drop_duplicates, read_table
from leaves.errors import DataError
from leaves.models.module import LeavesModule
from leaves.workflows.cli import run_lightning

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = DEFAULT_CONFIG


def datamodule(root: Path, **kwargs) -> LeavesDataModule:
    return LeavesDataModule(data_dir=str(root), image_size=32, num_workers=0, val_fraction=0.34, **kwargs)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --- CSVs -------------------------------------------------------------------------------------------------------


def test_a_missing_train_csv_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"train\.csv not found"):
        read_table(tmp_path / "train.csv", ("image", "label"))


@pytest.mark.parametrize("header", ["image,labels", "image,lable", "img,label"])
def test_a_missing_or_misspelled_column_is_named_with_a_suggestion(tmp_path: Path, header: str) -> None:
    csv = write(tmp_path / "train.csv", f"{header}\nimages/0.jpg,acer\n")
    with pytest.raises(DataError, match=r"train\.csv has no column '(image|label)' \(did you mean"):
        read_table(csv, ("image", "label"))


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", "id,image,label,notes\n7,images/0.jpg,acer,x\n")
    assert read_table(csv, ("image", "label")).to_dict("records") == [{"image": "images/0.jpg", "label": "acer"}]


@pytest.mark.parametrize("encoding", ["bom", "crlf", "bom+crlf"])
def test_a_byte_order_mark_and_windows_line_endings_read_like_plain_csv(tmp_path: Path, encoding: str) -> None:
    text = "image,label\nimages/0.jpg,acer\nimages/1.jpg,betula\n"
    if "crlf" in encoding:
        text = text.replace("\n", "\r\n")
    data = ("\ufeff" + text if "bom" in encoding else text).encode()
    table = read_table(write(tmp_path / "train.csv", data), ("image", "label"))
    assert table.to_dict("records") == [
        {"image": "images/0.jpg", "label": "acer"},
        {"image": "images/1.jpg", "label": "betula"},
    ]


@pytest.mark.parametrize("text, message", [("", "is empty"), ("image,label\n", "header but no rows")])
def test_an_empty_csv_or_one_with_only_a_header_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_table(write(tmp_path / "train.csv", text), ("image", "label"))


def test_repeated_rows_are_dropped_with_a_warning_naming_the_lines(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", "image,label\na.jpg,acer\nb.jpg,acer\na.jpg,acer\na.jpg,acer\n")
    with pytest.warns(UserWarning, match=r"2 repeated row\(s\) ignored, line\(s\) 4, 5"):
        table = drop_duplicates(read_table(csv, ("image", "label")), csv)
    assert table["image"].tolist() == ["a.jpg", "b.jpg"]


def test_the_same_image_with_two_labels_is_refused_naming_both_lines(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", "image,label\na.jpg,acer\nb.jpg,acer\na.jpg,betula\n")
    with pytest.raises(DataError, match=r"'a\.jpg' in lines 2, 4 as 'acer', 'betula'"):
        drop_duplicates(read_table(csv, ("image", "label")), csv)


def test_blank_labels_are_refused_naming_every_line(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", "image,label\na.jpg,acer\nb.jpg,\nc.jpg,   \n")
    with pytest.raises(DataError, match=r"blank 'label' in line\(s\) 3, 4"):
        read_table(csv, ("image", "label"))


def test_whitespace_padded_labels_and_paths_are_the_same_class_and_file(tmp_path: Path) -> None:
    csv = write(tmp_path / "train.csv", "image , label\n images/0.jpg ,acer\nimages/1.jpg,  acer \n")
    table = read_table(csv, ("image", "label"))
    assert table["label"].tolist() == ["acer", "acer"] and table["image"].tolist() == ["images/0.jpg", "images/1.jpg"]


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../secret.jpg", "images/../../x.jpg", "C:\\leaves\\0.jpg", "\\\\server\\share\\0.jpg"]
)
def test_absolute_paths_and_paths_escaping_the_data_folder_are_refused(tmp_path: Path, path: str) -> None:
    csv = write(tmp_path / "train.csv", f"image,label\nimages/0.jpg,acer\n{path},acer\n")
    with pytest.raises(DataError, match=r"stay inside it; line\(s\) 3 do not"):
        read_table(csv, ("image", "label"))


# --- image files ------------------------------------------------------------------------------------------------


def jpeg_bytes(size: tuple[int, int] = (32, 32), mode: str = "RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 128).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


UNUSABLE = {
    "missing": (None, "missing: no such file"),
    "zero bytes": (b"", r"empty file \(0 bytes\)"),
    "truncated JPEG": (jpeg_bytes((64, 64))[:300], "cannot decode"),
    "not an image": (b"<html>404 Not Found</html>", "not an image"),
}


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_training_image_stops_setup_naming_file_and_line(leaves_dir: Path, case: str) -> None:
    content, reason = UNUSABLE[case]
    target = leaves_dir / "images" / "3.jpg"  # line 5 of train.csv
    target.unlink()
    if content is not None:
        target.write_bytes(content)
    with pytest.raises(DataError, match=rf"train\.csv:5: images/3\.jpg: {reason}"):
        datamodule(leaves_dir).setup("fit")


def test_all_unusable_images_are_listed_at_once(leaves_dir: Path) -> None:
    (leaves_dir / "images" / "0.jpg").write_bytes(b"")
    (leaves_dir / "images" / "9.jpg").unlink()
    listed = r"(?s)2 image\(s\).*train\.csv:2: images/0\.jpg.*train\.csv:9: images/9\.jpg"
    with pytest.raises(DataError, match=listed) as err:
        datamodule(leaves_dir).setup("fit")
    assert "--data.bad_images skip" in str(err.value)


def test_bad_images_skip_trains_without_them_and_warns_with_the_count_and_list(leaves_dir: Path) -> None:
    (leaves_dir / "images" / "0.jpg").write_bytes(b"")
    (leaves_dir / "images" / "9.jpg").unlink()
    dm = datamodule(leaves_dir, bad_images="skip")
    with pytest.warns(UserWarning, match=r"(?s)skipping 2 unusable image\(s\).*images/0\.jpg.*images/9\.jpg"):
        dm.setup("fit")
    used = set(dm.train_images) | set(dm.val_images)
    assert len(used) == 16 and not used & {"images/0.jpg", "images/9.jpg"}
    assert len(dm.class_names) == 3
    # Out-of-fold tables look validation rows up in train.csv: they must still match after skipping.
    assert dm.train_table.loc[dm.val_rows, "image"].tolist() == dm.val_images


def test_test_csv_naming_missing_images_is_refused_even_with_skip(leaves_dir: Path) -> None:
    (leaves_dir / "images" / "6.jpg").unlink()  # the first test image: line 2 of test.csv
    with pytest.raises(DataError, match=r"(?s)test\.csv:2: images/6\.jpg: missing.*needs a prediction"):
        datamodule(leaves_dir, bad_images="skip").setup("predict")


def odd_image(kind: str, path: Path) -> None:
    """Decodable files that are not the plain 224x224 RGB JPEG the pipeline expects."""
    rgb = Image.fromarray(np.random.default_rng(0).integers(0, 255, (24, 40, 3), dtype=np.uint8))
    if kind == "png behind .jpg":
        rgb.save(path, format="PNG")
    elif kind == "grayscale":
        rgb.convert("L").save(path, format="JPEG")
    elif kind == "rgba":
        rgb.convert("RGBA").save(path, format="PNG")
    elif kind == "palette":
        rgb.convert("P").save(path, format="PNG")
    elif kind == "cmyk":
        rgb.convert("CMYK").save(path, format="JPEG")
    elif kind == "16-bit":
        Image.fromarray((np.full((24, 40), 50000)).astype(np.uint16)).save(path, format="PNG")
    elif kind == "other size":
        rgb.resize((500, 375)).save(path, format="JPEG")
    elif kind == "exif-rotated":
        exif = Image.Exif()
        exif[0x0112] = 6  # stored sideways: turn 90 degrees clockwise to view
        rgb.save(path, format="JPEG", exif=exif)


ODD = ["png behind .jpg", "grayscale", "rgba", "palette", "cmyk", "16-bit", "other size", "exif-rotated"]


@pytest.mark.parametrize("kind", ODD)
def test_odd_but_decodable_images_are_converted_to_upright_rgb(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "odd.jpg"
    odd_image(kind, path)
    error, notes, _ = inspect_image(path)
    assert error is None and (notes or kind == "other size")
    pixels = load_image(path)
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    if kind == "exif-rotated":
        assert pixels.shape[:2] == (40, 24) and "EXIF orientation 6" in " ".join(notes)
    if kind == "16-bit":
        assert abs(int(pixels.mean()) - round(50000 / 257)) <= 1, "scaled to 8 bits, not clipped to white"
    if kind == "rgba":
        assert "mode RGBA" in " ".join(notes)


def test_a_folder_of_odd_images_trains_and_the_check_reports_each_conversion(leaves_dir: Path) -> None:
    for i, kind in enumerate(ODD):
        odd_image(kind, leaves_dir / "images" / f"{i}.jpg")
    dm = datamodule(leaves_dir)
    dm.setup("fit")
    images, _ = dm.train_set[0]
    assert images.shape == (3, 32, 32) and images.dtype == torch.uint8
    report = check_data(leaves_dir)
    assert not report.errors
    assert "PNG data behind a .jpg name" in " ".join(p.reason for p in report.notes)


def test_leaves_check_lists_every_problem_and_fails(leaves_dir: Path, capsys) -> None:
    (leaves_dir / "images" / "0.jpg").write_bytes(b"")
    (leaves_dir / "images" / "6.jpg").unlink()
    write(leaves_dir / "train.csv", (leaves_dir / "train.csv").read_text() + "/abs/x.jpg,acer\n")
    with pytest.raises(SystemExit) as exit:
        main(["check", "--data.data_dir", str(leaves_dir)])
    out = capsys.readouterr().out
    assert str(exit.value.code).startswith("error: ") and "problem(s) listed above" in str(exit.value.code)
    assert "stay inside it; line(s) 20" in out, "train.csv's path problem"
    assert "test.csv:2: images/6.jpg: missing" in out, "and still test.csv's images, in the same run"
    (leaves_dir / "train.csv").write_text("\n".join((leaves_dir / "train.csv").read_text().splitlines()[:-1]) + "\n")
    errors = [str(p) for p in check_data(leaves_dir).errors]
    assert len(errors) == 2 and "train.csv:2: images/0.jpg: empty file (0 bytes)" in errors[0]


# --- checkpoints and config -------------------------------------------------------------------------------------


def save_model(path: Path, **hparams) -> Path:
    model = LeavesModule(**{"pretrained": False, "frozen_stages": 0, **hparams})
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": L.__version__,
        },
        path,
    )
    return path


PREDICT = ["--data.image_size=32", "--data.num_workers=0", "--trainer.enable_progress_bar=false"]


def test_predict_refuses_a_checkpoint_of_another_class_list(leaves_dir: Path, tmp_path: Path, monkeypatch) -> None:
    ckpt = save_model(tmp_path / "other.ckpt", arch="resnet10t", class_names=["quercus", "tilia"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ValueError,
        match=r"the model \(its checkpoint\) has 2 classes \(quercus, tilia\) but "
        r".*train\.csv has 3 "
        r"\(acer, betula, carpinus\): predict with a checkpoint trained on this data",
    ):
        run_lightning("predict", DEFAULT, [f"--data.data_dir={leaves_dir}", f"--ckpt_path={ckpt}", *PREDICT])
    assert not (tmp_path / "submissions").exists()


def test_predict_takes_the_architecture_from_the_checkpoint_and_the_python_api_refuses_a_mismatch(
    leaves_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    classes = ["acer", "betula", "carpinus"]
    ckpt = save_model(tmp_path / "r10.ckpt", arch="resnet10t", class_names=classes)
    monkeypatch.chdir(tmp_path)
    # The config says resnet18; LightningCLI reads the model's settings from the checkpoint.
    cli = run_lightning("predict", DEFAULT, [f"--data.data_dir={leaves_dir}", f"--ckpt_path={ckpt}", *PREDICT])
    assert cli.model.hparams.arch == "resnet10t" and (tmp_path / "submissions" / "submission.csv").is_file()
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    resnet18 = LeavesModule(arch="resnet18", class_names=classes, pretrained=False, frozen_stages=0)
    with pytest.raises(
        ValueError, match=r"r10\.ckpt holds a model with arch='resnet10t' but --model\.arch is 'resnet18'"
    ):
        trainer.predict(resnet18, datamodule(leaves_dir), ckpt_path=ckpt)


def test_a_config_key_that_does_not_exist_is_rejected(capsys) -> None:
    with pytest.raises(SystemExit):
        run_lightning("fit", DEFAULT, ["--data.image_sise=32"])
    assert "image_sise" in capsys.readouterr().err
