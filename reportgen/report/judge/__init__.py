"""Judging: the tests, families of comparisons and their one verdict record, claims, their dates and words.

Nothing here draws a figure or writes a page; analyses and pages read what it decides.
"""
