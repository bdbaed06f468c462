from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.wrappers import Response

from webapp.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, TokenForm
from webapp.errors import csrf_refused
from webapp.extensions import db
from webapp.http import from_this_site, problem_text, wants_json
from webapp.query_args import id_arg, safe_next
from workflows.db import transaction
from workflows.errors import Invalid, NotFound
from workflows.registry.authentication import TooManyAttempts, authenticate, change_password
from workflows.registry.tokens import create_token, revoke_token, tokens_of
from workflows.rules.passwords import MIN_PASSWORD_LENGTH

bp = Blueprint("auth", __name__, url_prefix="/auth")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            with transaction(db.session):  # committed either way: failed attempts count towards throttling
                user = authenticate(db.session, form.username.data or "", form.password.data or "", request.remote_addr)
        except TooManyAttempts:
            form.password.errors = [_("Too many failed attempts. Please wait 15 minutes and try again.")]
            status = 429
        else:
            if user is None:
                form.password.errors = [_("Wrong username or password.")]
                return render_template("auth/login.html", form=form), 401
            locale = session.get("locale")
            session.clear()  # a fresh session on sign-in: no fixation
            if locale:
                session["locale"] = locale
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError):  # type: ignore[no-untyped-def]
    """A sign-in refused for its CSRF token (the page was open longer than its session, or the person signed in
    from another tab meanwhile): the sign-in form again, 400, with the username posted from this site kept and the
    password to type again; nothing is counted or stored. Anyone signed in meanwhile goes where the sign-in page
    would send them; any other refused form of this blueprint gets the plain error page."""
    if request.endpoint != "auth.login" or wants_json():
        return csrf_refused()
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm() if from_this_site() else LoginForm(formdata=None)  # another site's username is not filled in
    form.password.errors = [_("The sign-in form had expired, so you were not signed in. Enter your password again.")]
    return render_template("auth/login.html", form=form), 400


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                change_password(
                    db.session,
                    current_user,
                    form.current_password.data or "",
                    form.new_password.data or "",
                    form.confirm_password.data or "",
                )
        except Invalid as error:
            for problem in error.problems:  # a field may have several ("too short" and "holds your username")
                field = getattr(form, problem.field or "new_password")
                field.errors = [*field.errors, problem_text(problem)]
            return render_template("auth/password.html", form=form, min_length=MIN_PASSWORD_LENGTH), 422
        login_user(current_user._get_current_object())  # keep this session; others end with the old password
        flash(_("Your password has been changed."), "success")
        return redirect(url_for("inbox.index"))
    # A refused form (a field left empty, an expired form) is shown again with its errors, as 422 like the others.
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, min_length=MIN_PASSWORD_LENGTH), status


@bp.post("/language")
def language() -> Response:
    chosen = request.form.get("locale", "")
    if chosen in current_app.config["LANGUAGES"]:
        session["locale"] = chosen
        if current_user.is_authenticated:
            with transaction(db.session):
                current_user.locale = chosen
    return redirect(safe_next(request.form.get("next")))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> str | Response | tuple[str, int]:
    """E-mail address, notification opt-out, and API tokens for other software."""
    form = ProfileForm(obj=current_user)
    new_token = None
    status = 200
    if request.method == "POST" and request.form.get("action") == "create_token":
        token_form = TokenForm()
        if token_form.validate_on_submit():
            with transaction(db.session):
                new_token = create_token(db.session, current_user, token_form.name.data or "")
        else:
            status = 422
            flash(_token_refusal(token_form), "error")
    elif request.method == "POST" and request.form.get("action") == "revoke_token":
        if TokenForm().validate_on_submit():
            token_id = id_arg(request.form, "token_id")
            try:
                if token_id is None:
                    raise NotFound("token not found")  # not an id: no token has it
                with transaction(db.session):
                    revoke_token(db.session, current_user, token_id)
            except NotFound:
                abort(404)
            flash(_("The token was revoked."), "success")
            return redirect(url_for("auth.profile"))
        status = 422
        flash(_("The form has expired; please try again."), "error")
    elif form.validate_on_submit():
        with transaction(db.session):
            current_user.email = (form.email.data or "").strip() or None
            current_user.notify_by_email = bool(form.notify_by_email.data)
        flash(_("Saved."), "success")
        return redirect(url_for("auth.profile"))
    elif request.method == "POST":
        return render_template(
            "auth/profile.html", form=form, token_form=TokenForm(), tokens=tokens_of(db.session, current_user)
        ), 422
    return render_template(
        "auth/profile.html",
        form=form,
        token_form=TokenForm(),
        tokens=tokens_of(db.session, current_user),
        new_token=new_token,
    ), status


def _token_refusal(token_form: TokenForm) -> str:
    """Why a new token was refused (the page shows no errors beside the token's field)."""
    if token_form.name.errors:
        return _("A token name has at most 120 characters.")
    return _("The form has expired; please try again.")
