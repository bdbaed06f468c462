from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from webapp.form_base import Form


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(_l("Enter your username.")), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(_l("This field is required."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("This field is required."))])
    confirm_password = PasswordField(
        _l("Repeat the new password"), validators=[DataRequired(_l("This field is required."))]
    )


class ProfileForm(Form):
    email = StringField(
        _l("E-mail address"),
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Not a valid e-mail address.")),
            Length(max=255),
        ],
    )
    notify_by_email = BooleanField(_l("Send me notifications by e-mail"))

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        valid = super().validate(extra_validators)
        # Notices by e-mail need an address to go to: ticking the box without one would save a promise never kept.
        # (Not a validate_email: the field's Optional() ends its checks when it is empty.)
        if self.notify_by_email.data and not (self.email.data or "").strip():
            self.email.errors = [
                *self.email.errors,
                _l("Enter an e-mail address to receive notifications by e-mail, or untick the box."),
            ]
            return False
        return valid


class TokenForm(Form):
    name = StringField(_l("Token name (which software uses it)"), validators=[Length(max=120)])
