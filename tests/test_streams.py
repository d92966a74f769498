"""Random streams (sim.streams): named substreams per block, one stream per input; the same numbers whatever the
chunking, the columns kept or the other streams drawn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.streams import BLOCK_SIZE, BlockStreams, check_unique, replica_ids, stream_key

shapes = st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=3).map(tuple)


def test_blocks_are_chunking_invariant():
    together = BlockStreams(5, [0, 1, 2])
    apart = [BlockStreams(5, [b]) for b in (0, 1, 2)]
    for shape in ((3,), (2, 2, 3), ()):
        assert np.array_equal(together.substream("escalation").uniform(*shape),
                              np.concatenate([s.substream("escalation").uniform(*shape) for s in apart], axis=-1))


def test_substream_b_is_seeded_by_block_and_name():
    """Block b's numbers of substream n come from SeedSequence(seed, spawn_key=(b, crc32(n))), replica-major."""
    seq = np.random.SeedSequence(9, spawn_key=(2, stream_key("deal")))
    expected = np.random.Generator(np.random.PCG64(seq)).random((BLOCK_SIZE, 4))
    assert np.array_equal(BlockStreams(9, [2]).substream("deal").uniform(4), expected.T)


def test_substreams_do_not_depend_on_each_other():
    """Drawing from one substream (or not) leaves every other one's numbers unchanged."""
    a, b = BlockStreams(3, [0, 1]), BlockStreams(3, [0, 1])
    a.substream("exchange/us:x-iran:y").uniform(7)
    a.substream("bargaining/iran_nuclear").uniform(6, 6)
    assert np.array_equal(a.substream("deal").uniform(2), b.substream("deal").uniform(2))
    assert not np.array_equal(BlockStreams(3, [0]).substream("deal").uniform(2),
                              BlockStreams(3, [0]).substream("spoilers/israel").uniform(2))


def test_input_uniforms_are_per_input_and_per_replica():
    """Input p's uniform for replica r is the r-th number of p's own stream, whatever the other inputs or blocks."""
    paths = ["actors.us.capability", "mechanics.deal.ratify"]
    both = BlockStreams(4, [0, 1, 2]).input_uniforms(paths)
    alone = BlockStreams(4, [1]).input_uniforms(paths[1:])
    assert np.array_equal(both[1, BLOCK_SIZE:2 * BLOCK_SIZE], alone[0])
    seq = np.random.SeedSequence(4, spawn_key=(stream_key(paths[0]),))
    assert np.array_equal(both[0], np.random.Generator(np.random.PCG64(seq)).random(3 * BLOCK_SIZE))
    one = BlockStreams(4, [2], columns=np.array([5])).input_uniforms(paths)
    assert np.array_equal(one[:, 0], both[:, 2 * BLOCK_SIZE + 5])


@given(seed=st.integers(0, 2**32 - 1), shapes=st.lists(shapes, min_size=1, max_size=4),
       cols=st.sets(st.integers(0, 3 * BLOCK_SIZE - 1), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_kept_columns_see_the_numbers_of_the_whole_draw(seed, shapes, cols):
    """A per-replica model (columns kept, others skipped with PCG64.advance) reads exactly its numbers."""
    cols = np.array(sorted(cols))
    full, some = BlockStreams(seed, [0, 1, 2]), BlockStreams(seed, [0, 1, 2], columns=cols)
    for shape in shapes:
        a, b = full.substream("s").uniform(*shape), some.substream("s").uniform(*shape)
        assert b.shape == (*shape, len(cols))
        assert np.array_equal(a[..., cols], b)


def test_kept_columns_of_a_later_block():
    full = BlockStreams(1, [3]).substream("x").uniform(2)
    assert np.array_equal(BlockStreams(1, [3], columns=np.array([7])).substream("x").uniform(2)[:, 0], full[:, 7])


def test_columns_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        BlockStreams(1, [0], columns=np.array([5, 2]))


def test_stream_key_collisions_are_refused():
    check_unique(["a", "b", "a"])
    with pytest.raises(ValueError, match="same key"):
        check_unique(["plumless", "buckeroo"])          # a known CRC-32 collision


def test_replica_ids_follow_the_blocks():
    assert np.array_equal(replica_ids([2, 0]), np.r_[np.arange(512, 768), np.arange(0, 256)])
