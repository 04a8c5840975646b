"""BatchStream: minibatches, epochs as permutations, exact resumption."""

from __future__ import annotations

import pytest
import torch

from benchmark.data import BatchStream


def _ids(n: int) -> torch.Tensor:
    # uint8 "images" whose single pixel is their own index, so batches reveal which rows were drawn.
    return torch.arange(n, dtype=torch.uint8).reshape(n, 1, 1, 1)


def _rows(batch: torch.Tensor) -> list[int]:
    return (batch.flatten() * 255).round().long().tolist()


def test_batch_shape_dtype_range() -> None:
    x = torch.randint(0, 256, (20, 3, 4, 4), dtype=torch.uint8)
    stream = BatchStream(x, batch_size=6, seed=0)
    batch = stream.next()
    assert batch.shape == (6, 3, 4, 4)
    assert batch.dtype == torch.float32
    assert batch.device == x.device
    assert batch.min() >= 0.0 and batch.max() <= 1.0
    assert stream.steps == 1


def test_float_points_pass_through() -> None:
    x = torch.randn(10, 2)
    batch = next(iter(BatchStream(x, batch_size=10, seed=0)))
    assert sorted(batch[:, 0].tolist()) == sorted(x[:, 0].tolist())


def test_each_epoch_is_a_permutation() -> None:
    n, bs = 12, 4
    stream = BatchStream(_ids(n), batch_size=bs, seed=3)
    epochs = []
    for _ in range(3):
        seen = [i for _ in range(n // bs) for i in _rows(stream.next())]
        assert sorted(seen) == list(range(n))
        epochs.append(seen)
    assert stream.epoch == 3
    assert stream.steps == 9
    assert epochs[0] != epochs[1]  # reshuffled each epoch


def test_last_incomplete_batch_dropped() -> None:
    stream = BatchStream(_ids(10), batch_size=4, seed=0)
    first = _rows(stream.next()) + _rows(stream.next())
    assert len(set(first)) == 8
    assert stream.epoch == 1  # the two left-over rows are skipped
    third = _rows(stream.next())
    assert len(third) == 4


def test_seed_determines_stream() -> None:
    a = BatchStream(_ids(50), batch_size=5, seed=7)
    b = BatchStream(_ids(50), batch_size=5, seed=7)
    c = BatchStream(_ids(50), batch_size=5, seed=8)
    seq_a = [_rows(a.next()) for _ in range(12)]
    assert seq_a == [_rows(b.next()) for _ in range(12)]
    assert seq_a != [_rows(c.next()) for _ in range(12)]


@pytest.mark.parametrize("warmup", [0, 1, 3, 7])
def test_resume_is_bit_identical(warmup: int) -> None:
    x = torch.randint(0, 256, (11, 1, 2, 2), dtype=torch.uint8)
    stream = BatchStream(x, batch_size=3, seed=5)
    for _ in range(warmup):
        stream.next()
    state = stream.state_dict()
    expected = [stream.next() for _ in range(10)]

    resumed = BatchStream(x, batch_size=3, seed=123)  # seed is restored from the state
    resumed.load_state_dict(state)
    assert (resumed.epoch, resumed.steps) == (state["epoch"], state["steps"])
    for want in expected:
        assert torch.equal(resumed.next(), want)
    assert (resumed.epoch, resumed.steps) == (stream.epoch, stream.steps)


def test_state_dict_survives_torch_save(tmp_path) -> None:
    x = _ids(9)
    stream = BatchStream(x, batch_size=2, seed=1)
    stream.next()
    torch.save(stream.state_dict(), tmp_path / "s.pt")
    expected = [stream.next() for _ in range(6)]
    resumed = BatchStream(x, batch_size=2, seed=1)
    resumed.load_state_dict(torch.load(tmp_path / "s.pt"))
    assert all(torch.equal(resumed.next(), want) for want in expected)


def test_state_mismatch_rejected() -> None:
    state = BatchStream(_ids(9), batch_size=2, seed=1).state_dict()
    with pytest.raises(ValueError, match="batch_size"):
        BatchStream(_ids(9), batch_size=3, seed=1).load_state_dict(state)


@pytest.mark.parametrize("bs", [0, -1, 11])
def test_bad_batch_size(bs: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        BatchStream(_ids(10), batch_size=bs, seed=0)
