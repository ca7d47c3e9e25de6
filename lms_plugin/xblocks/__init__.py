"""The Open edX blocks (``xblock.v1`` entry points): caselab_case, caselab_discussion, caselab_essay.

Thin adapters over the same services and store as the console; see docs/xblocks.md.
"""
