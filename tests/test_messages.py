"""Subject lists in messages."""

from leukoct.messages import id_list


def test_id_list_names_the_first_and_counts_the_rest():
    ids = [f"S{i:02d}" for i in range(12)]
    assert id_list(ids) == "S00, S01, S02, S03, S04, S05, S06, S07, S08, S09 and 2 more"
    assert id_list(ids[:3], limit=3) == "S00, S01, S02"
    assert id_list([1, 2], limit=1) == "1 and 1 more"
    assert id_list([]) == ""
