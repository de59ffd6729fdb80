"""Plain-text tables: columns as wide on screen as their widest cell."""

from wengert.autodiff.render import text_table


def test_columns_are_padded_by_screen_width_and_lines_have_no_trailing_spaces():
    rows = [["name", "v"], ["z\u0304", "1"], ["ab", "22"]]  # z̄ takes one column on screen
    assert text_table(rows) == ["name  v", "z\u0304     1", "ab    22"]
