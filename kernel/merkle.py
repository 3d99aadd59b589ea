"""Merkle trees over a service's log, as RFC 9162 (Certificate Transparency v2) defines them,
so a checkpoint can be checked by any CT-compatible tool, not only by this code.

- leaf hash  = SHA-256(0x00 || leaf input); here the leaf input is an event's 32-byte chain hash
- node hash  = SHA-256(0x01 || left || right)
- MTH(D[n])  = the root over n leaves, splitting at the largest power of two below n
- inclusion proof (§2.1.3) and consistency proof (§2.1.4), with the RFC's verification
  algorithms. The test suite checks these against the RFC 6962 reference vectors.

Why not a library: the PyPI Merkle-tree packages either build other tree shapes (no
domain-separated leaves, duplicated odd nodes) or other proof formats, which is exactly
what a cross-agency checkpoint must not do. The RFC's algorithms are short; the vectors
make sure they are the RFC's.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes. Iterative (no recursion depth limit): the RFC's tree equals
    pairing left to right level by level and carrying an odd last node up unchanged."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, for the leaf at 0-based ``index``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of {n} leaves")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return inclusion_proof(index, leaves[:k]) + [root(leaves[k:])]
    return inclusion_proof(index - k, leaves[k:]) + [root(leaves[:k])]


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def consistency_proof(first_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the tree of the first ``first_size`` leaves is a
    prefix of the tree of all ``leaves``."""
    n = len(leaves)
    if not 0 < first_size <= n:
        raise ValueError(f"cannot prove size {first_size} against a tree of {n} leaves")
    return _subproof(first_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [root(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], whole) + [root(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [root(leaves[:k])]


def verify_consistency(first_size: int, second_size: int, proof: Sequence[bytes], first_root: bytes,
                       second_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first_size <= 0 or first_size > second_size:
        return False
    if first_size == second_size:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first_size & (first_size - 1) == 0:        # a power of two: the first root is a node on the path
        path.insert(0, first_root)
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class MerkleTree:
    """A tree built once over all leaves, answering roots, inclusion and consistency proofs
    for any tree size up to the number of leaves in O(log² n) hashes each — what an audit of
    a million-event log with many checkpoints needs. Same results as the functions above."""

    def __init__(self, leaves: Sequence[bytes]):
        self.size = len(leaves)
        self.levels = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        self._memo: dict[tuple[int, int], bytes] = {}

    def _range_root(self, start: int, end: int) -> bytes:
        """MTH of leaves[start:end]; ranges come from the RFC's splits, so a left part is
        always aligned to its power-of-two width and is a stored node."""
        width = end - start
        if width == 1:
            return self.levels[0][start]
        if width & (width - 1) == 0 and start % width == 0:
            return self.levels[width.bit_length() - 1][start // width]
        key = (start, end)
        if key not in self._memo:
            k = _split(width)
            self._memo[key] = node_hash(self._range_root(start, start + k), self._range_root(start + k, end))
        return self._memo[key]

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside 0..{self.size}")
        return EMPTY_ROOT if size == 0 else self._range_root(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
        return self._path(index, 0, size)

    def _path(self, index: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = _split(end - start)
        if index < start + k:
            return self._path(index, start, start + k) + [self._range_root(start + k, end)]
        return self._path(index, start + k, end) + [self._range_root(start, start + k)]

    def consistency_proof(self, first_size: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if not 0 < first_size <= size <= self.size:
            raise ValueError(f"cannot prove size {first_size} against a tree of {size} leaves")
        return self._subproof(first_size, 0, size, True)

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        if m == end - start:
            return [] if whole else [self._range_root(start, end)]
        k = _split(end - start)
        if m <= k:
            return self._subproof(m, start, start + k, whole) + [self._range_root(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self._range_root(start, start + k)]


class CompactRange:
    """The right edge of a growing tree: one root per perfect subtree (at most log₂ n of
    them), so appending k leaves and taking the root costs O(k + log n), not O(n). The
    sealer keeps one per log and seals after every relayed batch without re-reading the log."""

    def __init__(self):
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []      # (width, subtree root), widest first

    def extend(self, leaves) -> None:
        for leaf in leaves:
            width, node = 1, leaf
            while self._peaks and self._peaks[-1][0] == width:
                left_width, left = self._peaks.pop()
                width, node = left_width + width, node_hash(left, node)
            self._peaks.append((width, node))
            self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves so far: the RFC's split at the largest power of two makes the
        widest peak the left subtree, so the root is the peaks folded from the right."""
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            node = node_hash(left, node)
        return node
