"""The ready-made models of skqm7x.recipes."""

import pytest

import skqm7x


def test_reference_refuses_a_memory(tmp_path):
    with pytest.raises(ValueError, match=r"make_model\('reference'\) has nothing"):
        skqm7x.make_model("reference", memory=tmp_path)
    assert skqm7x.make_model("reference", memory=None) is not None
