"""The nine domain centers; each one has the same shape (see DESIGN.md §1)."""
