"""Drawing: static figures, interactive charts, model pictures, PNG optimisation.

Nothing here judges a difference or writes a page.
"""
