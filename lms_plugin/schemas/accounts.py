"""The organisers' accounts in the JSON API (GET /api/v1/accounts)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..services.accounts import ROLES


class AccountSchema(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    display_name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    province = fields.String(required=True)
    commune = fields.String(required=True)
    contact = fields.String(required=True)
    email = fields.String(required=True)
    active = fields.Boolean(required=True, metadata={"description": "False: deactivated (cannot sign in)."})
    must_change_password = fields.Boolean(required=True)
    merged_into_id = fields.Integer(allow_none=True, required=True,
                                    metadata={"description": "The account this one was merged into."})


class AccountPageSchema(Schema):
    accounts = fields.List(fields.Nested(AccountSchema), required=True,
                           metadata={"description": "In username order."})
    next_cursor = fields.String(allow_none=True, required=True,
                                metadata={"description": "Send it as `cursor` for the next page; null on the last."})
