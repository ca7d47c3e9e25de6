from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="caselab",
    version="0.1.0",
    description="Case-based learning and assessment units for LMSs: situations, group discussion, "
                "essays scored with rubrics and similarity checks (Open edX XBlocks and a Flask app).",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="AGPL-3.0-or-later",
    python_requires=">=3.11",
    packages=find_packages(include=["lms_plugin", "lms_plugin.*"]),
    include_package_data=True,
    package_data={
        "lms_plugin": ["store/migrations/*.py", "store/migrations/*.mako", "store/migrations/versions/*.py",
                       "web/templates/**/*", "web/static/**/*", "translations/*/LC_MESSAGES/*",
                       "xblocks/static/**/*", "xblocks/templates/**/*",
                       "units/templates/**/*", "units/static/**/*"],
    },
    install_requires=[
        "flask>=3.1",
        "sqlalchemy>=2.0",
        "alembic>=1.13",
        "marshmallow>=4.0",
        "bleach>=6.2",
        "nh3>=0.2.17",
        "markdown-it-py>=3.0",
        "scikit-learn>=1.5",
        "numpy>=1.26",
        "scipy>=1.12",
        "pyyaml>=6.0",
        "click>=8.1",
        "flask-login>=0.6.3",
        "flask-wtf>=1.2",
        "flask-babel>=4.0",
        "pluggy>=1.5",             # the plugin contract (lms_plugin/hookspecs.py)
        "limits>=3.13",            # sign-in throttling counters (memory, or Redis with the redis package)
        "openpyxl>=3.1",
        "tqdm>=4.66",
        "tzdata",
        "vietnam-provinces>=2025.10.1",   # the 34 provinces and 3,321 communes after 2025 (lms_plugin/core/places.py)
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.2"],
        "celery": ["celery>=5.4", "redis>=5.0"],
        "xblock": ["XBlock>=5.0"],
        "server": ["gunicorn>=22"],
        "dev": [
            "pytest>=8", "hypothesis>=6.100", "playwright>=1.50", "xblock-sdk>=0.14",
            "openedx-django-pyfs", "lazy", "datasketch>=1.6", "psycopg[binary]>=3.2",
            "celery>=5.4", "redis>=5.0", "gunicorn>=22", "openapi-spec-validator>=0.7",
            "aiosmtpd>=1.4",
            "wheel>=0.43",          # tests pip-install docs/examples/caselab-poll offline (--no-build-isolation)
            "aiohttp>=3.9",         # bench/panel_live.py: thousands of concurrent viewers from one process
            "ruff>=0.17", "mypy>=2.4", "types-PyYAML", "types-openpyxl", "types-bleach", "types-tqdm",
        ],
    },
    entry_points={
        "console_scripts": ["caselab = lms_plugin.cli:main"],
        # every plugin, built-ins included: modules with hooks of lms_plugin/hookspecs.py
        "caselab": [
            "case = lms_plugin.units.case",
            "discussion = lms_plugin.units.discussion",
            "essay = lms_plugin.units.essay",
            "builtins = lms_plugin.services.builtin_plugins",
            "panel = lms_plugin.units.panel",
        ],
        "xblock.v1": [
            "caselab_case = lms_plugin.xblocks.case:CaseBlock",
            "caselab_discussion = lms_plugin.xblocks.discussion:DiscussionBlock",
            "caselab_essay = lms_plugin.xblocks.essay:EssayBlock",
            "caselab_unit = lms_plugin.xblocks.unit:UnitBlock",
        ],
    },
)
