"""t2t-datagen with a full disk and with damaged existing shards."""

import errno
import os

import pytest

from t2t.data import tfrecord
from t2t.errors import DataError, OutputError
from t2t.problems import generator_utils as gu


def test_disk_full_while_generating_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    paths = [str(tmp_path / f"p-train-0000{i}-of-00002") for i in range(2)]
    real_write = tfrecord.TFRecordWriter.write
    written = []

    def write(self, data):
        written.append(data)
        if len(written) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write(self, data)

    monkeypatch.setattr(tfrecord.TFRecordWriter, "write", write)
    with pytest.raises(OutputError) as info:
        gu.generate_files(({"targets": [i + 2]} for i in range(10)), paths)
    message = str(info.value)
    assert "No space left on device" in message and "p-train-0000" in message
    assert os.listdir(tmp_path) == []


def test_disk_full_on_the_last_flush_leaves_nothing(tmp_path, monkeypatch):
    paths = [str(tmp_path / "p-train-00000-of-00001")]
    real_close = tfrecord.TFRecordWriter.close

    def close(self):
        self._closed = True
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tfrecord.TFRecordWriter, "close", close)
    with pytest.raises(OutputError, match="No space left"):
        gu.generate_files(({"targets": [i + 2]} for i in range(3)), paths)
    monkeypatch.setattr(tfrecord.TFRecordWriter, "close", real_close)
    assert os.listdir(tmp_path) == []


def test_corrupt_existing_shard_is_reported_not_skipped(tmp_path):
    paths = [str(tmp_path / f"p-train-0000{i}-of-00002") for i in range(2)]
    gu.generate_files(({"targets": [i + 2]} for i in range(10)), paths)
    gu.generate_files(({"targets": [i + 2]} for i in range(10)), paths)  # intact: skipped
    with open(paths[1], "r+b") as f:
        f.seek(20)
        byte = f.read(1)[0]
        f.seek(20)
        f.write(bytes([byte ^ 0x10]))
    with pytest.raises(DataError, match=f"damaged.*{os.path.basename(paths[1])}.*delete"):
        gu.generate_files(({"targets": [i + 2]} for i in range(10)), paths)
