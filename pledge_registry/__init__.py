"""pledge_registry: merchants' pledges, QR badges, complaints and ratings for a city bureau."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from . import config as config_module
from .extensions import check_limits_count_writes_only

# Templates, static files and migrations sit at the top of the checkout, beside the package.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: config → extensions → blueprints → error handlers → CLI."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PROJECT_ROOT, "static"),
    )
    app.config.update(config_module.load(app.instance_path, test_config))
    _require_secret_key(app)
    _refuse_unsafe_production(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_globals(app)
    check_limits_count_writes_only()
    register_error_handlers(app)
    register_commands(app)
    return app


def _refuse_unsafe_production(app: Flask) -> None:
    if app.config["APP_ENV"] != "production":
        return
    if app.config["OUTBOX_BACKEND"] == "log":
        raise RuntimeError(
            "OUTBOX_BACKEND=log only writes messages to the log (development); set "
            "OUTBOX_BACKEND=composite with SMS_WEBHOOK_URL and SMTP_HOST in production."
        )
    if app.config["DEV_MESSAGES_PAGE"]:
        raise RuntimeError(
            "DEV_MESSAGES_PAGE shows staff every message with its links (development only); "
            "unset it in production."
        )


def _require_secret_key(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    key_file = os.path.join(app.instance_path, "secret_key")
    if app.config["APP_ENV"] == "production" or not os.path.exists(key_file):
        raise RuntimeError(
            "SECRET_KEY is not set. In production set the SECRET_KEY environment variable;"
            " in development run scripts/setup, which writes instance/secret_key."
        )
    with open(key_file, encoding="ascii") as fh:
        app.config["SECRET_KEY"] = fh.read().strip()


def register_extensions(app: Flask) -> None:
    from . import display, i18n, security, urls
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .sqlite_tuning import configure_sqlite

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    urls.init_app(app)  # before the blueprints add their routes
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(PROJECT_ROOT, "migrations"))
    login_manager.init_app(app)
    # The login check (deny by default) runs before the CSRF check. The role checks are
    # decorators inside each view, so errors.csrf_failure, which re-runs the view to keep
    # the user's input, still passes through them: a refused token never shows a page the
    # user may not open.
    security.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            configure_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"])
    i18n.init_app(app)
    display.init_app(app)
    register_session_listeners(app)


def register_session_listeners(app: Flask) -> None:
    """Every listener on the database session and the models, in one place (none is registered
    at import); the engine's own (SQLite pragmas, BEGIN IMMEDIATE) are in sqlite_tuning.configure_sqlite."""
    from . import public_page
    from .analysis import tally
    from .complaints import deadlines
    from .models import pledges
    from .ratings import hooks as rating_hooks
    from .search import index as search_index

    pledges.listen()               # a signed pledge's terms never change in place
    public_page.init_app(app)      # the scan page's version follows what it shows
    rating_hooks.init_app(app)     # merchants noted by a change are re-rated at commit
    deadlines.init_app(app)        # cached settings and holidays dropped when they change
    search_index.init_app(app)     # the directory's search index follows the merchant row
    tally.init_app(app)            # the complaint tallies follow every complaint change


def register_blueprints(app: Flask) -> None:
    from .analysis import alerts_bp
    from .analysis.views import bp as analysis_bp
    from .auth import bp as auth_bp
    from .badges import bp as badges_bp
    from .complaints import merchant_bp as merchant_complaints_bp
    from .complaints import shopper_bp as complaints_bp
    from .complaints import staff_bp as staff_complaints_bp
    from .compliance import bp as compliance_bp
    from .nominations import bp as nominations_bp
    from .partners.views import bp as partners_bp
    from .pledges import bp as pledges_bp
    from .public import bp as public_bp
    from .publication import bp as publication_bp
    from .ratings import bp as ratings_bp
    from .registry import bp as registry_bp
    from .reports import bp as reports_bp
    from .scan_reports import bp as scan_reports_bp
    from .staff import bp as staff_bp
    from .stations import bp as stations_bp

    for bp in (public_bp, auth_bp, registry_bp, pledges_bp, badges_bp, staff_bp,
               complaints_bp, merchant_complaints_bp, staff_complaints_bp,
               ratings_bp, compliance_bp, nominations_bp, reports_bp,
               publication_bp, stations_bp, scan_reports_bp, alerts_bp,
               partners_bp, analysis_bp):
        app.register_blueprint(bp)
    from . import api
    from .api.views import docs_bp

    api.init_app(app)  # the API's blueprints, registered through flask-smorest (the document)
    app.register_blueprint(docs_bp)
    register_development_pages(app)


def register_development_pages(app: Flask) -> None:
    """Pages for development only, absent (404) unless their configuration allows them."""
    from .outbox import dev_page

    if dev_page.enabled(app.config):
        from .outbox.dev import bp as dev_messages_bp

        app.register_blueprint(dev_messages_bp)
    app.jinja_env.globals["dev_messages_page"] = dev_page.enabled(app.config)


def register_template_globals(app: Flask) -> None:
    from . import labels, static_files

    labels.register(app)
    static_files.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from .errors import register

    register(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
