"""The HTML pages. Everything the visitor typed is escaped before it goes back into a page."""

from __future__ import annotations

from html import escape

from forms import ContactForm

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input, textarea { width: 100%; padding: .4rem; font: inherit; box-sizing: border-box; }
.error { color: #b00020; margin: .2rem 0 0; }
.notice { background: #fff4e5; padding: .6rem; border-left: 4px solid #f0a020; }
button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; }
"""


#: The statuses of a message still on its way: the thank-you page reloads itself to poll again.
ON_ITS_WAY = ("scheduled", "ready", "running", "retrying")
#: What the visitor reads for each status of the email job.
SAYS = {
    "scheduled": "Your message is waiting to be sent.",
    "ready": "Your message is on its way.",
    "running": "Your message is being sent.",
    "retrying": "The mail server is busy; we will try again shortly. Your message is safe.",
    "succeeded": "Your message was sent; we will answer you by email.",
}


def layout(title: str, body: str, refresh: int | None = None) -> str:
    again = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">{again}'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def form_page(
    form: ContactForm, errors: dict[str, str] | None = None, notice: str | None = None
) -> str:
    """The contact form, filled with ``form``, showing ``errors`` per field and a ``notice``."""
    errors = errors or {}

    def error(field: str) -> str:
        if field not in errors:
            return ""
        return f'<p class="error" id="{field}-error">{escape(errors[field])}</p>'

    def invalid(field: str) -> str:
        return f' aria-invalid="true" aria-describedby="{field}-error"' if field in errors else ""

    top = f'<p class="notice" role="alert">{escape(notice)}</p>' if notice else ""
    return layout(
        "Contact us",
        f"""{top}
<form method="post" action="/" novalidate>
  <label for="name">Your name</label>
  <input id="name" name="name" value="{escape(form.name)}" autocomplete="name"{invalid("name")}>
  {error("name")}
  <label for="email">Your email</label>
  <input id="email" name="email" type="email" value="{escape(form.email)}"
         autocomplete="email"{invalid("email")}>
  {error("email")}
  <label for="message">Message</label>
  <textarea id="message" name="message" rows="8"{invalid("message")}
  >{escape(form.message)}</textarea>
  {error("message")}
  <button type="submit">Send</button>
</form>""",
    )


def thanks_page(status: str | None = None) -> str:
    """The thank-you page, saying where the email job is. While it is on its way the page
    reloads every 2 seconds: a poll of ``jobframe.job_status`` with no JavaScript."""
    said = SAYS.get(status or "", "Your message is on its way; we will answer you by email.")
    if status in ("failed", "dead", "discarded", "cancelled"):
        said = "We could not send your message; we have been told and will look into it."
    return layout(
        "Thank you",
        f'<p id="status" data-status="{escape(status or "")}">{escape(said)}</p>'
        '<p><a href="/">Send another message</a></p>',
        refresh=2 if status in ON_ITS_WAY else None,
    )
