"""Writing pages: render, the incremental record, answers, variant pages, downloads, the generated
reference and Performance pages, and the Jinja templates.
"""
