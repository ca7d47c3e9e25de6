"""marshmallow schemas: file formats and API bodies <-> core dataclasses."""
from .files import ContentError, FileError, dump_document, load_document

__all__ = ["ContentError", "FileError", "dump_document", "load_document"]
