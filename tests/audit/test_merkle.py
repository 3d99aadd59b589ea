"""The Merkle tree against the RFC 6962 / Certificate Transparency reference vectors (the
same tree RFC 9162 defines), then every proof for many tree sizes, and tampering."""
import random

import pytest

from kernel import merkle

# certificate-transparency merkle_tree_test.cc: leaf inputs, roots for sizes 0..8, proofs.
LEAF_INPUTS = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                          "606162636465666768696a6b6c6d6e6f")]
ROOTS = ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
         "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
         "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
         "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
         "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
INCLUSION = [  # (1-based leaf, tree size, path)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
LEAVES = [merkle.leaf_hash(data) for data in LEAF_INPUTS]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference(size):
    assert merkle.root(LEAVES[:size]).hex() == ROOTS[size]


@pytest.mark.parametrize("leaf, size, path", INCLUSION)
def test_inclusion_proofs_match_the_reference(leaf, size, path):
    proof = merkle.inclusion_proof(leaf - 1, LEAVES[:size])
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(leaf - 1, size, LEAVES[leaf - 1], proof, root)
    assert not merkle.verify_inclusion(leaf - 1, size, LEAVES[leaf - 1], proof, bytes.fromhex(ROOTS[size - 1]))


@pytest.mark.parametrize("first, second, path", CONSISTENCY)
def test_consistency_proofs_match_the_reference(first, second, path):
    proof = merkle.consistency_proof(first, LEAVES[:second])
    assert [p.hex() for p in proof] == path
    assert merkle.verify_consistency(first, second, proof, bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second]))


def test_every_proof_in_many_tree_sizes_verifies_and_tampering_fails():
    randomness = random.Random(9162)
    leaves = [merkle.leaf_hash(randomness.randbytes(32)) for _ in range(70)]
    roots = [merkle.root(leaves[:n]) for n in range(71)]
    for size in range(1, 71):
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves[:size])
            assert merkle.verify_inclusion(index, size, leaves[index], proof, roots[size])
            assert not merkle.verify_inclusion(index, size, leaves[(index + 1) % 70], proof, roots[size]) \
                or leaves[index] == leaves[(index + 1) % 70]
        for first in range(1, size + 1):
            proof = merkle.consistency_proof(first, leaves[:size])
            assert merkle.verify_consistency(first, size, proof, roots[first], roots[size])
            if first < size:
                forged = roots[first][:-1] + bytes([roots[first][-1] ^ 1])
                assert not merkle.verify_consistency(first, size, proof, forged, roots[size])


def test_a_rewritten_history_is_inconsistent_with_an_earlier_root():
    randomness = random.Random(1)
    leaves = [merkle.leaf_hash(randomness.randbytes(32)) for _ in range(20)]
    sealed_root = merkle.root(leaves[:12])
    rewritten = list(leaves)
    rewritten[5] = merkle.leaf_hash(b"edited")
    proof = merkle.consistency_proof(12, rewritten)
    assert not merkle.verify_consistency(12, 20, proof, sealed_root, merkle.root(rewritten))


def test_the_prebuilt_tree_gives_the_same_roots_and_proofs_as_the_definitions():
    randomness = random.Random(6962)
    leaves = [merkle.leaf_hash(randomness.randbytes(8)) for _ in range(45)]
    tree = merkle.MerkleTree(leaves)
    for size in range(0, 46):
        assert tree.root(size) == merkle.root(leaves[:size])
    for size in range(1, 46):
        for index in range(size):
            assert tree.inclusion_proof(index, size) == merkle.inclusion_proof(index, leaves[:size])
        for first in range(1, size + 1):
            assert tree.consistency_proof(first, size) == merkle.consistency_proof(first, leaves[:size])
    assert merkle.MerkleTree(LEAVES).root().hex() == ROOTS[8]


def test_the_compact_range_grows_by_batches_to_the_reference_roots():
    compact = merkle.CompactRange()
    assert compact.root().hex() == ROOTS[0]
    for size, leaf in enumerate(LEAVES, start=1):
        compact.extend([leaf])
        assert (compact.size, compact.root().hex()) == (size, ROOTS[size])
    randomness = random.Random(9162)
    leaves = [merkle.leaf_hash(randomness.randbytes(8)) for _ in range(300)]
    compact, start = merkle.CompactRange(), 0
    for batch in (1, 2, 5, 64, 1, 100, 127):          # uneven batches, as the relay publishes them
        compact.extend(leaves[start:start + batch])
        start += batch
        assert compact.root() == merkle.root(leaves[:start])
