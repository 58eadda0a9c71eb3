from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from .. import refusals
from ..extensions import csrf, limiter
from ..forms import EmptyForm
from ..refusals import bad_input, conflict
from ..security import public, security_event
from ..urls import safe_next
from . import bp, invites, services
from .forms import FirstPasswordForm, LoginForm, PasswordChangeForm, SignupForm

REFUSALS: refusals.Table = {
    "login_format": bad_input(_l("Enter a mainland mobile number (11 digits) or an e-mail address."),
                              field="login"),
    "password_short": bad_input(_l("Use at least %(n)d characters.", n=services.MIN_PASSWORD_LENGTH),
                                field="password"),
    "password_long": bad_input(_l("That password is too long."), field="password"),
    "wrong_password": bad_input(_l("The current password is not right."), field="current"),
    "taken": conflict(_l("An account with this login already exists. Sign in instead."), field="login"),
    "invite_invalid": conflict(_l("This sign-in link has been used or has expired.")),
}
SESSION_INVITE = "invite_token"


def _login_key() -> str:
    return "login:" + request.form.get("login", "").strip().lower()[:254]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/signup", methods=["GET", "POST"])
@public
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("registry.dashboard"))
    form = SignupForm()
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            user = services.create_user(form.login.data, form.password.data, form.display_name.data)
        except services.AccountError as err:
            status = refusals.refuse(err, form, REFUSALS, "signup_refused")
        else:
            _start_session(user, remember=False)
            security_event("signup", user_id=user.id)
            flash(_("Welcome. Now register your shop."), "success")
            return redirect(url_for("registry.new_shop"))
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_login_key, deduct_when=_failed)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is None:
            security_event("login_failed")
            form.form_errors.append(_("Login name or password is not right."))
        else:
            _start_session(user, remember=bool(form.remember.data) and not user.is_officer)
            security_event("login", user_id=user.id, role=user.role)
            return redirect(safe_next(request.args.get("next")) or home_url(user))
    status = 200 if request.method == "GET" else 400
    return render_template("auth/login.html", form=form), status


def home_url(user) -> str:
    """Where a user lands after signing in: staff on the review queue, a station officer on
    its complaint queue, a merchant on their shops."""
    if user.is_staff:
        return url_for("staff.queue")
    if user.is_station:
        return url_for("staff_complaints.queue")
    return url_for("registry.dashboard")


def _start_session(user, remember: bool) -> None:
    """A fresh session for every login."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user, remember=remember)
    now = datetime.now(UTC).timestamp()
    session["login_at"] = now
    session["seen_at"] = now


@bp.route("/logout", methods=["POST"])
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        security_event("logout")
        services.end_sessions(current_user)
        logout_user()
        session.clear()
        flash(_("You are signed out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    # The user object itself: login_user() given the current_user proxy would make the
    # proxy point at itself (endless recursion on the next use of current_user).
    user = current_user._get_current_object()
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current.data, form.password.data)
        except services.AccountError as err:
            status = refusals.refuse(err, form, REFUSALS, "password_change_refused")
        else:
            security_event("password_changed")
            _start_session(user, remember=False)
            flash(_("Your password is changed. Other devices are signed out."), "success")
            return redirect(home_url(user))
    return render_template("auth/password.html", form=form), status


@bp.route("/welcome", methods=["GET", "POST"])
@public
def welcome():
    """A shop owner's sign-in link: the first visit moves the token from the URL into the
    session (out of the address bar, the history and any Referer); the owner then sets a
    password, which spends the link, and is signed in."""
    if "token" in request.args:
        session[SESSION_INVITE] = request.args.get("token", "")[:invites.MAX_TOKEN_LENGTH]
        return redirect(url_for("auth.welcome"))
    if request.method == "POST":
        csrf.protect()  # before the link is looked at: a forged POST learns nothing about it
    token = session.get(SESSION_INVITE, "")
    user = invites.user_from_token(token) if isinstance(token, str) else None
    if user is None:
        session.pop(SESSION_INVITE, None)
        if request.method == "POST":
            security_event("invite_refused")
        return render_template("auth/welcome_invalid.html"), 410
    form = FirstPasswordForm()
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            user = invites.set_first_password(token, form.password.data)
        except services.AccountError as err:
            status = refusals.refuse(err, form, REFUSALS, "invite_refused")
        else:
            session.pop(SESSION_INVITE, None)
            _start_session(user, remember=False)
            security_event("invite_used", user_id=user.id)
            flash(_("Your password is set. Welcome."), "success")
            return redirect(home_url(user))
    return render_template("auth/welcome.html", form=form, user=user), status
