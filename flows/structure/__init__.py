"""Structure: the section tree of a normalized text and the document's metadata."""
