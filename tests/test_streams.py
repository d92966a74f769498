"""Random streams (sim.streams): one stream per block, the same numbers whatever the chunking or the columns kept."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.streams import BLOCK_SIZE
from sim.streams import BlockStreams, replica_ids

shapes = st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=3).map(tuple)


def test_blocks_are_chunking_invariant():
    together = BlockStreams(5, [0, 1, 2])
    apart = [BlockStreams(5, [b]) for b in (0, 1, 2)]
    for shape in ((3,), (2, 2, 3), ()):
        assert np.array_equal(together.uniform(*shape),
                              np.concatenate([s.uniform(*shape) for s in apart], axis=-1))


def test_block_b_is_the_b_th_child_of_the_root_seed():
    """Block b's numbers come from SeedSequence(seed).spawn(...)[b], replica-major within a draw."""
    child = np.random.SeedSequence(9).spawn(3)[2]
    expected = np.random.Generator(np.random.PCG64(child)).random((BLOCK_SIZE, 4))
    assert np.array_equal(BlockStreams(9, [2]).uniform(4), expected.T)


@given(seed=st.integers(0, 2**32 - 1), shapes=st.lists(shapes, min_size=1, max_size=4),
       cols=st.sets(st.integers(0, 3 * BLOCK_SIZE - 1), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_kept_columns_see_the_numbers_of_the_whole_draw(seed, shapes, cols):
    """A per-replica model (columns kept, others skipped with PCG64.advance) reads exactly its numbers."""
    cols = np.array(sorted(cols))
    full, some = BlockStreams(seed, [0, 1, 2]), BlockStreams(seed, [0, 1, 2], columns=cols)
    for shape in shapes:
        a, b = full.uniform(*shape), some.uniform(*shape)
        assert b.shape == (*shape, len(cols))
        assert np.array_equal(a[..., cols], b)


def test_columns_must_increase():
    with pytest.raises(ValueError, match="increasing"):
        BlockStreams(1, [0], columns=np.array([5, 2]))


def test_replica_ids_follow_the_blocks():
    assert np.array_equal(replica_ids([2, 0]), np.r_[np.arange(512, 768), np.arange(0, 256)])
