"""Normalize: bytes to one clean simplified-Chinese text per document (encodings, mojibake, script,
page wrappers, web pages), every repair recorded."""
