"""The data dictionary is generated from the schema and covers every column."""

from __future__ import annotations

from leukoct.dictionary import data_dictionary, data_dictionary_markdown
from leukoct.schema import COLUMNS, REQUIRED_COLUMNS


def test_every_column_is_documented() -> None:
    table = data_dictionary()
    assert table["column"].tolist() == list(COLUMNS)
    assert (table["description"].str.len() > 10).all()


def test_requirements_and_ranges_follow_the_schema() -> None:
    table = data_dictionary().set_index("column")
    assert set(table.index[table["requirement"] == "required"]) == set(REQUIRED_COLUMNS)
    assert table.loc["age", "range"] == "18–110"
    assert table.loc["mrs_3m", "range"] == "0–6"
    assert table.loc["flair_path", "requirement"].startswith("required in")
    assert table.loc["cohort", "type"].startswith("one of train")


def test_markdown_page_has_one_table_row_per_column() -> None:
    page = data_dictionary_markdown()
    assert page.startswith("# Data dictionary")
    assert sum(line.startswith("| `") for line in page.splitlines()) == len(COLUMNS)


def test_the_page_lists_every_image_check_with_its_threshold() -> None:
    from leukoct import image_validation as iv

    page = data_dictionary_markdown()
    assert "## Image checks" in page
    for name, _ in iv.image_checks():
        assert f"| {name} |" in page
    for value in (f"{iv.SAME_HEAD_RATIO}x", f"{iv.GRID_TOLERANCE_MM} mm", f"{iv.AIR_HU:g} HU"):
        assert value in page, value
