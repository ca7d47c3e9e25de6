"""The floor bench/rush.py measures CaseLab's submission against: a bare Flask + SQLAlchemy endpoint that only
parses the JSON, hashes the body and inserts one row, served by the same gunicorn the same way.

    gunicorn -w 4 'bench.rush_bare:create()'     (RUSH_BARE_DATABASE_URL names the database)
"""
from __future__ import annotations

import hashlib
import os

from flask import Flask, jsonify, request
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, create_engine, func, insert

metadata = MetaData()
essays = Table("bare_essays", metadata,
               Column("id", Integer, primary_key=True),
               Column("cadre", String(40), nullable=False),
               Column("body", Text, nullable=False),
               Column("sha256", String(64), nullable=False),
               Column("submitted_at", DateTime(timezone=True), server_default=func.now()))


def create() -> Flask:
    engine = create_engine(os.environ["RUSH_BARE_DATABASE_URL"], pool_pre_ping=True)
    metadata.create_all(engine)
    app = Flask(__name__)

    @app.post("/essay/<cadre>")
    def submit(cadre: str):
        body = request.get_json()["body"]
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        with engine.begin() as conn:
            essay_id = conn.execute(insert(essays).values(cadre=cadre, body=body, sha256=digest)
                                    .returning(essays.c.id)).scalar_one()
        return jsonify({"id": essay_id, "sha256": digest}), 201
    return app
